package engine

// Info says which engine ran a benchmark and how it was built, recorded with
// every run so a result always names its engine (and says when it was the CPU
// build the project makes).
type Info struct {
	Engine  string `json:"engine"`
	Version string `json:"version,omitempty"`
	Binary  string `json:"binary,omitempty"`
	// Path is the engine path inside the engine when there are several
	// (Ollama: "llama.cpp runner" or "ollama engine").
	Path string `json:"path,omitempty"`
	// Build describes the build when fitbench knows it (ToolsBuild).
	Build string `json:"build,omitempty"`
	// CPUOnly is true when the engine ran without a GPU.
	CPUOnly bool     `json:"cpu_only"`
	Notes   []string `json:"notes,omitempty"`
}

// ToolsBuild names the CPU Ollama that scripts/build-ollama.sh builds into
// ~/.cache/fitbench/tools/bin (the engine a fresh machine gets from `make run`).
const ToolsBuild = "fitbench's CPU build of Ollama (scripts/build-ollama.sh, no GPU support)"

// VLLMProjectorNote is said with a vLLM result of a model installed with a
// vision projector: vLLM is given one GGUF path (vllm serve FILE) and
// fitbench's adapter has no way to hand it a separate mmproj file.
const VLLMProjectorNote = "fitbench does not pass the vision projector (mmproj) to vLLM: the model was loaded text-only"

// VLLMNotRunNote is said with every vLLM result: the adapter is tested against
// vLLM's documented command line and /metrics text only.
const VLLMNotRunNote = "fitbench's vLLM adapter has not been run against a real vLLM here: its command line and /metrics parsing are tested on text from vLLM's documentation and source"

// Describer is an Instance that can say which engine it is.
type Describer interface {
	Describe() Info
}

// Describe returns what inst says about itself, or at least its engine name.
func Describe(inst Instance) Info {
	if d, ok := inst.(Describer); ok {
		inf := d.Describe()
		if inf.Engine == "" {
			inf.Engine = inst.Engine()
		}
		return inf
	}
	return Info{Engine: inst.Engine()}
}

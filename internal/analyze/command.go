package analyze

import "github.com/fitbench/fitbench/internal/estimate"

// nameCommand puts the model into the report's command lines (estimate leaves
// estimate.ModelPlaceholder there): a local file by its absolute path; a Hub
// model through llama-server's -hf (org/repo:QUANT is exactly the install id)
// and the same tag in Ollama's hf.co/ form.
func nameCommand(res *Result) {
	c := res.Command
	if c == nil {
		return
	}
	args := append([]string(nil), c.LlamaServer...)
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "-m" && args[i+1] == estimate.ModelPlaceholder {
			switch {
			case res.LocalPath != "":
				args[i+1] = res.LocalPath
			case res.Repo != "" && res.InstallID != "":
				args[i], args[i+1] = "-hf", res.InstallID
			}
		}
	}
	cc := *c
	cc.LlamaServer = args
	cc.LlamaServerLine = estimate.CommandLine("llama-server", args)
	if res.Repo != "" && res.InstallID != "" {
		// vLLM loads a GGUF from a local file: MODEL stays for the downloaded path
		cc.OllamaLine = estimate.ReplaceModel(cc.OllamaLine, "hf.co/"+res.InstallID)
	} else if res.LocalPath != "" {
		// Ollama runs a local GGUF only after `ollama create` from a Modelfile
		// (FROM path); vLLM takes the path itself
		cc.VLLMLine = estimate.ReplaceModel(cc.VLLMLine, res.LocalPath)
	}
	res.Command = &cc
}

// Package analyze answers the add-model question end to end: it turns pasted
// input into a repo (source), lists its GGUF variants and reads the chosen
// variant's header remotely (hub, gguf), and estimates every variant for the
// target hardware (estimate). It does the I/O so estimate can stay pure.
package analyze

import (
	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/hardware"
	"github.com/fitbench/fitbench/internal/hub"
)

// Request is one analysis.
type Request struct {
	Input     string // URL, org/repo[:QUANT], whole page text, or a local .gguf path
	Local     bool   // Input is a local file whatever its name (add-local)
	Quant     string // variant by quant tag (overrides a tag in Input)
	File      string // variant by file name
	Hardware  hardware.Override
	Context   int    // per sequence; 0 = min(training context, 8192)
	Parallel  int    // sequences; 0 = 1
	Engine    string // llamacpp (default), ollama, vllm
	CacheType string // f16 (default), q8_0, q4_0
}

// Result is the analysis JSON: the original design's fields (success, model_id,
// model_name, quantization, will_fit, fits_without_offload, memory,
// performance, comparison) with the selected variant's full report inlined,
// plus every variant's verdict, the recommendation and what was assumed.
type Result struct {
	Success   bool   `json:"success"`
	ModelID   string `json:"model_id"`   // the repo, as in the original design
	InstallID string `json:"install_id"` // repo:QUANT — what install takes
	ModelName string `json:"model_name"`
	Repo      string `json:"repo,omitempty"`
	Commit    string `json:"commit,omitempty"`
	LocalPath string `json:"local_path,omitempty"`

	estimate.Report

	Files          []hub.File              `json:"files"`
	SizeBytes      int64                   `json:"size_bytes"`
	SizeGB         float64                 `json:"size_gb"`
	Model          ModelFacts              `json:"model"`
	Comparison     estimate.Comparison     `json:"comparison"`
	Variants       []Variant               `json:"variants"`
	Recommendation estimate.Recommendation `json:"recommendation"`
	Hardware       Assumed                 `json:"hardware"`
	Warnings       []string                `json:"warnings,omitempty"`
}

// ModelFacts are read from the header (or hinted by the page for a heuristic).
type ModelFacts struct {
	Architecture  string  `json:"architecture,omitempty"`
	ParamCount    uint64  `json:"param_count,omitempty"`
	ParamsB       float64 `json:"params_b,omitempty"`
	ContextLength int     `json:"context_length,omitempty"` // training context
	Layers        int     `json:"layers,omitempty"`
	HeadCount     int     `json:"head_count,omitempty"`
	HeadCountKV   int     `json:"head_count_kv,omitempty"` // max over layers
	SlidingWindow int     `json:"sliding_window,omitempty"`
	ExpertCount   int     `json:"expert_count,omitempty"`
	ExpertsUsed   int     `json:"experts_used,omitempty"`
	VocabSize     int     `json:"vocab_size,omitempty"`
}

// Variant is one quantization of the repo with its own verdict.
type Variant struct {
	Quant               string     `json:"quant"`
	InstallID           string     `json:"install_id"`
	Files               []hub.File `json:"files"`
	SizeBytes           int64      `json:"size_bytes"`
	SizeGB              float64    `json:"size_gb"`
	Verdict             string     `json:"verdict"`
	WillFit             bool       `json:"will_fit"`
	FitsWithoutOffload  bool       `json:"fits_without_offload"`
	TotalGB             float64    `json:"total_gb"`
	CPUOffloadGB        float64    `json:"cpu_offload_gb"`
	GPULayers           int        `json:"gpu_layers"`
	TotalLayers         int        `json:"total_layers"`
	EstimatedThroughput float64    `json:"estimated_throughput"`
	QualityStars        int        `json:"quality_stars"`
	Selected            bool       `json:"selected,omitempty"`
	Recommended         string     `json:"recommended,omitempty"` // "full" | "offload"
	// Basis says how this variant's figures were obtained: "header" (its own
	// header was read), "scaled" (the selected variant's header with tensor
	// bytes scaled to this file's size — same shapes, other quantization), or
	// "heuristic" (page hints only).
	Basis string `json:"basis"`
}

// Assumed is the hardware the analysis was made for and how it was chosen.
type Assumed struct {
	Target   estimate.Target   `json:"target"`
	Detected hardware.Hardware `json:"detected"`
	Notes    []string          `json:"notes,omitempty"` // phrased for the command line
	// PageNotes are the same notes phrased for the web page (its fields, no flags).
	PageNotes []string `json:"page_notes,omitempty"`
	Label     string   `json:"label"` // "RTX 4080 (16 GB)", "2× RTX 3090", "CPU only"
}

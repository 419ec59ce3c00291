package source

import (
	"os"
	"path/filepath"
	"testing"
)

// pageCase is a whole pasted page (a file in testdata, or inline text) and
// the repo and hints that must be read from it.
type pageCase struct {
	name      string
	file      string // testdata/<file>, or
	text      string // inline text
	repo      string
	paramsB   float64
	arch      string
	base      string
	nQuants   int                  // exact number of quant hints, when > 0
	quants    map[string]QuantHint // must be present with these fields (zero fields not compared)
	wantErr   string
	wantKind  string
	wantQuant string
}

var pageCases = []pageCase{
	{name: "bartowski page: three-line title, tab table, model tree", file: "bartowski_olmo2_page.txt",
		repo: olmo, paramsB: 7.3, arch: "olmo2", base: "allenai/OLMo-2-1124-7B-Instruct", nQuants: 11,
		quants: map[string]QuantHint{
			"Q4_K_M": {File: "OLMo-2-1124-7B-Instruct-Q4_K_M.gguf", SizeBytes: 4_470_000_000, Bits: 4, Description: "Good quality, default size for most use cases, recommended."},
			"Q6_K_L": {File: "OLMo-2-1124-7B-Instruct-Q6_K_L.gguf", SizeBytes: 6_170_000_000, Bits: 6},
			"F16":    {File: "OLMo-2-1124-7B-Instruct-f16.gguf", SizeBytes: 14_600_000_000, Bits: 16},
			"IQ3_M":  {Bits: 3, SizeBytes: 3_440_000_000},
		}},
	{name: "unsloth MoE page: title with likes, UD quants, split by size", file: "unsloth_qwen3_moe_page.txt",
		repo: "unsloth/Qwen3-235B-A22B-Instruct-2507-GGUF", paramsB: 235, arch: "qwen3moe", base: "Qwen/Qwen3-235B-A22B-Instruct-2507", nQuants: 6,
		quants: map[string]QuantHint{
			"UD-Q4_K_XL": {SizeBytes: 134_000_000_000, Bits: 4, Split: true, Description: "5.5/4.5bit"},
			"UD-IQ1_S":   {SizeBytes: 68_500_000_000, Bits: 1, Split: true},
			"BF16":       {SizeBytes: 470_000_000_000, Bits: 16, Split: true},
		}},
	{name: "lmstudio page: spaced title, Quantized from, space-separated table", file: "lmstudio_quantized_from_page.txt",
		repo: "lmstudio-community/gemma-3-12b-it-GGUF", paramsB: 11.8, arch: "gemma3", base: "google/gemma-3-12b-it", nQuants: 5,
		quants: map[string]QuantHint{
			"Q4_K_M": {File: "gemma-3-12b-it-Q4_K_M.gguf", SizeBytes: 7_300_000_000, Bits: 4, Description: "Good quality, recommended."},
			"F16":    {File: "mmproj-model-f16.gguf", SizeBytes: 854_000_000},
		}},
	{name: "card only: pipe table with links, repo from download line", file: "card_only_qwen05.txt",
		repo: "bartowski/Qwen2.5-0.5B-Instruct-GGUF", paramsB: 0.494, arch: "qwen2", base: "Qwen/Qwen2.5-0.5B-Instruct", nQuants: 4,
		quants: map[string]QuantHint{
			"IQ4_XS": {File: "Qwen2.5-0.5B-Instruct-IQ4_XS.gguf", SizeBytes: 396_000_000},
			"Q4_K_M": {File: "Qwen2.5-0.5B-Instruct-Q4_K_M.gguf", SizeBytes: 400_000_000, Description: "Good quality, default size for most use cases, *recommended*."},
		}},
	{name: "mradermacher page: id on first line, Size/GB column, multi-part", file: "mradermacher_70b_split_page.txt",
		repo: "mradermacher/Llama-3.3-70B-Instruct-i1-GGUF", paramsB: 70.6, arch: "llama", base: "meta-llama/Llama-3.3-70B-Instruct", nQuants: 4,
		quants: map[string]QuantHint{
			"Q6_K":   {File: "Llama-3.3-70B-Instruct.i1-Q6_K.gguf.part1of2", SizeBytes: 58_000_000_000, Split: true},
			"Q4_K_M": {File: "Llama-3.3-70B-Instruct.i1-Q4_K_M.gguf", SizeBytes: 42_600_000_000, Bits: 4, Description: "fast, recommended"},
		}},
	{name: "prose with no repo", file: "no_repo_text.txt", wantErr: "no Hugging Face repo id"},
	{name: "base model named first, card points elsewhere", text: `Quantized from: meta-llama/Llama-3.1-8B-Instruct
Base model
meta-llama/Llama-3.1-8B

These are GGUF quants. Also try other quantizers for this model.
| Filename | Quant type | File Size |
| Llama-3.1-8B-Instruct-Q4_K_M.gguf | Q4_K_M | 4.92 GB |
huggingface-cli download someone/Llama-3.1-8B-Instruct-GGUF --include "Llama-3.1-8B-Instruct-Q4_K_M.gguf" --local-dir ./
`, repo: "someone/Llama-3.1-8B-Instruct-GGUF", base: "meta-llama/Llama-3.1-8B-Instruct", nQuants: 1,
		quants: map[string]QuantHint{"Q4_K_M": {File: "Llama-3.1-8B-Instruct-Q4_K_M.gguf", SizeBytes: 4_920_000_000}}},
	{name: "noise page: id line first, non-repo slashes and image urls", text: `TheBloke/Mistral-7B-Instruct-v0.2-GGUF like 450
Model card Files and versions Community
Use it with and/or without a GPU, e.g. CPU/GPU split, 1.5/2 layers; GGUF/GGML both work.
![chart](https://cdn-uploads.huggingface.co/production/uploads/abc/chart.png)
Mirror: https://cdn-lfs.huggingface.co/repos/7a/8b/abc123 and https://github.com/TheBlokeAI/dots
Name	Quant method	Bits	Size	Max RAM required	Use case
mistral-7b-instruct-v0.2.Q4_K_M.gguf	Q4_K_M	4	4.37 GB	6.87 GB	medium, balanced quality - recommended
mistral-7b-instruct-v0.2.Q5_K_M.gguf	Q5_K_M	5	5.13 GB	7.63 GB	large, very low quality loss - recommended
Model size 7.24B params Architecture llama Chat template
4-bit Q4_K_M 4.37 GB
`, repo: "TheBloke/Mistral-7B-Instruct-v0.2-GGUF", paramsB: 7.24, arch: "llama", nQuants: 2,
		quants: map[string]QuantHint{"Q4_K_M": {File: "mistral-7b-instruct-v0.2.Q4_K_M.gguf", SizeBytes: 4_370_000_000, Bits: 4}}},
	{name: "short paste with title only", text: "bartowski\n/\nOLMo-2-1124-7B-Instruct-GGUF\nlike 12", repo: olmo},
	{name: "two-line command with url", text: "ollama pull\n  hf.co/" + olmo + ":Q4_K_M", repo: olmo, wantKind: "shorthand", wantQuant: "Q4_K_M"},
}

func TestParsePages(t *testing.T) {
	for _, tc := range pageCases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.text
			if tc.file != "" {
				b, err := os.ReadFile(filepath.Join("testdata", tc.file))
				if err != nil {
					t.Fatal(err)
				}
				in = string(b)
			}
			got, err := Parse(in)
			if tc.wantErr != "" {
				checkErr(t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			kind := tc.wantKind
			if kind == "" {
				kind = "page"
			}
			if got.Repo != tc.repo || got.Kind != kind || got.Quant != tc.wantQuant {
				t.Errorf("got repo %q kind %q quant %q, want %q %q %q", got.Repo, got.Kind, got.Quant, tc.repo, kind, tc.wantQuant)
			}
			h := got.Hints
			if h.ParamsB != tc.paramsB || h.Architecture != tc.arch || h.BaseModel != tc.base {
				t.Errorf("hints params=%v arch=%q base=%q, want %v %q %q", h.ParamsB, h.Architecture, h.BaseModel, tc.paramsB, tc.arch, tc.base)
			}
			if tc.nQuants > 0 && len(h.Quants) != tc.nQuants {
				t.Errorf("got %d quant hints, want %d: %+v", len(h.Quants), tc.nQuants, h.Quants)
			}
			for q, want := range tc.quants {
				checkQuant(t, h.Quants, q, want)
			}
		})
	}
}

func checkQuant(t *testing.T, qs []QuantHint, quant string, want QuantHint) {
	t.Helper()
	for _, g := range qs {
		if g.Quant != quant {
			continue
		}
		if want.File != "" && g.File != want.File || want.SizeBytes != 0 && g.SizeBytes != want.SizeBytes ||
			want.Bits != 0 && g.Bits != want.Bits || want.Split && !g.Split ||
			want.Description != "" && g.Description != want.Description {
			t.Errorf("quant %s: got %+v, want %+v", quant, g, want)
		}
		return
	}
	t.Errorf("quant %s missing from %+v", quant, qs)
}

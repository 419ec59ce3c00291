package source

import (
	"errors"
	"strings"
	"testing"
)

// parseCase is one pasted input and what must come out of it. Only the
// fields set in want are compared, except Repo and Kind which always are.
type parseCase struct {
	name    string
	in      string
	want    Ref
	wantErr string // substring of Error.Msg; empty means success
}

const olmo = "bartowski/OLMo-2-1124-7B-Instruct-GGUF"

var urlAndShorthandCases = []parseCase{
	// URLs
	{name: "plain url", in: "https://huggingface.co/" + olmo, want: Ref{Repo: olmo, Kind: "url"}},
	{name: "url slash query fragment", in: "https://huggingface.co/" + olmo + "/?library=gguf#model-card", want: Ref{Repo: olmo, Kind: "url"}},
	{name: "http www", in: "http://www.huggingface.co/" + olmo, want: Ref{Repo: olmo, Kind: "url"}},
	{name: "no scheme", in: "huggingface.co/" + olmo, want: Ref{Repo: olmo, Kind: "url"}},
	{name: "hf.co", in: "hf.co/" + olmo, want: Ref{Repo: olmo, Kind: "url"}},
	{name: "upper-case scheme and host", in: "HTTPS://HuggingFace.co/" + olmo, want: Ref{Repo: olmo, Kind: "url"}},
	{name: "tree main is default", in: "https://huggingface.co/" + olmo + "/tree/main", want: Ref{Repo: olmo, Kind: "url"}},
	{name: "tree rev dir quant folder", in: "https://huggingface.co/unsloth/Qwen3-235B-A22B-Instruct-2507-GGUF/tree/v1.0/UD-Q4_K_XL",
		want: Ref{Repo: "unsloth/Qwen3-235B-A22B-Instruct-2507-GGUF", Kind: "url", Revision: "v1.0", Dir: "UD-Q4_K_XL", Quant: "UD-Q4_K_XL"}},
	{name: "blob file", in: "https://huggingface.co/" + olmo + "/blob/main/OLMo-2-1124-7B-Instruct-Q4_K_M.gguf",
		want: Ref{Repo: olmo, Kind: "url", File: "OLMo-2-1124-7B-Instruct-Q4_K_M.gguf", Quant: "Q4_K_M"}},
	{name: "resolve shard in folder with download query", in: "https://huggingface.co/bartowski/Qwen3-235B-GGUF/resolve/main/Qwen3-235B-Q8_0/Qwen3-235B-Q8_0-00001-of-00007.gguf?download=true",
		want: Ref{Repo: "bartowski/Qwen3-235B-GGUF", Kind: "url", File: "Qwen3-235B-Q8_0/Qwen3-235B-Q8_0-00001-of-00007.gguf", Quant: "Q8_0"}},
	{name: "encoded pr revision", in: "https://huggingface.co/" + olmo + "/resolve/refs%2Fpr%2F1/OLMo-2-1124-7B-Instruct-IQ4_XS.gguf",
		want: Ref{Repo: olmo, Kind: "url", Revision: "refs/pr/1", File: "OLMo-2-1124-7B-Instruct-IQ4_XS.gguf", Quant: "IQ4_XS"}},
	{name: "unencoded pr revision", in: "https://huggingface.co/" + olmo + "/tree/refs/pr/3", want: Ref{Repo: olmo, Kind: "url", Revision: "refs/pr/3"}},
	{name: "commit revision", in: "https://huggingface.co/" + olmo + "/blob/0123456789abcdef0123456789abcdef01234567/a.Q5_K_S.gguf",
		want: Ref{Repo: olmo, Kind: "url", Revision: "0123456789abcdef0123456789abcdef01234567", File: "a.Q5_K_S.gguf", Quant: "Q5_K_S"}},
	{name: "angle brackets quotes and period", in: "  \"<https://huggingface.co/" + olmo + ">\".\n", want: Ref{Repo: olmo, Kind: "url"}},
	{name: "markdown link", in: "[OLMo](https://huggingface.co/" + olmo + ")", want: Ref{Repo: olmo, Kind: "url"}},
	{name: "api url", in: "https://huggingface.co/api/models/" + olmo, want: Ref{Repo: olmo, Kind: "url"}},
	{name: "discussion url", in: "https://huggingface.co/" + olmo + "/discussions/3", want: Ref{Repo: olmo, Kind: "url"}},
	{name: "host-less resolve path", in: olmo + "/resolve/main/OLMo-2-1124-7B-Instruct-Q6_K_L.gguf",
		want: Ref{Repo: olmo, Kind: "url", File: "OLMo-2-1124-7B-Instruct-Q6_K_L.gguf", Quant: "Q6_K_L"}},
	// Shorthands
	{name: "org/repo", in: olmo, want: Ref{Repo: olmo, Kind: "shorthand"}},
	{name: "quoted with whitespace", in: "\n\t'" + olmo + "' \n", want: Ref{Repo: olmo, Kind: "shorthand"}},
	{name: "tag lower case", in: olmo + ":q4_k_m", want: Ref{Repo: olmo, Kind: "shorthand", Quant: "Q4_K_M"}},
	{name: "unsloth dynamic tag", in: "unsloth/gpt-oss-20b-GGUF:ud-q4_k_xl", want: Ref{Repo: "unsloth/gpt-oss-20b-GGUF", Kind: "shorthand", Quant: "UD-Q4_K_XL"}},
	{name: "tag is a file name", in: olmo + ":OLMo-2-1124-7B-Instruct-Q4_K_M.gguf",
		want: Ref{Repo: olmo, Kind: "shorthand", File: "OLMo-2-1124-7B-Instruct-Q4_K_M.gguf", Quant: "Q4_K_M"}},
	{name: "ollama hf.co with tag", in: "hf.co/" + olmo + ":IQ4_XS", want: Ref{Repo: olmo, Kind: "shorthand", Quant: "IQ4_XS"}},
	{name: "latest tag means default", in: "hf.co/" + olmo + ":latest", want: Ref{Repo: olmo, Kind: "shorthand"}},
	{name: "ollama run command", in: "ollama run hf.co/" + olmo + ":Q8_0", want: Ref{Repo: olmo, Kind: "shorthand", Quant: "Q8_0"}},
	{name: "llama-server -hf command", in: "llama-server -hf " + olmo + ":Q5_K_M --port 8080", want: Ref{Repo: olmo, Kind: "shorthand", Quant: "Q5_K_M"}},
	{name: "repo and quant as two words", in: olmo + "  q6_k\n", want: Ref{Repo: olmo, Kind: "shorthand", Quant: "Q6_K"}},
	{name: "huggingface-cli include", in: `huggingface-cli download ` + olmo + ` --include "OLMo-2-1124-7B-Instruct-Q4_K_M.gguf" --local-dir ./`,
		want: Ref{Repo: olmo, Kind: "shorthand", File: "OLMo-2-1124-7B-Instruct-Q4_K_M.gguf", Quant: "Q4_K_M"}},
	{name: "hf download positional file with revision", in: `hf download ` + olmo + ` OLMo-2-1124-7B-Instruct-Q5_K_M.gguf --revision v2`,
		want: Ref{Repo: olmo, Kind: "shorthand", File: "OLMo-2-1124-7B-Instruct-Q5_K_M.gguf", Quant: "Q5_K_M", Revision: "v2"}},
	{name: "hf download folder glob", in: `hf download unsloth/DeepSeek-R1-GGUF --include "*UD-IQ1_S*" --local-dir DeepSeek-R1-GGUF`,
		want: Ref{Repo: "unsloth/DeepSeek-R1-GGUF", Kind: "shorthand", Quant: "UD-IQ1_S"}},
}

var errorCases = []parseCase{
	{name: "empty", in: "", wantErr: "nothing was pasted"},
	{name: "only whitespace and quotes", in: " \n\t\"\" ", wantErr: "nothing was pasted"},
	{name: "github url", in: "https://github.com/ggml-org/llama.cpp", wantErr: "only Hugging Face model URLs are supported: github.com is not one"},
	{name: "github without scheme", in: "github.com/ggml-org/llama.cpp", wantErr: "github.com is not one"},
	{name: "git clone command", in: "git clone https://github.com/ggml-org/llama.cpp", wantErr: "github.com is not one"},
	{name: "dataset", in: "https://huggingface.co/datasets/HuggingFaceFW/fineweb", wantErr: "datasets/HuggingFaceFW/fineweb is a dataset, not a model"},
	{name: "space", in: "https://huggingface.co/spaces/ggml-org/gguf-my-repo", wantErr: "is a Space, not a model"},
	{name: "org only", in: "https://huggingface.co/bartowski", wantErr: `"bartowski" is an organization or user, not a model`},
	{name: "org only trailing slash", in: "huggingface.co/bartowski/", wantErr: "the repository name is missing"},
	{name: "bare host", in: "https://huggingface.co/", wantErr: "names no model"},
	{name: "model search", in: "https://huggingface.co/models?search=qwen", wantErr: "is a model list, not a model"},
	{name: "cdn link", in: "https://cdn-lfs.huggingface.co/repos/ab/cd/0123abcd?response-content-disposition=x", wantErr: "file-storage host"},
	{name: "double dash in name", in: "bartowski/OLMo--2", wantErr: `the name "OLMo--2" must not contain "--" or ".."`},
	{name: "bad owner", in: "-bartowski/OLMo-2", wantErr: `the owner "-bartowski" must not start or end`},
	{name: "bad char in name", in: "https://huggingface.co/org/re$po", wantErr: `the name "re$po" may contain only letters`},
	{name: "name too long", in: "org/" + strings.Repeat("a", 97), wantErr: "is longer than 96 characters"},
	{name: "no slash", in: "gpt2", wantErr: `"gpt2" is not a repo id: expected org/name`},
	{name: "dotdot in blob path", in: "https://huggingface.co/org/repo/blob/main/../../etc/passwd", wantErr: "'..' segment"},
	{name: "encoded dotdot in resolve path", in: "https://huggingface.co/org/repo/resolve/main/a%2F..%2F..%2Fb.gguf", wantErr: "'..' segment"},
	{name: "backslash in path", in: "https://huggingface.co/org/repo/blob/main/..%5Cx.gguf", wantErr: "contains a backslash"},
	{name: "NUL in path", in: "https://huggingface.co/org/repo/blob/main/a%00b.gguf", wantErr: "control characters"},
	{name: "raw NUL in tag", in: "org/repo:a\x00b.gguf", wantErr: "NUL byte"},
	{name: "absolute path tag", in: "org/repo:/etc/x.gguf", wantErr: "must be relative"},
	{name: "dotdot tag", in: "org/repo:../../x.gguf", wantErr: "'..' segment"},
	{name: "bad revision", in: "https://huggingface.co/org/repo/tree/a..b", wantErr: `invalid revision "a..b"`},
	{name: "bad tag chars", in: "org/repo:Q4$K", wantErr: "invalid quant tag"},
	{name: "prose without repo", in: "I run 7B models and/or 13B ones, e.g. GGUF/GGML at 1.5/2 tok/s.", wantErr: "no Hugging Face repo id"},
}

func TestParse(t *testing.T) {
	all := append(append([]parseCase{}, urlAndShorthandCases...), errorCases...)
	if len(all)+len(pageCases) < 35 {
		t.Fatalf("only %d cases", len(all)+len(pageCases))
	}
	for _, tc := range all {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.wantErr != "" {
				checkErr(t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if !sameRef(got, tc.want) {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tc.in, got, tc.want)
			}
		})
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want *Error containing %q, got %T %v", want, err, err)
	}
	if !strings.Contains(e.Msg, want) {
		t.Errorf("error %q does not contain %q", e.Msg, want)
	}
	if e.Hint == "" {
		t.Errorf("error %q has no hint", e.Msg)
	}
	if e.Error() != e.Msg {
		t.Errorf("Error() = %q, want Msg", e.Error())
	}
}

func TestQuantFromFile(t *testing.T) {
	for in, want := range map[string]string{
		"OLMo-2-1124-7B-Instruct-Q4_K_M.gguf":                           "Q4_K_M",
		"Llama-3.3-70B-Instruct.i1-IQ1_S.gguf":                          "IQ1_S",
		"qwen2.5-0.5b-instruct-q4_k_m.gguf":                             "Q4_K_M",
		"UD-Q4_K_XL/Qwen3-235B-UD-Q4_K_XL-00001-of-00003.gguf":          "UD-Q4_K_XL",
		"BF16/Qwen3-235B-A22B-00001-of-00010.gguf":                      "BF16",
		"gpt-oss-120b-MXFP4_MOE.gguf":                                   "MXFP4_MOE",
		"Model-f16.gguf":                                                "F16",
		"Llama-3.3-70B-Instruct.i1-Q6_K.gguf.part1of2":                  "Q6_K",
		"Qwen2.5-7B-Instruct-Q4_0_4_4.gguf":                             "Q4_0_4_4",
		"mmproj-model-f16.gguf":                                         "F16",
		"README.md":                                                     "",
		"Meta-Llama-3.1-8B-Instruct.gguf":                               "",
		"DeepSeek-R1-UD-IQ1_S/DeepSeek-R1-UD-IQ1_S-00001-of-00003.gguf": "UD-IQ1_S",
	} {
		if got := QuantFromFile(in); got != want {
			t.Errorf("QuantFromFile(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCanonicalQuant(t *testing.T) {
	for in, want := range map[string]string{"q4_k_m": "Q4_K_M", "ud-q2_k_xl": "UD-Q2_K_XL", " IQ4_XS ": "IQ4_XS", "bf16": "BF16", "link": "", "Q9_0": ""} {
		got, ok := CanonicalQuant(in)
		if got != want || ok != (want != "") {
			t.Errorf("CanonicalQuant(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func sameRef(a, b Ref) bool {
	return a.Repo == b.Repo && a.Revision == b.Revision && a.File == b.File && a.Dir == b.Dir &&
		a.Quant == b.Quant && a.Kind == b.Kind
}

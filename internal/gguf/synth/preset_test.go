package synth

import (
	"math"
	"strings"
	"testing"

	"github.com/fitbench/fitbench/internal/gguf"
)

// Every preset validates and writes a header the reader understands, with the
// architecture's keys and tensors (checked against what the engines require).
func TestPresetsWriteReadableHeaders(t *testing.T) {
	for _, p := range Presets {
		t.Run(p.Name, func(t *testing.T) {
			s, err := Preset(p.Name)
			if err != nil {
				t.Fatal(err)
			}
			s.HeaderOnly = true
			paths, err := Write(t.TempDir(), p.Name, s)
			if err != nil {
				t.Fatal(err)
			}
			f, err := gguf.ReadFile(paths[0])
			if err != nil {
				t.Fatal(err)
			}
			sum, err := f.Summary()
			if err != nil {
				t.Fatal(err)
			}
			if sum.Architecture != s.Arch || sum.BlockCount != s.Layers || sum.EmbeddingLength != s.Embd {
				t.Fatalf("summary %+v", sum)
			}
			names := map[string]gguf.GGMLType{}
			for _, ti := range f.Tensors {
				names[ti.Name] = ti.Type
			}
			need := map[string][]string{
				"qwen3":         {"blk.0.attn_q_norm.weight", "blk.0.attn_k_norm.weight"},
				"qwen3moe":      {"blk.0.ffn_gate_inp.weight", "blk.0.ffn_up_exps.weight"},
				"gemma2":        {"blk.0.post_attention_norm.weight", "blk.0.post_ffw_norm.weight"},
				"gemma3":        {"blk.0.attn_q_norm.weight", "blk.0.post_ffw_norm.weight"},
				"gptoss":        {"blk.0.attn_sinks.weight", "blk.0.ffn_down_exps.bias"},
				"deepseek2":     {"blk.0.attn_kv_a_mqa.weight", "blk.0.attn_k_b.weight", "blk.0.attn_v_b.weight"},
				"phi3":          {"blk.0.attn_qkv.weight"},
				"lfm2":          {"token_embd_norm.weight"},
				"granitehybrid": {"blk.0.ssm_in.weight", "blk.0.ssm_a", "blk.0.ffn_up_exps.weight"},
				"nemotron_h":    {"blk.0.ssm_in.weight", "blk.0.ssm_norm.weight", "blk.1.ffn_up.weight", "blk.5.attn_q.weight"},
			}[s.Arch]
			for _, n := range need {
				if _, ok := names[n]; !ok {
					t.Errorf("missing %s", n)
				}
			}
			if _, ok := names["output.weight"]; ok == (s.TiedOutput || s.Arch == "gemma2") {
				t.Errorf("output.weight present=%v with tied=%v", ok, s.TiedOutput)
			}
			if s.ExpertType == gguf.TypeMXFP4 && names["blk.0.ffn_up_exps.weight"] != gguf.TypeMXFP4 {
				t.Errorf("experts are %s, want MXFP4", names["blk.0.ffn_up_exps.weight"])
			}
			if s.Arch == "deepseek2" {
				_, qa := names["blk.0.attn_q_a.weight"]
				if qa != (s.QLoRARank > 0) {
					t.Errorf("attn_q_a present=%v with q LoRA rank %d", qa, s.QLoRARank)
				}
			}
			if p.Real && !strings.Contains(p.Source, "config.json") {
				t.Errorf("real preset without its config.json source")
			}
		})
	}
	if _, err := Preset("nope"); err == nil {
		t.Fatal("unknown preset accepted")
	}
}

// An MXFP4 block decodes (as dequantize_row_mxfp4 does) to within half a code
// step of the input.
func TestMXFP4Decode(t *testing.T) {
	x := randRow(128)
	q := encodeMXFP4(nil, x)
	if len(q) != 4*17 {
		t.Fatalf("%d bytes", len(q))
	}
	for b := 0; b < 4; b++ {
		d := e8m0Half(q[b*17])
		for j := 0; j < 32; j++ {
			nib := q[b*17+1+j%16]
			if j >= 16 {
				nib >>= 4
			}
			got := kvaluesMXFP4[nib&15] * d
			if v := x[b*32+j]; math.Abs(float64(got-v)) > float64(4*d)*0.51 {
				t.Fatalf("block %d elem %d: %g vs %g (d %g)", b, j, got, v, d)
			}
		}
	}
	if e8m0Half(128) != 1 || e8m0Half(0) != float32(math.Ldexp(1, -128)) {
		t.Fatal("e8m0 half")
	}
}

// The BPE vocabulary has unique tokens, every merge joins two earlier tokens
// into a later one, and the control tokens come last.
func TestBPETokenizer(t *testing.T) {
	kv := bpeTokenizer(1000, "qwen2")
	get := func(k string) gguf.Value {
		for _, e := range kv {
			if e.Key == k {
				return e.Value
			}
		}
		t.Fatalf("no %s", k)
		return gguf.Value{}
	}
	toks := get("tokenizer.ggml.tokens")
	if toks.Len != 1000 {
		t.Fatalf("%d tokens", toks.Len)
	}
	id := map[string]int{}
	for i, it := range toks.Items {
		s, _ := it.Text()
		if _, dup := id[s]; dup {
			t.Fatalf("token %q twice", s)
		}
		id[s] = i
	}
	for _, m := range get("tokenizer.ggml.merges").Items {
		s, _ := m.Text()
		l, r, ok := strings.Cut(s, " ")
		if !ok {
			t.Fatalf("merge %q", s)
		}
		if id[l+r] <= id[l] || id[l+r] <= id[r] {
			t.Fatalf("merge %q: result before its parts", s)
		}
	}
	if eos, _ := get("tokenizer.ggml.eos_token_id").Uint(); id["<|endoftext|>"] != int(eos) {
		t.Fatalf("eos %d", eos)
	}
}

// Command mkgguf generates real, loadable GGUF models for tests and demos: a
// llama (or qwen2) architecture with deterministic random weights in F16, Q8_0
// or Q4_0 block encodings and a byte-level SentencePiece tokenizer, optionally
// split into shards or written header-only (sparse data region).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/gguf/synth"
)

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkgguf:", err)
		os.Exit(2)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mkgguf", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: mkgguf [flags]

Writes a GGUF model that llama.cpp and Ollama load and run. Weights are
deterministic pseudo-random values (normal × 0.02, norms 1.0) seeded by --seed;
the tokenizer is SentencePiece-style with all 256 byte tokens, so any prompt works.
Presets: tiny (default; 2 layers, 64 wide) and 70b (Llama-3-70B shapes: use with
--header-only). Explicit flags override the preset.

flags:
`)
		fs.PrintDefaults()
		fmt.Fprint(stderr, `
examples:
  mkgguf -o /tmp/m -name tiny                       # /tmp/m/tiny.gguf (F16)
  mkgguf -o /tmp/m -type Q4_0 -layers 4 -embd 256   # a slightly bigger Q4_0 model
  mkgguf -o /tmp/m -preset 70b -header-only -shards 3
`)
	}
	var (
		out        = fs.String("o", ".", "output directory")
		base       = fs.String("name", "model", "file base name (shards get -0000i-of-0000N.gguf)")
		preset     = fs.String("preset", "tiny", "starting shapes: tiny or 70b")
		arch       = fs.String("arch", "", "architecture: llama or qwen2 (llama plus q/k/v biases)")
		layers     = fs.Int("layers", 0, "number of transformer blocks (block_count)")
		embd       = fs.Int("embd", 0, "embedding length; a multiple of 32 for Q8_0/Q4_0")
		heads      = fs.Int("heads", 0, "attention heads; embd/heads must be even")
		kvHeads    = fs.Int("kv-heads", 0, "key/value heads (grouped-query attention); divides heads")
		ff         = fs.Int("ff", 0, "feed-forward length; a multiple of 32 for Q8_0/Q4_0")
		vocab      = fs.Int("vocab", 0, "vocabulary size, at least 259 (3 special + 256 byte tokens)")
		ctx        = fs.Int("ctx", 0, "training context length written to the metadata")
		typ        = fs.String("type", "", "weight type: F16, Q8_0 or Q4_0 (norms are always F32)")
		seed       = fs.Uint64("seed", 1, "seed of the pseudo-random weights")
		shards     = fs.Int("shards", 1, "split into this many gguf-split style shards")
		headerOnly = fs.Bool("header-only", false, "write only the header; the data region is a sparse hole but the file has its full size")
		tied       = fs.Bool("tied", false, "omit output.weight (output tied to token_embd)")
		model      = fs.String("model-name", "", "general.name (default from the preset)")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var spec synth.Spec
	switch *preset {
	case "tiny":
		spec = synth.Tiny
	case "70b":
		spec = synth.Llama70B
	default:
		return fmt.Errorf("unknown preset %q (tiny, 70b)", *preset)
	}
	set := func(dst *int, v int) {
		if v != 0 {
			*dst = v
		}
	}
	set(&spec.Layers, *layers)
	set(&spec.Embd, *embd)
	set(&spec.Heads, *heads)
	set(&spec.KVHeads, *kvHeads)
	set(&spec.FF, *ff)
	set(&spec.Vocab, *vocab)
	set(&spec.Ctx, *ctx)
	if *arch != "" {
		spec.Arch = *arch
	}
	if *model != "" {
		spec.Name = *model
	}
	if *typ != "" {
		t, ok := gguf.ParseGGMLType(*typ)
		if !ok {
			return fmt.Errorf("unknown weight type %q (F16, Q8_0, Q4_0)", *typ)
		}
		spec.WeightType = t
	}
	spec.Seed, spec.Shards, spec.HeaderOnly, spec.TiedOutput = *seed, *shards, *headerOnly, *tied
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	paths, err := synth.Write(*out, *base, spec)
	if err != nil {
		return err
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\t%d bytes\n", p, st.Size())
	}
	return nil
}

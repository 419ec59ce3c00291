// Command mkgguf generates real, loadable GGUF models for tests and demos: any
// architecture of internal/gguf/synth (llama, qwen3, qwen3moe, gemma2/3, gptoss,
// deepseek2, mistral3, phi3, lfm2, granitehybrid, …) with deterministic random
// weights in F16, Q8_0, Q4_0 (MXFP4 experts) block encodings and a byte-level
// tokenizer, from a preset (-list) or flags, optionally split into shards or
// written header-only (sparse data region).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

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
Presets (-list): tiny (default; 2 layers, 64 wide), small models of today's
architectures with real proportions (qwen3, qwen3moe, gemma3, gptoss,
deepseek2-v3, granitehybrid, …) and real-sized header-only ones (gemma3-27b,
qwen3-30b-a3b, gpt-oss-20b, deepseek-v3, granite-4.0-h-tiny, 70b). Explicit
flags override the preset.

flags:
`)
		fs.PrintDefaults()
		fmt.Fprint(stderr, `
examples:
  mkgguf -o /tmp/m -name tiny                       # /tmp/m/tiny.gguf (F16)
  mkgguf -o /tmp/m -type Q4_0 -layers 4 -embd 256   # a slightly bigger Q4_0 model
  mkgguf -o /tmp/m -preset 70b -header-only -shards 3
  mkgguf -o /tmp/m -name g -preset gemma3           # small Gemma 3 (5 local : 1 global)
  mkgguf -o /tmp/m -name v3 -preset deepseek-v3     # DeepSeek-V3 header, sparse 380 GB file
`)
	}
	var (
		out        = fs.String("o", ".", "output directory")
		base       = fs.String("name", "model", "file base name (shards get -0000i-of-0000N.gguf)")
		preset     = fs.String("preset", "tiny", "starting shapes: a preset name (see -list)")
		list       = fs.Bool("list", false, "list the presets and exit")
		arch       = fs.String("arch", "", "architecture: "+strings.Join(synth.Archs, ", "))
		layers     = fs.Int("layers", 0, "number of transformer blocks (block_count)")
		embd       = fs.Int("embd", 0, "embedding length; a multiple of 32 for Q8_0/Q4_0")
		heads      = fs.Int("heads", 0, "attention heads; embd/heads must be even")
		kvHeads    = fs.Int("kv-heads", 0, "key/value heads (grouped-query attention); divides heads")
		ff         = fs.Int("ff", 0, "feed-forward length; a multiple of 32 for Q8_0/Q4_0")
		vocab      = fs.Int("vocab", 0, "vocabulary size, at least 259 (3 special + 256 byte tokens)")
		ctx        = fs.Int("ctx", 0, "training context length written to the metadata")
		typ        = fs.String("type", "", "weight type: F16, Q8_0 or Q4_0 (norms are always F32)")
		seed       = fs.Uint64("seed", 0, "seed of the pseudo-random weights")
		shards     = fs.Int("shards", 1, "split into this many gguf-split style shards")
		headerOnly = fs.Bool("header-only", false, "write only the header; the data region is a sparse hole but the file has its full size")
		tied       = fs.Bool("tied", false, "omit output.weight (output tied to token_embd)")
		model      = fs.String("model-name", "", "general.name (default from the preset)")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *list {
		for _, p := range synth.Presets {
			kind := "small"
			if p.Real {
				kind = "real, header-only"
			}
			fmt.Fprintf(stdout, "%-20s %-14s %s (%s)\n", p.Name, p.Spec.Arch, p.Source, kind)
		}
		return nil
	}
	spec, err := synth.Preset(*preset)
	if err != nil {
		return err
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
	if *seed != 0 {
		spec.Seed = *seed
	}
	spec.Shards = *shards
	spec.HeaderOnly = spec.HeaderOnly || *headerOnly
	spec.TiedOutput = spec.TiedOutput || *tied
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

package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fitbench/fitbench/internal/gguf"
)

func TestRunWritesModel(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	err := run([]string{"-o", dir, "-name", "m", "-type", "Q4_0", "-layers", "3", "-embd", "96", "-heads", "3", "-kv-heads", "1", "-shards", "2"}, &out, &errb)
	if err != nil {
		t.Fatal(err, errb.String())
	}
	if strings.Count(out.String(), "\n") != 2 {
		t.Fatalf("output %q", out.String())
	}
	f, err := gguf.ReadFile(filepath.Join(dir, "m-00001-of-00002.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := f.Summary()
	if s.BlockCount != 3 || s.EmbeddingLength != 96 || s.QuantLabel != "Q4_0" {
		t.Fatalf("%+v", s)
	}
}

func TestHelpAndBadFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run([]string{"-h"}, &out, &errb); err == nil || !strings.Contains(errb.String(), "-header-only") {
		t.Fatalf("help: %v %q", err, errb.String())
	}
	if err := run([]string{"-type", "Q9_9", "-o", t.TempDir()}, &out, &errb); err == nil {
		t.Fatal("unknown type accepted")
	}
}

func TestListAndArchPreset(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run([]string{"-list"}, &out, &errb); err != nil || !strings.Contains(out.String(), "deepseek-v3") || !strings.Contains(out.String(), "gemma3") {
		t.Fatalf("list: %v %q", err, out.String())
	}
	dir := t.TempDir()
	out.Reset()
	if err := run([]string{"-o", dir, "-name", "v3", "-preset", "deepseek-v3"}, &out, &errb); err != nil {
		t.Fatal(err, errb.String())
	}
	f, err := gguf.ReadFile(filepath.Join(dir, "v3.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := f.Summary()
	if s.Architecture != "deepseek2" || s.BlockCount != 61 {
		t.Fatalf("%+v", s)
	}
	if err := run([]string{"-preset", "nope", "-o", dir}, &out, &errb); err == nil {
		t.Fatal("unknown preset accepted")
	}
}

package gguf_test

// Issue 14.7: `make fuzz` sat at 0 execs/s for most of its 10 s. The fuzzing
// engine minimizes every new interesting input for up to -fuzzminimizetime
// (default 60 s) before the workers go on, and that costs an exec per
// candidate: on inputs of the seed model's size (20 KB here, 4.7 KB pages for
// FuzzParse at ~5 ms an exec) one minimization took longer than the run. The
// runs now bound minimization by a count of execs, and the reader does less
// per exec (no message strings built for every string it reads).

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/gguf/synth"
)

// TestFuzzRunsBoundMinimization: every bounded fuzz run in the Makefile
// limits minimization to a small number of execs.
func TestFuzzRunsBoundMinimization(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	runs := regexp.MustCompile(`(?m)^\t.*-fuzz '.*$`).FindAllString(string(mk), -1)
	if len(runs) < 2 {
		t.Fatalf("found %d fuzz runs in the Makefile", len(runs))
	}
	for _, r := range runs {
		m := regexp.MustCompile(`-fuzzminimizetime[ =](\d+)x`).FindStringSubmatch(r)
		if m == nil {
			t.Errorf("fuzz run without a -fuzzminimizetime count (the default is 60 s of minimizing per new input): %s", r)
			continue
		}
		if n, _ := strconv.Atoi(m[1]); n > 100 {
			t.Errorf("minimization of %d execs: %s", n, r)
		}
	}
}

// TestReadAllocsPerString: reading the fuzz seed allocates about once per
// string it keeps (was 619 allocations).
func TestReadAllocsPerString(t *testing.T) {
	paths, err := synth.Write(t.TempDir(), "seed", synth.Spec{Layers: 1, Embd: 32, Heads: 2, KVHeads: 1, FF: 32, Vocab: 259, WeightType: gguf.TypeQ4_0})
	if err != nil {
		t.Fatal(err)
	}
	model, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Read(bytes.NewReader(model), int64(len(model)), gguf.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	strs := len(f.Tensors)
	for _, kv := range f.KV {
		strs++ // the key
		if _, ok := kv.Value.Text(); ok {
			strs++
		}
		if kv.Value.Elem == gguf.ValString {
			strs += len(kv.Value.Items)
		}
	}
	allocs := testing.AllocsPerRun(20, func() {
		gguf.Read(bytes.NewReader(model), int64(len(model)), gguf.ReadOptions{})
	})
	t.Logf("%v allocations for %d strings", allocs, strs)
	if allocs > float64(strs)*5/4+64 {
		t.Errorf("%v allocations to read a header of %d strings", allocs, strs)
	}
}

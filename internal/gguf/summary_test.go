package gguf_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/gguf/synth"
)

func writeSynth(t testing.TB, spec synth.Spec) []string {
	t.Helper()
	paths, err := synth.Write(t.TempDir(), "m", spec)
	if err != nil {
		t.Fatal(err)
	}
	return paths
}

func readAll(t testing.TB, paths []string) []*gguf.File {
	t.Helper()
	var fs []*gguf.File
	for _, p := range paths {
		f, err := gguf.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	return fs
}

// expectedParams counts a llama model's parameters from its shapes.
func expectedParams(s synth.Spec) uint64 {
	e, ff, v := uint64(s.Embd), uint64(s.FF), uint64(s.Vocab)
	kv := e / uint64(s.Heads) * uint64(s.KVHeads)
	block := 2*e + e*e + 2*e*kv + e*e + 3*e*ff
	if s.Arch == "qwen2" {
		block += e + 2*kv
	}
	out := e * v
	if s.TiedOutput {
		out = 0
	}
	return v*e + uint64(s.Layers)*block + e + out
}

func TestSummaryOfGeneratedModel(t *testing.T) {
	for _, spec := range []synth.Spec{
		{Layers: 3, Embd: 128, Heads: 4, KVHeads: 2, FF: 256, Vocab: 300, WeightType: gguf.TypeQ8_0},
		{Layers: 2, Embd: 64, Heads: 8, KVHeads: 8, FF: 96, Vocab: 400, WeightType: gguf.TypeQ4_0, TiedOutput: true},
		{Arch: "qwen2", Layers: 2, Embd: 64, Heads: 4, KVHeads: 1, FF: 64, Vocab: 260},
	} {
		paths := writeSynth(t, spec)
		f := readAll(t, paths)[0]
		s, err := f.Summary()
		if err != nil {
			t.Fatal(err)
		}
		if want := expectedParams(spec); s.ParamCount != want {
			t.Errorf("%+v: params %d, want %d", spec, s.ParamCount, want)
		}
		st, _ := os.Stat(paths[0])
		// Every synth tensor size is a multiple of 32, so data is exactly the tensors.
		if uint64(st.Size()-f.DataOffset) != s.TensorBytes {
			t.Errorf("tensor bytes %d, file data region %d", s.TensorBytes, st.Size()-f.DataOffset)
		}
		var sum uint64
		for _, b := range s.LayerBytes {
			sum += b
		}
		if sum+s.TokenEmbdBytes+s.OutputBytes+s.OtherBytes != s.TensorBytes {
			t.Errorf("groups do not add up: %+v", s)
		}
		wantType := spec.WeightType
		if wantType == gguf.TypeF32 {
			wantType = gguf.TypeF16
		}
		if s.QuantLabel != wantType.String() || s.OutputTied != spec.TiedOutput || s.BlockCount != spec.Layers ||
			s.VocabSize != spec.Vocab || s.KeyLength != spec.Embd/spec.Heads || len(s.HeadCountKV) != spec.Layers ||
			s.HeadCountKV[0] != spec.KVHeads || s.Shards != 1 {
			t.Errorf("summary %+v for spec %+v", s, spec)
		}
	}
}

func TestSummary70BHeaderOnly(t *testing.T) {
	spec := synth.Llama70B
	spec.HeaderOnly = true
	paths := writeSynth(t, spec)
	f := readAll(t, paths)[0]
	s, err := f.Summary()
	if err != nil {
		t.Fatal(err)
	}
	if s.ParamCount < 70.5e9 || s.ParamCount > 70.6e9 {
		t.Fatalf("params %d, want Llama-3-70B's 70.55e9", s.ParamCount)
	}
	st, _ := os.Stat(paths[0])
	if st.Size() != f.DataOffset+int64(s.TensorBytes) {
		t.Fatalf("sparse file size %d, want %d", st.Size(), f.DataOffset+int64(s.TensorBytes))
	}
}

func TestMergeSplitShards(t *testing.T) {
	spec := synth.Spec{Layers: 5, Embd: 64, Heads: 4, KVHeads: 2, FF: 128, Vocab: 300, WeightType: gguf.TypeQ8_0}
	whole, err := readAll(t, writeSynth(t, spec))[0].Summary()
	if err != nil {
		t.Fatal(err)
	}
	spec.Shards = 3
	paths := writeSynth(t, spec)
	if len(paths) != 3 || filepath.Base(paths[1]) != "m-00002-of-00003.gguf" {
		t.Fatalf("paths %v", paths)
	}
	files := readAll(t, paths)
	// Shard order given must not matter.
	merged, err := gguf.MergeSummaries([]*gguf.File{files[2], files[0], files[1]})
	if err != nil {
		t.Fatal(err)
	}
	whole.Shards = 3
	if !reflect.DeepEqual(merged, whole) {
		t.Fatalf("merged %+v\nwhole  %+v", merged, whole)
	}
	// Every block lives in exactly one shard.
	for _, f := range files {
		if n, _ := f.GetUint(gguf.KeySplitCount); n != 3 {
			t.Fatalf("split.count = %d", n)
		}
	}
	if _, err := gguf.MergeSummaries(files[:2]); !errors.Is(err, gguf.ErrSplit) {
		t.Fatalf("missing shard: %v", err)
	}
}

// kvFile writes a header-only file with the given metadata and tensors.
func kvFile(t testing.TB, kv []gguf.KV, specs []gguf.TensorSpec) *gguf.File {
	t.Helper()
	var buf bytes.Buffer
	w, err := gguf.NewWriter(&buf, kv, specs)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Read(bytes.NewReader(buf.Bytes()), w.TotalSize(), gguf.ReadOptions{HeaderOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestPerLayerKVHeadsAndDefaults(t *testing.T) {
	f := kvFile(t, []gguf.KV{
		{Key: "general.architecture", Value: gguf.String("lfm2")},
		{Key: "lfm2.block_count", Value: gguf.Uint32(4)},
		{Key: "lfm2.embedding_length", Value: gguf.Uint32(1024)},
		{Key: "lfm2.attention.head_count", Value: gguf.Uint32(16)},
		{Key: "lfm2.attention.head_count_kv", Value: gguf.Int32s([]int32{0, 8, 0, 8})},
	}, nil)
	s, err := f.Summary()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.HeadCountKV, []int{0, 8, 0, 8}) || s.KeyLength != 64 || s.ValueLength != 64 || s.FileType != -1 {
		t.Fatalf("%+v", s)
	}
	f = kvFile(t, []gguf.KV{
		{Key: "general.architecture", Value: gguf.String("llama")},
		{Key: "llama.block_count", Value: gguf.Uint32(2)},
		{Key: "llama.attention.head_count", Value: gguf.Uint32(32)},
	}, nil)
	if s, _ = f.Summary(); !reflect.DeepEqual(s.HeadCountKV, []int{32, 32}) {
		t.Fatalf("absent head_count_kv should default to head_count: %v", s.HeadCountKV)
	}
}

func TestExpertBytes(t *testing.T) {
	f := kvFile(t, []gguf.KV{
		{Key: "general.architecture", Value: gguf.String("qwen3moe")},
		{Key: "qwen3moe.block_count", Value: gguf.Uint32(1)},
		{Key: "qwen3moe.expert_count", Value: gguf.Uint32(8)},
		{Key: "qwen3moe.expert_used_count", Value: gguf.Uint32(2)},
	}, []gguf.TensorSpec{
		{Name: "blk.0.ffn_up_exps.weight", Dims: []uint64{256, 64, 8}, Type: gguf.TypeQ4_K},
		{Name: "blk.0.attn_q.weight", Dims: []uint64{256, 256}, Type: gguf.TypeF16},
		{Name: "rope_freqs.weight", Dims: []uint64{32}, Type: gguf.TypeF32},
	})
	s, _ := f.Summary()
	if s.ExpertLayerBytes[0] != 64*8*144 || s.LayerBytes[0] != 64*8*144+256*256*2 || s.OtherBytes != 128 ||
		s.ExpertCount != 8 || s.ExpertUsedCount != 2 || s.QuantLabel != "F16" {
		t.Fatalf("%+v", s)
	}
}

func TestSlidingWindow(t *testing.T) {
	T, F := true, false
	cases := []struct {
		name   string
		arch   string
		layers int
		extra  []gguf.KV
		window int
		want   []bool
	}{
		{"gemma2 default window", "gemma2", 4, nil, 4096, []bool{T, F, T, F}},
		{"gemma3 5 of 6", "gemma3", 7, []gguf.KV{{Key: "gemma3.attention.sliding_window", Value: gguf.Uint32(512)}}, 512, []bool{T, T, T, T, T, F, T}},
		{"gemma3 without window", "gemma3", 6, nil, 0, nil},
		{"gpt-oss alternating", "gpt-oss", 3, []gguf.KV{{Key: "gpt-oss.attention.sliding_window", Value: gguf.Uint32(128)}}, 128, []bool{T, F, T}},
		{"pattern key period", "foo", 4, []gguf.KV{{Key: "foo.attention.sliding_window", Value: gguf.Uint32(64)},
			{Key: "foo.attention.sliding_window_pattern", Value: gguf.Uint32(3)}}, 64, []bool{T, T, F, T}},
		{"pattern key bools", "foo", 3, []gguf.KV{{Key: "foo.attention.sliding_window", Value: gguf.Uint32(64)},
			{Key: "foo.attention.sliding_window_pattern", Value: gguf.Bools([]bool{F, T, T})}}, 64, []bool{F, T, T}},
		{"window llama.cpp ignores", "qwen2", 2, []gguf.KV{{Key: "qwen2.attention.sliding_window", Value: gguf.Uint32(4096)}}, 0, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kv := append([]gguf.KV{
				{Key: "general.architecture", Value: gguf.String(c.arch)},
				{Key: c.arch + ".block_count", Value: gguf.Uint32(uint32(c.layers))},
			}, c.extra...)
			s, err := kvFile(t, kv, nil).Summary()
			if err != nil {
				t.Fatal(err)
			}
			if s.SlidingWindow != c.window || !reflect.DeepEqual(s.SlidingLayers, c.want) {
				t.Fatalf("window %d layers %v, want %d %v", s.SlidingWindow, s.SlidingLayers, c.window, c.want)
			}
		})
	}
}

func TestSplitNames(t *testing.T) {
	if got := gguf.SplitName("dir/M-Q4_K_M", 2, 3); got != "dir/M-Q4_K_M-00002-of-00003.gguf" {
		t.Fatal(got)
	}
	p, i, n, ok := gguf.ParseSplit("Q8_0/Model-Q8_0-00001-of-00002.gguf")
	if !ok || p != "Q8_0/Model-Q8_0" || i != 1 || n != 2 {
		t.Fatal(p, i, n, ok)
	}
	for _, bad := range []string{"m.gguf", "m-00003-of-00002.gguf", "m-00000-of-00002.gguf", "m-1-of-2.gguf"} {
		if _, _, _, ok := gguf.ParseSplit(bad); ok {
			t.Fatalf("%s parsed as a shard", bad)
		}
	}
	groups := gguf.GroupSplits([]string{"b-00002-of-00002.gguf", "a.gguf", "b-00001-of-00002.gguf", "c-00001-of-00003.gguf"})
	want := []gguf.SplitGroup{
		{Prefix: "a.gguf", Files: []string{"a.gguf"}, Count: 1, Complete: true},
		{Prefix: "b", Files: []string{"b-00001-of-00002.gguf", "b-00002-of-00002.gguf"}, Count: 2, Complete: true},
		{Prefix: "c", Files: []string{"c-00001-of-00003.gguf"}, Count: 3, Complete: false},
	}
	if !reflect.DeepEqual(groups, want) {
		t.Fatalf("%+v", groups)
	}
}

func TestTypeTable(t *testing.T) {
	for _, c := range []struct {
		t      gguf.GGMLType
		id     uint32
		bs, ts uint64
	}{{gguf.TypeQ4_K, 12, 256, 144}, {gguf.TypeQ8_0, 8, 32, 34}, {gguf.TypeIQ4_XS, 23, 256, 136},
		{gguf.TypeBF16, 30, 1, 2}, {gguf.TypeTQ1_0, 34, 256, 54}, {gguf.TypeMXFP4, 39, 32, 17}, {gguf.TypeQ6_K, 14, 256, 210}} {
		bs, ts, ok := gguf.TypeTraits(c.t)
		if uint32(c.t) != c.id || !ok || bs != c.bs || ts != c.ts {
			t.Errorf("%s: id %d traits %d/%d", c.t, uint32(c.t), bs, ts)
		}
	}
	if gguf.FileTypeName(15) != "Q4_K_M" || gguf.FileTypeName(38) != "MXFP4_MOE" || gguf.FileTypeName(1024+7) != "Q8_0" || gguf.FileTypeName(5) != "" {
		t.Error("FileTypeName")
	}
}

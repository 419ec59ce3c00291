package synth

import (
	"bufio"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/fitbench/fitbench/internal/gguf"
)

// Write generates the model described by spec into dir and returns the file
// paths in shard order: dir/baseName.gguf, or with spec.Shards > 1 the
// llama.cpp-style dir/baseName-0000i-of-0000N.gguf. Shard 1 carries all metadata
// (as gguf-split does); every shard carries split.no, split.count and
// split.tensors.count, and all tensors of one block live in one shard.
func Write(dir, baseName string, spec Spec) ([]string, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	s := spec.withDefaults()
	baseName = strings.TrimSuffix(baseName, ".gguf")
	parts := s.partition()
	var paths []string
	for i, ts := range parts {
		path := filepath.Join(dir, baseName+".gguf")
		var kv []gguf.KV
		if i == 0 {
			kv = s.metadata()
		}
		if len(parts) > 1 {
			path = gguf.SplitName(filepath.Join(dir, baseName), i+1, len(parts))
			kv = append(kv,
				gguf.KV{Key: gguf.KeySplitNo, Value: gguf.Uint16(uint16(i))},
				gguf.KV{Key: gguf.KeySplitCount, Value: gguf.Uint16(uint16(len(parts)))},
				gguf.KV{Key: gguf.KeySplitTensor, Value: gguf.Int32(int32(len(s.tensors())))})
		}
		if err := s.writeFile(path, kv, ts); err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// partition spreads the units (token_embd, each block, the output tensors) over
// the shards as evenly as their count allows.
func (s Spec) partition() [][]tensorDef {
	units := s.Layers + 2
	unitOf := func(t tensorDef) int {
		switch t.layer {
		case -1:
			return 0
		case -2:
			return units - 1
		}
		return t.layer + 1
	}
	parts := make([][]tensorDef, s.Shards)
	for _, t := range s.tensors() {
		k := unitOf(t) * s.Shards / units
		parts[k] = append(parts[k], t)
	}
	return parts
}

func (s Spec) writeFile(path string, kv []gguf.KV, ts []tensorDef) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	specs := make([]gguf.TensorSpec, len(ts))
	for i, t := range ts {
		specs[i] = t.TensorSpec
	}
	bw := bufio.NewWriterSize(f, 4<<20)
	w, err := gguf.NewWriter(bw, kv, specs)
	if err != nil {
		return err
	}
	if s.HeaderOnly {
		if err := w.Flush(); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		return f.Truncate(w.TotalSize()) // a hole: full size, no blocks on disk
	}
	var buf []byte
	for _, t := range ts {
		rng := rand.New(rand.NewPCG(s.Seed, nameHash(t.Name)))
		row := make([]float32, t.Dims[0])
		rows := t.Bytes() / rowBytes(t.TensorSpec)
		for r := uint64(0); r < rows; r++ {
			for j := range row {
				switch t.kind {
				case kindNorm:
					row[j] = 1
				case kindBias:
					row[j] = 0
				case kindConst:
					row[j] = t.val
				default:
					row[j] = float32(rng.NormFloat64() * 0.02)
				}
			}
			if buf, err = encode(buf[:0], t.Type, row); err != nil {
				return err
			}
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

func rowBytes(t gguf.TensorSpec) uint64 {
	return gguf.TensorSpec{Dims: t.Dims[:1], Type: t.Type}.Bytes()
}

func nameHash(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

func encode(dst []byte, t gguf.GGMLType, row []float32) ([]byte, error) {
	switch t {
	case gguf.TypeF32:
		return encodeF32(dst, row), nil
	case gguf.TypeF16:
		return encodeF16(dst, row), nil
	case gguf.TypeQ8_0:
		return encodeQ8_0(dst, row), nil
	case gguf.TypeQ4_0:
		return encodeQ4_0(dst, row), nil
	case gguf.TypeMXFP4:
		return encodeMXFP4(dst, row), nil
	}
	return dst, fmt.Errorf("synth: no encoder for %s", t)
}

package gguf

import (
	"fmt"
	"strconv"
	"strings"
)

// Summary derives the model facts estimators need from this file alone. For a
// shard of a split model use MergeSummaries instead.
func (f *File) Summary() (Summary, error) {
	return summarize(f, f.Tensors, 1)
}

// MergeSummaries summarizes a split model: metadata from the first shard
// (split.no 0, or files[0] when no shard says so), tensors from all shards. It
// checks split.count against the number of files given.
func MergeSummaries(files []*File) (Summary, error) {
	if len(files) == 0 {
		return Summary{}, fmt.Errorf("%w: no shards given", ErrSplit)
	}
	first := files[0]
	seen := map[uint64]bool{}
	var tensors []TensorInfo
	for i, f := range files {
		if n, ok := f.GetUint("split.count"); ok && n != uint64(len(files)) {
			return Summary{}, fmt.Errorf("%w: shard %d says split.count=%d but %d shards were given", ErrSplit, i, n, len(files))
		}
		if no, ok := f.GetUint("split.no"); ok {
			if seen[no] || no >= uint64(len(files)) {
				return Summary{}, fmt.Errorf("%w: split.no=%d appears twice or is out of range", ErrSplit, no)
			}
			seen[no] = true
			if no == 0 {
				first = f
			}
		}
		tensors = append(tensors, f.Tensors...)
	}
	return summarize(first, tensors, len(files))
}

// archInt reads {arch}.suffix as an int; a per-layer array yields its maximum.
func archInt(f *File, arch, suffix string) (int, bool) {
	v, ok := f.Get(arch + "." + suffix)
	if !ok {
		return 0, false
	}
	if n, ok := v.Uint(); ok {
		return int(n), true
	}
	if xs, ok := v.Ints(); ok && len(xs) > 0 {
		m := xs[0]
		for _, x := range xs {
			m = max(m, x)
		}
		return int(m), true
	}
	return 0, false
}

func summarize(f *File, tensors []TensorInfo, shards int) (Summary, error) {
	s := Summary{FileType: -1, Shards: shards}
	s.Architecture, _ = f.GetString("general.architecture")
	s.Name, _ = f.GetString("general.name")
	arch := s.Architecture
	if ft, ok := f.GetUint("general.file_type"); ok {
		s.FileType = int(ft)
		s.QuantLabel = FileTypeName(int(ft))
	}
	s.ContextLength, _ = archInt(f, arch, "context_length")
	s.EmbeddingLength, _ = archInt(f, arch, "embedding_length")
	s.BlockCount, _ = archInt(f, arch, "block_count")
	s.FeedForwardLength, _ = archInt(f, arch, "feed_forward_length")
	s.HeadCount, _ = archInt(f, arch, "attention.head_count")
	s.ExpertCount, _ = archInt(f, arch, "expert_count")
	s.ExpertUsedCount, _ = archInt(f, arch, "expert_used_count")
	if err := headsKV(f, arch, &s); err != nil {
		return s, err
	}
	s.KeyLength, s.ValueLength = defaultHeadDim(s), defaultHeadDim(s)
	if n, ok := archInt(f, arch, "attention.key_length"); ok {
		s.KeyLength = n
	}
	if n, ok := archInt(f, arch, "attention.value_length"); ok {
		s.ValueLength = n
	}
	slidingWindow(f, arch, &s)
	archParams(f, arch, &s)
	tensorBytes(tensors, &s)
	s.VocabSize = vocabSize(f, arch, tensors)
	if s.QuantLabel == "" {
		s.QuantLabel = dominantType(tensors)
	}
	return s, nil
}

func defaultHeadDim(s Summary) int {
	if s.HeadCount == 0 {
		return 0
	}
	return s.EmbeddingLength / s.HeadCount
}

// headsKV fills HeadCountKV per block: scalar repeated, array kept; absent means
// llama.cpp's default n_head_kv = n_head.
func headsKV(f *File, arch string, s *Summary) error {
	n := s.BlockCount
	if n > 1<<16 {
		return fmt.Errorf("%w: %s.block_count is %d", ErrTooLarge, arch, n)
	}
	s.HeadCountKV = make([]int, n)
	v, ok := f.Get(arch + ".attention.head_count_kv")
	if !ok {
		for i := range s.HeadCountKV {
			s.HeadCountKV[i] = s.HeadCount
		}
		return nil
	}
	if x, ok := v.Uint(); ok {
		for i := range s.HeadCountKV {
			s.HeadCountKV[i] = int(x)
		}
		return nil
	}
	xs, ok := v.Ints()
	if !ok {
		return fmt.Errorf("%w: %s.attention.head_count_kv is %v", ErrUnknownType, arch, v)
	}
	for i := range s.HeadCountKV {
		if i < len(xs) {
			s.HeadCountKV[i] = int(xs[i])
		}
	}
	return nil
}

func vocabSize(f *File, arch string, tensors []TensorInfo) int {
	if n, ok := archInt(f, arch, "vocab_size"); ok {
		return n
	}
	if v, ok := f.Get("tokenizer.ggml.tokens"); ok && v.Type == ValArray {
		return int(v.Len)
	}
	for _, t := range tensors {
		if t.Name == "token_embd.weight" && len(t.Dims) >= 2 {
			return int(t.Dims[1])
		}
	}
	return 0
}

// layerOf returns N for "blk.N.*".
func layerOf(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, ".")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || n >= 1<<16 {
		return 0, false
	}
	return n, true
}

func tensorBytes(tensors []TensorInfo, s *Summary) {
	n := s.BlockCount
	for _, t := range tensors {
		if l, ok := layerOf(t.Name); ok && l >= n {
			n = l + 1
		}
	}
	s.LayerBytes = make([]uint64, n)
	s.GPULayerPad = make([]uint64, n)
	hasOutput := false
	for _, t := range tensors {
		b := t.Bytes()
		pad := cudaPad(t)
		s.ParamCount += t.Elems()
		s.TensorBytes += b
		switch l, isLayer := layerOf(t.Name); {
		case isLayer:
			s.LayerBytes[l] += b
			s.GPULayerPad[l] += pad
			if strings.Contains(t.Name, "_exps.") {
				if s.ExpertLayerBytes == nil {
					s.ExpertLayerBytes = make([]uint64, n)
				}
				s.ExpertLayerBytes[l] += b
			}
			if t.Type == TypeBF16 && strings.HasSuffix(t.Name, "_exps.bias") {
				s.BF16ExpertBiasBytes += b
			}
		case strings.HasPrefix(t.Name, "token_embd."):
			s.TokenEmbdBytes += b
			s.GPUTokenEmbdPad += pad
		case strings.HasPrefix(t.Name, "output.") || strings.HasPrefix(t.Name, "output_norm."):
			s.OutputBytes += b
			s.GPUOutputPad += pad
			hasOutput = hasOutput || t.Name == "output.weight"
		default:
			s.OtherBytes += b
		}
	}
	s.OutputTied = !hasOutput && len(tensors) > 0
}

// cudaPad is what a CUDA buffer allocates for t beyond t.Bytes()
// (ggml_backend_cuda_buffer_type_get_alloc_size, then the buffer's 128-byte
// alignment per tensor).
func cudaPad(t TensorInfo) uint64 {
	const rowPad, align = 512, 128 // MATRIX_ROW_PADDING, CUDA_ALIGNMENT
	b := t.Bytes()
	size := b
	if bs, ts, ok := TypeTraits(t.Type); ok && bs > 1 && len(t.Dims) > 0 && t.Dims[0]%rowPad != 0 {
		size += (rowPad - t.Dims[0]%rowPad) / bs * ts // ggml_row_size of the missing part
	}
	size = (size + align - 1) / align * align
	return size - b
}

// dominantType names the tensor type holding the most bytes among matrices.
func dominantType(tensors []TensorInfo) string {
	by := map[GGMLType]uint64{}
	for _, t := range tensors {
		if len(t.Dims) >= 2 {
			by[t.Type] += t.Bytes()
		}
	}
	best, bestB := "", uint64(0)
	for ty, b := range by {
		if b > bestB || (b == bestB && ty.String() < best) {
			best, bestB = ty.String(), b
		}
	}
	return best
}

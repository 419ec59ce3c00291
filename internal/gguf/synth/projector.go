package synth

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"

	"github.com/fitbench/fitbench/internal/gguf"
)

// ProjectorSpec is a small vision projector shaped like the mmproj files
// llama.cpp's convert_hf_to_gguf.py --mmproj writes (architecture "clip", a
// ViT encoder under v.*, an MLP projector under mm.*), read by
// tools/mtmd/clip.cpp. It exists to test that a projector travels with its
// model (install, registry, engine arguments); its weights are random.
type ProjectorSpec struct {
	Layers    int    // vision encoder blocks (clip.vision.block_count)
	Embd      int    // vision hidden size
	FF        int    // vision MLP width
	Heads     int    // vision attention heads
	ImageSize int    // input image side in pixels
	PatchSize int    // patch side in pixels
	TextEmbd  int    // the text model's hidden size (the projector's output)
	Seed      uint64 // weights' seed
}

// WriteProjector writes spec as one F32 GGUF file at path.
func WriteProjector(path string, spec ProjectorSpec) (err error) {
	p := spec
	if p.Layers <= 0 || p.Embd <= 0 || p.FF <= 0 || p.Heads <= 0 || p.Embd%p.Heads != 0 ||
		p.PatchSize <= 0 || p.ImageSize < p.PatchSize || p.ImageSize%p.PatchSize != 0 || p.TextEmbd <= 0 {
		return fmt.Errorf("synth: bad projector spec %+v", spec)
	}
	e, ff, n := uint64(p.Embd), uint64(p.FF), uint64(p.ImageSize/p.PatchSize)
	patches := n * n
	kv := []gguf.KV{
		{Key: "general.architecture", Value: gguf.String("clip")},
		{Key: "general.type", Value: gguf.String("mmproj")},
		{Key: "general.name", Value: gguf.String("fitbench synthetic projector")},
		{Key: "general.file_type", Value: gguf.Uint32(0)}, // all F32
		{Key: "clip.has_vision_encoder", Value: gguf.Bool(true)},
		{Key: "clip.projector_type", Value: gguf.String("mlp")},
		{Key: "clip.use_gelu", Value: gguf.Bool(true)},
		{Key: "clip.vision.image_size", Value: gguf.Uint32(uint32(p.ImageSize))},
		{Key: "clip.vision.patch_size", Value: gguf.Uint32(uint32(p.PatchSize))},
		{Key: "clip.vision.embedding_length", Value: gguf.Uint32(uint32(p.Embd))},
		{Key: "clip.vision.feed_forward_length", Value: gguf.Uint32(uint32(p.FF))},
		{Key: "clip.vision.projection_dim", Value: gguf.Uint32(uint32(p.TextEmbd))},
		{Key: "clip.vision.block_count", Value: gguf.Uint32(uint32(p.Layers))},
		{Key: "clip.vision.attention.head_count", Value: gguf.Uint32(uint32(p.Heads))},
		{Key: "clip.vision.attention.layer_norm_epsilon", Value: gguf.Float32(1e-6)},
		{Key: "clip.vision.image_mean", Value: gguf.Float32s([]float32{0.5, 0.5, 0.5})},
		{Key: "clip.vision.image_std", Value: gguf.Float32s([]float32{0.5, 0.5, 0.5})},
	}
	t := func(name string, dims ...uint64) gguf.TensorSpec {
		return gguf.TensorSpec{Name: name, Dims: dims, Type: gguf.TypeF32}
	}
	ts := []gguf.TensorSpec{
		t("v.patch_embd.weight", uint64(p.PatchSize), uint64(p.PatchSize), 3, e),
		t("v.patch_embd.bias", e),
		t("v.position_embd.weight", e, patches),
	}
	for i := 0; i < p.Layers; i++ {
		b := fmt.Sprintf("v.blk.%d.", i)
		for _, w := range []string{"attn_q", "attn_k", "attn_v", "attn_out"} {
			ts = append(ts, t(b+w+".weight", e, e), t(b+w+".bias", e))
		}
		ts = append(ts, t(b+"ln1.weight", e), t(b+"ln1.bias", e), t(b+"ln2.weight", e), t(b+"ln2.bias", e),
			t(b+"ffn_up.weight", e, ff), t(b+"ffn_up.bias", ff), t(b+"ffn_down.weight", ff, e), t(b+"ffn_down.bias", e))
	}
	te := uint64(p.TextEmbd)
	ts = append(ts, t("v.post_ln.weight", e), t("v.post_ln.bias", e),
		t("mm.0.weight", e, te), t("mm.0.bias", te), t("mm.2.weight", te, te), t("mm.2.bias", te))

	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	w, err := gguf.NewWriter(bw, kv, ts)
	if err != nil {
		return err
	}
	var buf []byte
	for _, s := range ts {
		rng := rand.New(rand.NewPCG(p.Seed, nameHash(s.Name)))
		x := make([]float32, s.Bytes()/4)
		for j := range x {
			x[j] = float32(rng.NormFloat64() * 0.02)
		}
		buf = encodeF32(buf[:0], x)
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

package analyze

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/hub"
)

// analyzeLocal analyses a .gguf file on disk (the first shard of a split
// model brings its siblings from the same folder).
func (a *Analyzer) analyzeLocal(ctx context.Context, path string, req Request) (*Result, error) {
	files, err := LocalShards(path)
	if err != nil {
		return nil, err
	}
	parsed := make([]*gguf.File, 0, len(files))
	var size int64
	var hf []hub.File
	for _, p := range files {
		f, err := gguf.ReadFile(p)
		if err != nil {
			return nil, err
		}
		parsed = append(parsed, f)
		size += f.Size
		hf = append(hf, hub.File{Path: p, Size: f.Size})
	}
	sum, err := gguf.MergeSummaries(parsed)
	if err == nil {
		err = sum.Validate()
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	target, assumed, err := a.target(ctx, req)
	if err != nil {
		return nil, err
	}
	v := hub.Variant{Quant: sum.QuantLabel, Files: hf, SizeBytes: size}
	l := &hub.Listing{Repo: "local", Variants: []hub.Variant{v}}
	res := a.build(ctx, req, target, assumed, sum, l, &v)
	abs, _ := filepath.Abs(files[0])
	res.LocalPath = abs
	res.ModelID = "local/" + filepath.Base(files[0])
	res.InstallID = res.ModelID
	res.ModelName = modelName(res.ModelID, sum, sum.QuantLabel)
	res.Files, res.SizeBytes, res.SizeGB = hf, size, gbOf(size)
	res.Variants[0].InstallID = res.ModelID
	nameCommand(res)
	return res, nil
}

// LocalShards returns the files of a local model: path alone, or every shard
// of its split in order when path is one shard.
func LocalShards(path string) ([]string, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	prefix, _, n, ok := gguf.ParseSplit(filepath.Base(path))
	if !ok || n <= 1 {
		return []string{path}, nil
	}
	dir := filepath.Dir(path)
	out := make([]string, 0, n)
	for i := 1; i <= n; i++ {
		p := filepath.Join(dir, gguf.SplitName(prefix, i, n))
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%w: shard %d of %d (%s) is missing next to %s", gguf.ErrSplit, i, n, filepath.Base(p), filepath.Base(path))
		}
		out = append(out, p)
	}
	return out, nil
}

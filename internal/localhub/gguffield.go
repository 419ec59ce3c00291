package localhub

import (
	"path/filepath"

	"github.com/fitbench/fitbench/internal/gguf"
)

// ggufField returns the model info "gguf" object ({total, architecture,
// context_length}) the Hub computes for GGUF repos, from the first model file
// (all its shards when it is split), or nil when that file cannot be parsed.
func ggufField(path string) map[string]any {
	paths := []string{path}
	if prefix, _, n, ok := gguf.ParseSplit(filepath.Base(path)); ok {
		paths = paths[:0]
		for i := 1; i <= n; i++ {
			paths = append(paths, filepath.Join(filepath.Dir(path), filepath.Base(gguf.SplitName(prefix, i, n))))
		}
	}
	var files []*gguf.File
	for _, p := range paths {
		f, err := gguf.ReadFile(p)
		if err != nil {
			return nil
		}
		files = append(files, f)
	}
	s, err := gguf.MergeSummaries(files)
	if err != nil {
		return nil
	}
	return map[string]any{"total": s.ParamCount, "architecture": s.Architecture, "context_length": s.ContextLength}
}

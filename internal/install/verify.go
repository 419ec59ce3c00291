package install

import (
	"context"
	"fmt"
	"os"

	"github.com/fitbench/fitbench/internal/registry"
)

// FileProblem says how an installed file differs from what the registry
// recorded when it was verified.
type FileProblem struct {
	Path    string `json:"path"`
	Problem string `json:"problem"`
}

// CheckFiles compares a model's files on disk with the registry: present,
// regular, the recorded size, and with hash the recorded sha256 (a full
// read). A status of "installed" meant only "the size was right", so a file
// corrupted in place went unnoticed (issue 14.6).
func CheckFiles(ctx context.Context, m *registry.Model, hash bool) ([]FileProblem, error) {
	var out []FileProblem
	for _, f := range withProjector(m) { // the projector is checked like a shard
		st, err := os.Stat(f.Path)
		switch {
		case err != nil:
			out = append(out, FileProblem{f.Path, "missing"})
			continue
		case !st.Mode().IsRegular():
			out = append(out, FileProblem{f.Path, "not a regular file"})
			continue
		case st.Size() != f.SizeBytes:
			out = append(out, FileProblem{f.Path, fmt.Sprintf("%d bytes on disk, %d recorded", st.Size(), f.SizeBytes)})
			continue
		}
		if !hash || f.SHA256 == "" {
			continue
		}
		sum, err := HashFile(ctx, f.Path)
		if err != nil {
			return out, err
		}
		if sum != f.SHA256 {
			out = append(out, FileProblem{f.Path, fmt.Sprintf("sha256 %s on disk, %s recorded", sum, f.SHA256)})
		}
	}
	return out, nil
}

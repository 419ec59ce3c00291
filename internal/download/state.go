package download

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

const stateVersion = 1

// chunk is a byte range [Start, End) of which the first done bytes are on disk.
type chunk struct {
	Start, End int64
	done       atomic.Int64
}

func (c *chunk) remaining() int64 { return c.End - c.Start - c.done.Load() }

// stateFile is the JSON kept in DEST.partial.json.
type stateFile struct {
	Version   int          `json:"version"`
	Size      int64        `json:"size"`
	SHA256    string       `json:"sha256"`
	Commit    string       `json:"commit"`
	ChunkSize int64        `json:"chunk_size"`
	Chunks    []chunkState `json:"chunks"`
	UpdatedAt time.Time    `json:"updated_at"`
}

type chunkState struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	Done  int64 `json:"done"`
}

func partialPath(dest string) string { return dest + ".partial" }
func statePath(dest string) string   { return dest + ".partial.json" }
func lockPath(dest string) string    { return dest + ".partial.lock" }

// loadState returns the chunks recorded for spec, or nil when there is no
// usable state (absent, unreadable, for another file version, or the
// partial data file is missing or has the wrong size).
func loadState(spec FileSpec) []*chunk {
	b, err := os.ReadFile(statePath(spec.Dest))
	if err != nil {
		return nil
	}
	var st stateFile
	if json.Unmarshal(b, &st) != nil || st.Version != stateVersion || st.Size != spec.Size ||
		st.SHA256 != spec.SHA256 || (st.Commit != "" && spec.Commit != "" && st.Commit != spec.Commit) {
		return nil
	}
	if fi, err := os.Stat(partialPath(spec.Dest)); err != nil || fi.Size() != spec.Size {
		return nil
	}
	var next int64
	chunks := make([]*chunk, 0, len(st.Chunks))
	for _, cs := range st.Chunks {
		if cs.Start != next || cs.End <= cs.Start || cs.Done < 0 || cs.Done > cs.End-cs.Start {
			return nil // not a tiling of the file: do not trust any of it
		}
		c := &chunk{Start: cs.Start, End: cs.End}
		c.done.Store(cs.Done)
		chunks = append(chunks, c)
		next = cs.End
	}
	if next != spec.Size {
		return nil
	}
	return chunks
}

func newChunks(size, chunkSize int64) []*chunk {
	var out []*chunk
	for s := int64(0); s < size; s += chunkSize {
		out = append(out, &chunk{Start: s, End: min(size, s+chunkSize)})
	}
	return out
}

// saveState syncs the data file, then atomically replaces the state file.
// The done counters are read before the sync, so the state never claims
// bytes that are not yet durable.
func saveState(f *os.File, spec FileSpec, chunks []*chunk) error {
	st := stateFile{Version: stateVersion, Size: spec.Size, SHA256: spec.SHA256, Commit: spec.Commit,
		UpdatedAt: time.Now().UTC()}
	for _, c := range chunks {
		st.Chunks = append(st.Chunks, chunkState{Start: c.Start, End: c.End, Done: c.done.Load()})
	}
	if len(chunks) > 0 {
		st.ChunkSize = chunks[0].End - chunks[0].Start
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("download: sync %s: %w", f.Name(), err)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return writeAtomic(statePath(spec.Dest), b)
}

func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("download: write state: %w", err)
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("download: write state %s: %w", path, err)
	}
	return nil
}

func removePartial(dest string) {
	os.Remove(partialPath(dest))
	os.Remove(statePath(dest))
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

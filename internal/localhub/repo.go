package localhub

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// lfsThreshold mirrors the Hub: files this large (and every .gguf) live in LFS and
// are served through the CDN; smaller ones answer the resolve request directly.
const lfsThreshold = 10 << 20

// repoFile is one regular file of a repo as the Hub would list it.
type repoFile struct {
	Path  string // slash-separated, repo-relative
	Size  int64
	MTime time.Time
	abs   string
}

func (f repoFile) isLFS() bool {
	return strings.HasSuffix(strings.ToLower(f.Path), ".gguf") || f.Size >= lfsThreshold
}

// repo is a snapshot of DIR/{org}/{repo} taken per request, so edits on disk show
// up immediately (and change the commit sha, as a push would).
type repo struct {
	ID      string // org/name
	Dir     string
	Files   []repoFile // sorted by path
	Commit  string
	Gated   string // "", "auto" or "manual"
	Private bool
}

// validName accepts the characters the Hub allows in org and repo names; it also
// keeps "..", "." and anything with a separator out of filesystem paths.
func validName(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 96 || strings.HasPrefix(s, ".") {
		return false
	}
	for _, c := range s {
		ok := c == '-' || c == '_' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		if !ok {
			return false
		}
	}
	return true
}

// cleanRel validates a repo-relative file path: no absolute paths, no "..", no
// hidden segments (marker files are not part of the repo), no NUL bytes.
func cleanRel(p string) (string, bool) {
	if p == "" || strings.ContainsRune(p, 0) || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") {
		return "", false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.HasPrefix(seg, ".") {
			return "", false
		}
	}
	return path.Clean(p), true
}

// loadRepo scans a repo directory. It returns (nil, nil) when the repo does not exist.
func (h *Hub) loadRepo(org, name string) (*repo, error) {
	if !validName(org) || !validName(name) {
		return nil, nil
	}
	dir := filepath.Join(h.opts.Root, org, name)
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return nil, nil
	}
	rp := &repo{ID: org + "/" + name, Dir: dir}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil // directories are implied; symlinks are never followed
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rp.Files = append(rp.Files, repoFile{Path: filepath.ToSlash(rel), Size: info.Size(), MTime: info.ModTime(), abs: p})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("localhub: scan %s: %w", rp.ID, err)
	}
	sort.Slice(rp.Files, func(i, j int) bool { return rp.Files[i].Path < rp.Files[j].Path })
	if b, err := os.ReadFile(filepath.Join(dir, ".gated")); err == nil {
		rp.Gated = "auto"
		if strings.TrimSpace(string(b)) == "manual" {
			rp.Gated = "manual"
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".private")); err == nil {
		rp.Private = true
	}
	if b, err := os.ReadFile(filepath.Join(dir, ".commit")); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		rp.Commit = strings.TrimSpace(string(b))
	} else {
		hs := sha1.New()
		for _, f := range rp.Files {
			fmt.Fprintf(hs, "%s\x00%d\x00%d\n", f.Path, f.Size, f.MTime.UnixNano())
		}
		rp.Commit = hex.EncodeToString(hs.Sum(nil))
	}
	return rp, nil
}

// file finds a file by repo-relative path.
func (rp *repo) file(p string) (repoFile, bool) {
	i := sort.Search(len(rp.Files), func(i int) bool { return rp.Files[i].Path >= p })
	if i < len(rp.Files) && rp.Files[i].Path == p {
		return rp.Files[i], true
	}
	return repoFile{}, false
}

// shaCache computes each file's sha256 (and git blob sha1) once per
// (path, size, mtime); hashing a multi-GB file on every request would dominate.
type shaCache struct {
	mu sync.Mutex
	m  map[string]*shaEntry
}

type shaEntry struct {
	once   sync.Once
	sha256 string
	gitSHA string
	err    error
}

func newSHACache() *shaCache { return &shaCache{m: map[string]*shaEntry{}} }

func (c *shaCache) get(f repoFile) (sha256Hex, gitSHA1 string, err error) {
	key := fmt.Sprintf("%s\x00%d\x00%d", f.abs, f.Size, f.MTime.UnixNano())
	c.mu.Lock()
	e := c.m[key]
	if e == nil {
		e = &shaEntry{}
		c.m[key] = e
	}
	c.mu.Unlock()
	e.once.Do(func() {
		fh, err := os.Open(f.abs)
		if err != nil {
			e.err = err
			return
		}
		defer fh.Close()
		// The git blob sha1 is only needed for small (non-LFS) files; skipping it
		// for big ones halves the hashing time.
		s2 := sha256.New()
		var w io.Writer = s2
		g1 := sha1.New()
		if f.Size < lfsThreshold {
			fmt.Fprintf(g1, "blob %d\x00", f.Size)
			w = io.MultiWriter(s2, g1)
		}
		if _, err := io.Copy(w, fh); err != nil {
			e.err = err
			return
		}
		e.sha256 = hex.EncodeToString(s2.Sum(nil))
		e.gitSHA = hex.EncodeToString(g1.Sum(nil))
	})
	return e.sha256, e.gitSHA, e.err
}

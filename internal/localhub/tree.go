package localhub

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

type treeLFS struct {
	OID         string `json:"oid"`
	Size        int64  `json:"size"`
	PointerSize int    `json:"pointerSize"`
}

type treeEntry struct {
	Type string   `json:"type"`
	OID  string   `json:"oid"`
	Size int64    `json:"size"`
	Path string   `json:"path"`
	LFS  *treeLFS `json:"lfs,omitempty"`
}

// lfsPointer is the text git stores in place of an LFS file; its git sha1 is the
// tree entry's oid on the Hub.
func lfsPointer(sha string, size int64) string {
	return fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", sha, size)
}

func gitBlobSHA1(b []byte) string {
	hs := sha1.New()
	fmt.Fprintf(hs, "blob %d\x00", len(b))
	hs.Write(b)
	return hex.EncodeToString(hs.Sum(nil))
}

// tree answers GET /api/models/{repo}/tree/{rev}[/{path}][?recursive=true],
// paged with a Link rel="next" header carrying an opaque cursor.
func (h *Hub) tree(w http.ResponseWriter, r *http.Request, rp *repo, rev, sub string) {
	q := r.URL.Query()
	recursive := q.Get("recursive") == "true" || q.Get("recursive") == "1"
	prefix := ""
	if sub != "" {
		clean, ok := cleanRel(sub)
		if !ok {
			writeError(w, http.StatusNotFound, "EntryNotFound", "Entry not found")
			return
		}
		prefix = clean + "/"
	}
	// Collect files and implied directories under prefix.
	dirs := map[string]bool{}
	var entries []treeEntry
	for _, f := range rp.Files {
		if !strings.HasPrefix(f.Path, prefix) {
			continue
		}
		rel := f.Path[len(prefix):]
		parts := strings.Split(rel, "/")
		for i := 1; i < len(parts); i++ {
			if !recursive && i > 1 {
				break
			}
			dirs[prefix+strings.Join(parts[:i], "/")] = true
		}
		if !recursive && len(parts) > 1 {
			continue
		}
		e := treeEntry{Type: "file", Size: f.Size, Path: f.Path}
		sha, git, err := h.shas.get(f)
		if err != nil {
			h.count(Count5xx, 1)
			writeError(w, http.StatusInternalServerError, "", "Internal Error")
			return
		}
		if f.isLFS() {
			ptr := lfsPointer(sha, f.Size)
			e.OID = gitBlobSHA1([]byte(ptr))
			e.LFS = &treeLFS{OID: sha, Size: f.Size, PointerSize: len(ptr)}
		} else {
			e.OID = git
		}
		entries = append(entries, e)
	}
	if prefix != "" && len(entries) == 0 && len(dirs) == 0 {
		writeError(w, http.StatusNotFound, "EntryNotFound", fmt.Sprintf("%s does not exist on %q", sub, rev))
		return
	}
	for d := range dirs {
		entries = append(entries, treeEntry{Type: "directory", OID: gitBlobSHA1([]byte(d)), Path: d})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Path < entries[j].Path })

	start := 0
	if c := q.Get("cursor"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 || n > len(entries) {
			writeError(w, http.StatusBadRequest, "", "invalid cursor")
			return
		}
		start = n
	}
	end := min(start+h.opts.PageSize, len(entries))
	if end < len(entries) {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("cursor", strconv.Itoa(end))
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: next.Encode()}
		w.Header().Set("Link", "<"+u.String()+`>; rel="next"`)
	}
	page := entries[start:end]
	if page == nil {
		page = []treeEntry{}
	}
	writeJSON(w, http.StatusOK, page)
}

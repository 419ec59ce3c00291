package localhub

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// serveAPI routes by hand: the Hub's URL space ("/api/models/{org}/{repo}/…" beside
// "/{org}/{repo}/resolve/…") has patterns that overlap for ServeMux.
func (h *Hub) serveAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, http.StatusMethodNotAllowed, "", "method not allowed")
		return
	}
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(segs) >= 4 && segs[0] == "api" && segs[1] == "models":
		org, name, rest := segs[2], segs[3], segs[4:]
		switch {
		case len(rest) == 0:
			h.count(CountModelInfo, 1)
			h.withRepo(w, r, org, name, "main", false, h.modelInfo)
		case len(rest) == 2 && rest[0] == "revision":
			h.count(CountModelInfo, 1)
			h.withRepo(w, r, org, name, rest[1], false, h.modelInfo)
		case len(rest) >= 2 && rest[0] == "tree":
			h.count(CountTree, 1)
			sub := strings.Join(rest[2:], "/")
			h.withRepo(w, r, org, name, rest[1], false, func(w http.ResponseWriter, r *http.Request, rp *repo) {
				h.tree(w, r, rp, rest[1], sub)
			})
		case len(rest) == 1 && rest[0] == "refs":
			h.count(CountRefs, 1)
			h.withRepo(w, r, org, name, "main", false, h.refs)
		default:
			writeError(w, http.StatusNotFound, "", "Not Found")
		}
	case len(segs) >= 5 && segs[2] == "resolve":
		if r.Method == http.MethodHead {
			h.count(CountResolveHead, 1)
		} else {
			h.count(CountResolveGet, 1)
		}
		file := strings.Join(segs[4:], "/")
		h.withRepo(w, r, segs[0], segs[1], segs[3], true, func(w http.ResponseWriter, r *http.Request, rp *repo) {
			h.resolve(w, r, rp, file)
		})
	default:
		writeError(w, http.StatusNotFound, "", "Not Found")
	}
}

// withRepo applies injected status faults, loads the repo, checks access and the
// revision, then calls fn. Gating applies to file access only, as on the Hub
// (anyone may read a gated repo's metadata and file list).
func (h *Hub) withRepo(w http.ResponseWriter, r *http.Request, org, name, rev string, fileAccess bool,
	fn func(http.ResponseWriter, *http.Request, *repo)) {
	if h.answerStatusFault(w, r, h.faults.take(r.URL.Path, "429", "500", "hang")) {
		return
	}
	rp, err := h.loadRepo(org, name)
	if err != nil {
		h.count(Count5xx, 1)
		writeError(w, http.StatusInternalServerError, "", "Internal Error")
		return
	}
	token, hasToken := bearer(r)
	valid := hasToken && slices.Contains(h.opts.Tokens, token)
	if hasToken && !valid && h.opts.RejectInvalidTokens {
		writeError(w, http.StatusUnauthorized, "", "Invalid credentials in Authorization header")
		return
	}
	if rp == nil || (rp.Private && !valid) {
		status := http.StatusUnauthorized
		if hasToken {
			status = http.StatusNotFound
		}
		writeError(w, status, "RepoNotFound", "Repository Not Found for url: "+r.URL.Path+
			". Please make sure you specified the correct `repo_id` and `repo_type`. If you are trying to access a private or gated repo, make sure you are authenticated.")
		return
	}
	if fileAccess && rp.Gated != "" && !valid {
		if !hasToken {
			writeError(w, http.StatusUnauthorized, "GatedRepo", "Access to model "+rp.ID+
				" is restricted. You must have access to it and be authenticated to access it. Please log in.")
		} else {
			writeError(w, http.StatusForbidden, "GatedRepo", "Access to model "+rp.ID+
				" is restricted and you are not in the authorized list. Visit "+h.URL()+"/"+rp.ID+" to ask for access.")
		}
		return
	}
	if rev != "main" && rev != rp.Commit {
		writeError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return
	}
	fn(w, r, rp)
}

func bearer(r *http.Request) (string, bool) {
	a := r.Header.Get("Authorization")
	if t, ok := strings.CutPrefix(a, "Bearer "); ok && t != "" {
		return t, true
	}
	return "", false
}

// writeError answers the way the Hub does: X-Error-Code / X-Error-Message headers
// and a JSON body {"error": msg}.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	if code != "" {
		w.Header().Set("X-Error-Code", code)
	}
	w.Header().Set("X-Error-Message", msg)
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type lfsInfo struct {
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
	PointerSize int    `json:"pointerSize"`
}

type sibling struct {
	RFilename string   `json:"rfilename"`
	Size      *int64   `json:"size,omitempty"`
	BlobID    string   `json:"blobId,omitempty"`
	LFS       *lfsInfo `json:"lfs,omitempty"`
}

// modelInfo answers GET /api/models/{repo}[/revision/{rev}] (siblings' sizes and
// lfs only with ?blobs=true, as on the Hub).
func (h *Hub) modelInfo(w http.ResponseWriter, r *http.Request, rp *repo) {
	blobs := r.URL.Query().Get("blobs") == "true" || r.URL.Query().Get("blobs") == "1"
	sibs := make([]sibling, 0, len(rp.Files))
	firstGGUF := ""
	for _, f := range rp.Files {
		s := sibling{RFilename: f.Path}
		if firstGGUF == "" && isModelGGUF(f.Path) {
			firstGGUF = f.abs
		}
		if blobs {
			size := f.Size
			s.Size = &size
			sha, git, err := h.shas.get(f)
			if err != nil {
				h.count(Count5xx, 1)
				writeError(w, http.StatusInternalServerError, "", "Internal Error")
				return
			}
			if f.isLFS() {
				s.LFS = &lfsInfo{SHA256: sha, Size: f.Size, PointerSize: len(lfsPointer(sha, f.Size))}
				s.BlobID = gitBlobSHA1([]byte(lfsPointer(sha, f.Size)))
			} else {
				s.BlobID = git
			}
		}
		sibs = append(sibs, s)
	}
	var gated any = false
	if rp.Gated != "" {
		gated = rp.Gated
	}
	lastMod := ""
	for _, f := range rp.Files {
		if t := f.MTime.UTC().Format("2006-01-02T15:04:05.000Z"); t > lastMod {
			lastMod = t
		}
	}
	info := map[string]any{
		"_id": rp.Commit[:24], "id": rp.ID, "modelId": rp.ID, "sha": rp.Commit,
		"private": rp.Private, "gated": gated, "disabled": false,
		"tags": []string{"gguf"}, "library_name": "gguf", "lastModified": lastMod,
		"siblings": sibs,
	}
	if firstGGUF != "" {
		if g := ggufField(firstGGUF); g != nil {
			info["gguf"] = g
		}
	}
	writeJSON(w, http.StatusOK, info)
}

func (h *Hub) refs(w http.ResponseWriter, r *http.Request, rp *repo) {
	writeJSON(w, http.StatusOK, map[string]any{
		"branches": []map[string]string{{"name": "main", "ref": "refs/heads/main", "targetCommit": rp.Commit}},
		"converts": []any{},
		"tags":     []any{},
	})
}

// isModelGGUF is true for a .gguf file that is a model (not a projector or imatrix).
func isModelGGUF(p string) bool {
	base := strings.ToLower(p[strings.LastIndex(p, "/")+1:])
	return strings.HasSuffix(base, ".gguf") && !strings.HasPrefix(base, "mmproj") && !strings.Contains(base, "imatrix")
}

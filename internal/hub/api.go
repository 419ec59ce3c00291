package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ModelInfo is the part of GET /api/models/{repo} fitbench uses.
type ModelInfo struct {
	ID       string    `json:"id"`
	SHA      string    `json:"sha"` // commit of the revision asked for
	Private  bool      `json:"private"`
	Gated    GatedMode `json:"gated"`
	Disabled bool      `json:"disabled"`
	Tags     []string  `json:"tags"`
	Siblings []Sibling `json:"siblings"`
	GGUF     *GGUFInfo `json:"gguf,omitempty"`
}

// GatedMode is "" (not gated), "auto" or "manual"; the Hub sends false or a string.
type GatedMode string

func (g *GatedMode) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*g = GatedMode(s)
		return nil
	}
	*g = ""
	return nil
}

// Sibling is one file of the repo (size and LFS only when listed with blobs).
type Sibling struct {
	RFilename string `json:"rfilename"`
	Size      int64  `json:"size,omitempty"`
	LFS       *struct {
		SHA256      string `json:"sha256"`
		Size        int64  `json:"size"`
		PointerSize int    `json:"pointerSize"`
	} `json:"lfs,omitempty"`
}

// GGUFInfo is the Hub's own summary of a GGUF repo's first model file.
type GGUFInfo struct {
	Total         int64  `json:"total"`
	Architecture  string `json:"architecture"`
	ContextLength int    `json:"context_length"`
}

// TreeEntry is one item of the tree listing.
type TreeEntry struct {
	Type string `json:"type"` // "file" or "directory"
	Path string `json:"path"`
	Size int64  `json:"size"`
	OID  string `json:"oid"`
	LFS  *struct {
		OID  string `json:"oid"` // sha256 of the content
		Size int64  `json:"size"`
	} `json:"lfs,omitempty"`
}

// Refs lists branches and tags with their commits.
type Refs struct {
	Branches []Ref `json:"branches"`
	Tags     []Ref `json:"tags"`
}

// Ref is one branch or tag.
type Ref struct {
	Name         string `json:"name"`
	Ref          string `json:"ref"`
	TargetCommit string `json:"targetCommit"`
}

// Resolved is where a file's bytes can be fetched right now. URL may be a
// signed, expiring CDN URL: resolve again before resuming a download.
type Resolved struct {
	URL    string
	Commit string
	SHA256 string // from X-Linked-Etag; "" for small non-LFS files
	Size   int64
}

// ModelInfo fetches model info (with file sizes and LFS hashes) at rev ("" = main).
func (c *Client) ModelInfo(ctx context.Context, repo, rev string) (*ModelInfo, error) {
	if err := checkRepo(repo); err != nil {
		return nil, err
	}
	u := c.cfg.Endpoint + "/api/models/" + repo
	if rev != "" && rev != "main" {
		u += "/revision/" + url.PathEscape(rev)
	}
	var mi ModelInfo
	if err := c.getJSON(ctx, u+"?blobs=true", repo, rev, "", &mi, nil); err != nil {
		return nil, err
	}
	return &mi, nil
}

// Tree lists every file and directory under dir ("" = root) at rev, following
// the Link rel="next" pages.
func (c *Client) Tree(ctx context.Context, repo, rev, dir string) ([]TreeEntry, error) {
	if err := checkRepo(repo); err != nil {
		return nil, err
	}
	rev = defaultRev(rev)
	u := c.cfg.Endpoint + "/api/models/" + repo + "/tree/" + url.PathEscape(rev)
	if dir != "" {
		u += "/" + escapePath(dir)
	}
	u += "?recursive=true"
	var all []TreeEntry
	for pages := 0; u != ""; pages++ {
		if pages > 100000 {
			return nil, &Error{Kind: BadResponse, Msg: "the Hub's tree listing does not end"}
		}
		var next string
		var err error
		if all, next, err = c.treePage(ctx, u, repo, rev, all); err != nil {
			return nil, err
		}
		u = next
	}
	return all, nil
}

// DefaultMaxTreeEntries bounds a repo listing (Config.MaxTreeEntries). The
// largest GGUF repos list a few hundred files; a hostile listing of 1,000,000
// entries cost 560 MB when decoded whole (issue 14.5).
const DefaultMaxTreeEntries = 100_000

// treePage decodes one page of a tree listing entry by entry onto all, so a
// listing past Config.MaxTreeEntries stops there instead of being held in memory.
func (c *Client) treePage(ctx context.Context, u, repo, rev string, all []TreeEntry) ([]TreeEntry, string, error) {
	resp, err := c.request(ctx, http.MethodGet, u, http.Header{"Accept": {"application/json"}}, true)
	if err != nil {
		return all, "", err
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return all, "", c.errorFromResponse(resp, repo, rev, "")
	}
	bad := func(err error) error {
		if ne := c.netErr(resp.Request.URL.Host, err); ne != nil {
			return ne
		}
		return &Error{Kind: BadResponse, Status: resp.StatusCode, Msg: "the Hub sent a file listing fitbench cannot read", Err: err}
	}
	dec := json.NewDecoder(io.LimitReader(resp.Body, 256<<20))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		if err == nil {
			err = fmt.Errorf("expected a JSON array, got %v", tok)
		}
		return all, "", bad(err)
	}
	for dec.More() {
		if max := c.cfg.MaxTreeEntries; len(all) >= max {
			return all, "", &Error{Kind: BadResponse,
				Msg:  fmt.Sprintf("%s lists more than %d files; no model repo has that many, so fitbench stops reading", repo, max),
				Hint: "check the repo id"}
		}
		var e TreeEntry
		if err := dec.Decode(&e); err != nil {
			return all, "", bad(err)
		}
		all = append(all, e)
	}
	if _, err := dec.Token(); err != nil {
		return all, "", bad(err)
	}
	return all, nextLink(resp.Header.Values("Link"), resp.Request.URL), nil
}

// Refs lists the repo's branches and tags.
func (c *Client) Refs(ctx context.Context, repo string) (*Refs, error) {
	if err := checkRepo(repo); err != nil {
		return nil, err
	}
	var r Refs
	if err := c.getJSON(ctx, c.cfg.Endpoint+"/api/models/"+repo+"/refs", repo, "", "", &r, nil); err != nil {
		return nil, err
	}
	return &r, nil
}

// Resolve asks the Hub where file path of repo at rev lives, with one HEAD:
// same-host redirects (renames) are followed, the cross-host one (the CDN) is
// not — its Location is the answer, and its host becomes allowed.
func (c *Client) Resolve(ctx context.Context, repo, rev, path string) (*Resolved, error) {
	if err := checkRepo(repo); err != nil {
		return nil, err
	}
	rev = defaultRev(rev)
	if !validPath(path) {
		return nil, &Error{Kind: EntryNotFound, Msg: fmt.Sprintf("%q is not a valid file path", path)}
	}
	u := c.cfg.Endpoint + "/" + repo + "/resolve/" + url.PathEscape(rev) + "/" + escapePath(path)
	resp, err := c.request(ctx, http.MethodHead, u, nil, false)
	if err != nil {
		return nil, err
	}
	defer drain(resp)
	r := &Resolved{Commit: resp.Header.Get("X-Repo-Commit")}
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if err != nil {
			return nil, &Error{Kind: BadResponse, Status: resp.StatusCode, Msg: "the Hub sent an invalid redirect"}
		}
		r.URL = loc.String()
	case resp.StatusCode == http.StatusOK:
		r.URL = resp.Request.URL.String()
		r.Size = resp.ContentLength
	default:
		return nil, c.errorFromResponse(resp, repo, rev, path)
	}
	if s := resp.Header.Get("X-Linked-Size"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			r.Size = n
		}
	}
	etag := resp.Header.Get("X-Linked-Etag")
	if etag == "" {
		etag = resp.Header.Get("ETag")
	}
	if e := strings.Trim(strings.TrimPrefix(etag, "W/"), `"`); isHex(e, 64) {
		r.SHA256 = e
	}
	return r, nil
}

// Get fetches bytes [start, end] (inclusive; end < 0 = to the end; start 0 and
// end < 0 = no Range header) from a resolved URL, with the package's retry,
// SSRF and auth-dropping rules. It returns 200 or 206 responses (a server may
// ignore Range and answer 200: the caller must check); any other status is a
// *Error (Kind Expired for a CDN 403: resolve again).
func (c *Client) Get(ctx context.Context, rawURL string, start, end int64) (*http.Response, error) {
	hdr := http.Header{}
	if start > 0 || end >= 0 {
		r := "bytes=" + strconv.FormatInt(start, 10) + "-"
		if end >= 0 {
			r += strconv.FormatInt(end, 10)
		}
		hdr.Set("Range", r)
	}
	resp, err := c.request(ctx, http.MethodGet, rawURL, hdr, true)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		defer drain(resp)
		return nil, c.errorFromResponse(resp, "", "", "")
	}
	return resp, nil
}

// getJSON GETs u and decodes a 200 answer into v; next receives the Link
// rel="next" URL when non-nil.
func (c *Client) getJSON(ctx context.Context, u, repo, rev, file string, v any, next *string) error {
	resp, err := c.request(ctx, http.MethodGet, u, http.Header{"Accept": {"application/json"}}, true)
	if err != nil {
		return err
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return c.errorFromResponse(resp, repo, rev, file)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 256<<20)).Decode(v); err != nil {
		if ne := c.netErr(resp.Request.URL.Host, err); ne != nil {
			return ne
		}
		return &Error{Kind: BadResponse, Status: resp.StatusCode, Msg: "the Hub sent an answer fitbench cannot read", Err: err}
	}
	if next != nil {
		*next = nextLink(resp.Header.Values("Link"), resp.Request.URL)
	}
	return nil
}

// nextLink extracts the rel="next" target of Link headers, resolved against base.
func nextLink(values []string, base *url.URL) string {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			segs := strings.Split(part, ";")
			target := strings.TrimSpace(segs[0])
			if !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			for _, p := range segs[1:] {
				p = strings.ReplaceAll(strings.TrimSpace(p), " ", "")
				if p == `rel="next"` || p == "rel=next" {
					if u, err := base.Parse(target[1 : len(target)-1]); err == nil {
						return u.String()
					}
				}
			}
		}
	}
	return ""
}

// checkRepo accepts "org/name" with the Hub's characters, so a repo id can
// never rewrite the request path.
func checkRepo(repo string) error {
	parts := strings.Split(repo, "/")
	if len(parts) != 2 || !validName(parts[0]) || !validName(parts[1]) {
		return &Error{Kind: RepoNotFound, Msg: fmt.Sprintf("%q is not a valid repo id", repo),
			Hint: "a repo id looks like org/name, e.g. bartowski/Llama-3.2-1B-Instruct-GGUF"}
	}
	return nil
}

func validName(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 96 {
		return false
	}
	for _, c := range s {
		if !(c == '-' || c == '_' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
			return false
		}
	}
	return true
}

// validPath refuses absolute paths, "..", empty segments and NUL bytes, so a
// file name from a listing cannot steer the request elsewhere.
func validPath(p string) bool {
	if p == "" || strings.ContainsAny(p, "\x00\\") || strings.HasPrefix(p, "/") {
		return false
	}
	for _, s := range strings.Split(p, "/") {
		if s == "" || s == "." || s == ".." {
			return false
		}
	}
	return true
}

func defaultRev(rev string) string {
	if rev == "" {
		return "main"
	}
	return rev
}

func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) {
			return false
		}
	}
	return true
}

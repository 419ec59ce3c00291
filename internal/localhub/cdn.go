package localhub

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// resolve answers HEAD|GET /{repo}/resolve/{rev}/{path}: LFS files redirect to a
// signed URL on the CDN listener; small files are answered directly.
func (h *Hub) resolve(w http.ResponseWriter, r *http.Request, rp *repo, file string) {
	p, ok := cleanRel(file)
	var f repoFile
	if ok {
		f, ok = rp.file(p)
	}
	if !ok {
		writeError(w, http.StatusNotFound, "EntryNotFound", "Entry not found")
		return
	}
	sha, git, err := h.shas.get(f)
	if err != nil {
		h.count(Count5xx, 1)
		writeError(w, http.StatusInternalServerError, "", "Internal Error")
		return
	}
	hd := w.Header()
	hd.Set("X-Repo-Commit", rp.Commit)
	if !f.isLFS() {
		hd.Set("ETag", `"`+git+`"`)
		fh, err := os.Open(f.abs)
		if err != nil {
			writeError(w, http.StatusNotFound, "EntryNotFound", "Entry not found")
			return
		}
		defer fh.Close()
		http.ServeContent(w, r, "", f.MTime, fh)
		return
	}
	hd.Set("ETag", `"`+sha+`"`)
	hd.Set("X-Linked-Etag", `"`+sha+`"`)
	hd.Set("X-Linked-Size", strconv.FormatInt(f.Size, 10))
	hd.Set("Location", h.signedURL(rp.ID, rp.Commit, f.Path))
	w.WriteHeader(http.StatusFound)
}

// signedURL builds an absolute CDN URL valid for Options.URLTTL.
func (h *Hub) signedURL(repoID, commit, p string) string {
	exp := time.Now().Add(h.opts.URLTTL).Unix()
	u := url.URL{Path: "/repos/" + repoID + "/" + commit + "/" + p}
	q := url.Values{"exp": {strconv.FormatInt(exp, 10)}, "sig": {h.sign(repoID, commit, p, exp)}}
	return h.CDNURL() + u.EscapedPath() + "?" + q.Encode()
}

func (h *Hub) sign(repoID, commit, p string, exp int64) string {
	m := hmac.New(sha256.New, h.key)
	io.WriteString(m, repoID+"\x00"+commit+"\x00"+p+"\x00"+strconv.FormatInt(exp, 10))
	return hex.EncodeToString(m.Sum(nil))
}

// serveCDN serves GET|HEAD /repos/{org}/{repo}/{commit}/{path}?exp=&sig= with
// ranges, applying the byte-level faults.
func (h *Hub) serveCDN(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.lastCDN = r.Header.Clone()
	h.mu.Unlock()
	switch r.Method {
	case http.MethodGet:
		h.count(CountCDNGet, 1)
	case http.MethodHead:
		h.count(CountCDNHead, 1)
	default:
		writeError(w, http.StatusMethodNotAllowed, "", "method not allowed")
		return
	}
	kinds := []string{"429", "500", "hang", "expire", "ignore-range"}
	if r.Method == http.MethodGet {
		kinds = append(kinds, "drop", "flip", "trickle")
	}
	fault := h.faults.take(r.URL.Path, kinds...)
	if h.answerStatusFault(w, r, fault) {
		return
	}
	segs := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 5)
	if len(segs) != 5 || segs[0] != "repos" {
		writeError(w, http.StatusNotFound, "", "Not Found")
		return
	}
	repoID, commit, p := segs[1]+"/"+segs[2], segs[3], segs[4]
	exp, _ := strconv.ParseInt(r.URL.Query().Get("exp"), 10, 64)
	good := hmac.Equal([]byte(r.URL.Query().Get("sig")), []byte(h.sign(repoID, commit, p, exp)))
	if !good || time.Now().Unix() > exp || (fault != nil && fault.Kind == "expire") {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")
		return
	}
	rp, err := h.loadRepo(segs[1], segs[2])
	var f repoFile
	ok := err == nil && rp != nil && rp.Commit == commit
	if ok {
		f, ok = rp.file(p)
	}
	if !ok {
		writeError(w, http.StatusNotFound, "", "Not Found")
		return
	}
	fh, err := os.Open(f.abs)
	if err != nil {
		writeError(w, http.StatusNotFound, "", "Not Found")
		return
	}
	defer fh.Close()
	if sha, _, err := h.shas.get(f); err == nil {
		w.Header().Set("ETag", `"`+sha+`"`)
	}
	w.Header().Set("Accept-Ranges", "bytes")
	var content io.ReadSeeker = fh
	cw := &countingWriter{ResponseWriter: w, h: h, dropAfter: -1}
	if fault != nil {
		switch fault.Kind {
		case "ignore-range":
			r.Header.Del("Range")
		case "flip":
			content = &flipReader{ReadSeeker: fh, at: fault.After}
		case "drop":
			cw.dropAfter = fault.After
		case "trickle":
			cw.trickleAfter, cw.rate, cw.done = fault.After, max(fault.Rate, 1), r.Context().Done()
		}
	}
	http.ServeContent(cw, r, "", f.MTime, content)
}

// countingWriter counts body bytes for the cdn_bytes counter and, for a "drop"
// fault, aborts the connection once dropAfter bytes of body were sent.
type countingWriter struct {
	http.ResponseWriter
	h         *Hub
	n         int64
	dropAfter int64
	// trickle: past trickleAfter bytes, rate bytes/s until the client leaves
	trickleAfter, rate int64
	done               <-chan struct{}
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.rate > 0 && c.n+int64(len(p)) > c.trickleAfter {
		return c.trickle(p)
	}
	if c.dropAfter >= 0 && c.n+int64(len(p)) > c.dropAfter {
		keep := c.dropAfter - c.n
		m, _ := c.ResponseWriter.Write(p[:keep])
		c.n += int64(m)
		c.h.count(CountCDNBytes, int64(m))
		if f, ok := c.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler) // closes the connection mid-body
	}
	m, err := c.ResponseWriter.Write(p)
	c.n += int64(m)
	c.h.count(CountCDNBytes, int64(m))
	return m, err
}

// trickle writes p's bytes past trickleAfter one at a time, 1/rate s apart.
func (c *countingWriter) trickle(p []byte) (int, error) {
	written := 0
	if fast := c.trickleAfter - c.n; fast > 0 {
		m, err := c.ResponseWriter.Write(p[:fast])
		c.n += int64(m)
		c.h.count(CountCDNBytes, int64(m))
		written += m
		if err != nil {
			return written, err
		}
	}
	tick := time.NewTicker(time.Second / time.Duration(c.rate))
	defer tick.Stop()
	for written < len(p) {
		c.Flush()
		select {
		case <-c.done:
			return written, http.ErrAbortHandler
		case <-tick.C:
		}
		m, err := c.ResponseWriter.Write(p[written : written+1])
		c.n += int64(m)
		c.h.count(CountCDNBytes, int64(m))
		written += m
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// flipReader serves the file with one byte inverted, like a corrupting proxy.
type flipReader struct {
	io.ReadSeeker
	pos, at int64
}

func (f *flipReader) Read(p []byte) (int, error) {
	n, err := f.ReadSeeker.Read(p)
	if f.at >= f.pos && f.at < f.pos+int64(n) {
		p[f.at-f.pos] ^= 0xFF
	}
	f.pos += int64(n)
	return n, err
}

func (f *flipReader) Seek(off int64, whence int) (int64, error) {
	n, err := f.ReadSeeker.Seek(off, whence)
	if err == nil {
		f.pos = n
	}
	return n, err
}

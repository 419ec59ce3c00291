package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/fitbench/fitbench/internal/batch"
	"github.com/fitbench/fitbench/internal/registry"
)

// maxUpload bounds an uploaded batch input file (OpenAI's Batch API takes up
// to 200 MB); it is streamed to disk, never held in memory.
const maxUpload = 512 << 20

// BatchRequest is the JSON body of POST /api/batch: a file already inside the
// data directory, run through an installed model. An upload sends the file
// itself as the body instead (any non-JSON Content-Type), with model_id,
// name, concurrency and max_tokens in the query.
type BatchRequest struct {
	ModelID     string `json:"model_id"`
	Path        string `json:"path"`
	Concurrency int    `json:"concurrency,omitempty"`
	MaxTokens   int    `json:"max_tokens,omitempty"`
}

// batchJob is a job as the API answers it: the registry row, its progress
// and where to follow and download it.
type batchJob struct {
	*registry.BatchJob
	Progress  batch.Snapshot `json:"progress"`
	OutputURL string         `json:"output_url"`
	ErrorsURL string         `json:"errors_url"`
	WebSocket string         `json:"websocket"`
	Page      string         `json:"page"`
}

func (s *Server) batchJSON(ctx context.Context, j *registry.BatchJob) batchJob {
	p := batch.SnapshotOf(j)
	if live, err := s.deps.Batch.Snapshot(ctx, j.ID); err == nil && live.State == j.State {
		p = live
	}
	id := strconv.FormatInt(j.ID, 10)
	return batchJob{BatchJob: j, Progress: p, OutputURL: "/api/batch/" + id + "/output",
		ErrorsURL: "/api/batch/" + id + "/errors", WebSocket: "/ws/batch/" + id, Page: "/batch.html?job=" + id}
}

func (s *Server) batchOrUnavailable(w http.ResponseWriter, r *http.Request) bool {
	if s.deps.Batch == nil {
		s.writeError(w, r, unavailable("batch jobs"))
		return false
	}
	return true
}

func (s *Server) handleBatchCreate(w http.ResponseWriter, r *http.Request) {
	if !s.batchOrUnavailable(w, r) {
		return
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var req BatchRequest
	upload := ""
	if mt == "application/json" {
		if err := decodeJSON(w, r, maxSmallBody, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
	} else {
		q := r.URL.Query()
		req.ModelID = q.Get("model_id")
		req.Concurrency, _ = strconv.Atoi(q.Get("concurrency"))
		req.MaxTokens, _ = strconv.Atoi(q.Get("max_tokens"))
	}
	req.ModelID = strings.TrimSpace(req.ModelID)
	switch {
	case req.ModelID == "" || len(req.ModelID) > 512:
		s.writeError(w, r, badRequest("model_id is required", "choose an installed model (fitbench list)"))
		return
	case req.Concurrency < 0 || req.Concurrency > 1024 || req.MaxTokens < 0 || req.MaxTokens > 1<<20:
		s.writeError(w, r, badRequest("concurrency or max_tokens is out of range", "leave them empty for the engine's defaults"))
		return
	}
	m, err := s.deps.Registry.GetModel(r.Context(), req.ModelID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	input := ""
	if mt == "application/json" {
		if input, err = s.insideDataDir(req.Path); err != nil {
			s.writeError(w, r, err)
			return
		}
	} else {
		if upload, err = s.storeUpload(w, r); err != nil {
			s.writeError(w, r, err)
			return
		}
		input = upload
	}
	j, err := s.deps.Batch.Submit(r.Context(), batch.CreateOptions{ModelID: m.ModelID, Input: input,
		Settings: batch.Settings{Concurrency: req.Concurrency, MaxTokens: req.MaxTokens, Uploaded: upload != ""}})
	if err != nil {
		if upload != "" {
			os.Remove(upload)
		}
		var ie *batch.InputError
		if errors.As(err, &ie) {
			err = &StatusError{Status: http.StatusUnprocessableEntity, Msg: s.relative(ie.Error()),
				Hint: "fix the input file: one OpenAI Batch API request per line, each with a unique custom_id"}
		}
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, struct {
		Success bool     `json:"success"`
		Job     batchJob `json:"job"`
	}{true, s.batchJSON(r.Context(), j)})
}

// relative shows paths inside the data directory relative to it, so error
// messages do not spell out the server's directory layout.
func (s *Server) relative(msg string) string {
	if s.cfg.DataDir == "" {
		return msg
	}
	return strings.ReplaceAll(msg, strings.TrimRight(s.cfg.DataDir, "/")+"/", "")
}

// insideDataDir resolves a client-named input path: relative to the data
// directory, and after following symlinks still inside it, and a readable
// regular file (a FIFO would hang the indexer, a device never ends).
func (s *Server) insideDataDir(p string) (string, error) {
	hint := "put the file inside the data directory (" + s.cfg.DataDir + ") and give its path relative to it, or upload it"
	if strings.TrimSpace(p) == "" || strings.ContainsRune(p, 0) || len(p) > 4096 {
		return "", badRequest("path is required", hint)
	}
	if s.cfg.DataDir == "" {
		return "", &StatusError{Status: http.StatusServiceUnavailable, Msg: "the server has no data directory", Hint: "start it with fitbench serve"}
	}
	root, err := filepath.EvalSymlinks(s.cfg.DataDir)
	if err != nil {
		return "", err
	}
	outside := &StatusError{Status: http.StatusForbidden, Msg: fmt.Sprintf("%q is outside the data directory", p), Hint: hint}
	full := p
	if !filepath.IsAbs(full) {
		full = filepath.Join(root, p)
	}
	full = filepath.Clean(full)
	// Refuse by name first, so nothing outside is even looked at.
	if !within(root, full) && !within(filepath.Clean(s.cfg.DataDir), full) {
		return "", outside
	}
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		return "", &StatusError{Status: http.StatusBadRequest, Msg: fmt.Sprintf("cannot read %q: no such file", p), Hint: hint}
	}
	if !within(root, real) { // a symlink pointing out
		return "", outside
	}
	if _, err := batch.CheckRegularFile(real); err != nil {
		return "", &StatusError{Status: http.StatusBadRequest, Msg: s.relative(err.Error()), Hint: hint}
	}
	return real, nil
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// storeUpload streams the body into <data>/batch/uploads/, bounded, and
// returns the file's path. A partial upload is removed.
func (s *Server) storeUpload(w http.ResponseWriter, r *http.Request) (string, error) {
	if s.cfg.DataDir == "" {
		return "", &StatusError{Status: http.StatusServiceUnavailable, Msg: "the server has no data directory", Hint: "start it with fitbench serve"}
	}
	dir := filepath.Join(batch.JobsDir(s.cfg.DataDir), "uploads")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	b := make([]byte, 8)
	rand.Read(b)
	name := time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b) + ".jsonl"
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", err
	}
	n, err := io.Copy(f, http.MaxBytesReader(w, r.Body, maxUpload))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return "", &StatusError{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("the file is larger than %d MB", maxUpload>>20),
				Hint: "split it, or copy it into the data directory and give its path"}
		}
		return "", fmt.Errorf("storing the upload: %w", err)
	}
	if n == 0 {
		os.Remove(path)
		return "", badRequest("the uploaded file is empty", "choose a JSONL file of Batch API requests")
	}
	return path, nil
}

func (s *Server) batchID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.writeError(w, r, &StatusError{Status: http.StatusNotFound, Msg: "no such batch job: " + trimReason(r.PathValue("id"))})
		return 0, false
	}
	return id, true
}

func (s *Server) handleBatchList(w http.ResponseWriter, r *http.Request) {
	if !s.batchOrUnavailable(w, r) {
		return
	}
	jobs, err := s.deps.Batch.DB().ListBatchJobs(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]batchJob, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, s.batchJSON(r.Context(), j))
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "jobs": out})
}

func (s *Server) handleBatchGet(w http.ResponseWriter, r *http.Request) {
	if !s.batchOrUnavailable(w, r) {
		return
	}
	id, ok := s.batchID(w, r)
	if !ok {
		return
	}
	j, err := s.deps.Batch.DB().GetBatchJob(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "job": s.batchJSON(r.Context(), j)})
}

func (s *Server) handleBatchAction(w http.ResponseWriter, r *http.Request) {
	if !s.batchOrUnavailable(w, r) {
		return
	}
	id, ok := s.batchID(w, r)
	if !ok {
		return
	}
	var j *registry.BatchJob
	var err error
	switch r.PathValue("action") {
	case "cancel":
		j, err = s.deps.Batch.Cancel(r.Context(), id)
	case "resume":
		j, err = s.deps.Batch.Resume(r.Context(), id)
	default:
		s.writeError(w, r, &StatusError{Status: http.StatusNotFound, Msg: "no such batch action: " + trimReason(r.PathValue("action")),
			Hint: "POST /api/batch/{id}/cancel or /api/batch/{id}/resume"})
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "job": s.batchJSON(r.Context(), j)})
}

// handleBatchFile serves the committed part of the output or error file
// (never a line being written), as a download.
func (s *Server) handleBatchFile(w http.ResponseWriter, r *http.Request) {
	if !s.batchOrUnavailable(w, r) {
		return
	}
	id, ok := s.batchID(w, r)
	if !ok {
		return
	}
	j, err := s.deps.Batch.DB().GetBatchJob(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	path, size, kind := j.OutputPath, j.OutBytes, "output"
	if r.PathValue("file") == "errors" {
		path, size, kind = j.ErrorPath, j.ErrBytes, "errors"
	} else if r.PathValue("file") != "output" {
		s.writeError(w, r, &StatusError{Status: http.StatusNotFound, Msg: "no such batch file", Hint: "use /output or /errors"})
		return
	}
	if _, err := s.insideDataDirPath(path); err != nil {
		s.writeError(w, r, &StatusError{Status: http.StatusForbidden, Msg: "this job's " + kind + " file is outside the data directory",
			Hint: "it was written by fitbench batch run --output; read it there"})
		return
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) && size == 0 {
		f, err = nil, nil // nothing written yet
	} else if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/jsonl; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="batch-%d-%s.jsonl"`, id, kind))
	if f == nil {
		w.Header().Set("Content-Length", "0")
		return
	}
	defer f.Close()
	http.ServeContent(w, r, "", j.UpdatedAt, io.NewSectionReader(f, 0, size))
}

// insideDataDirPath checks that an existing job file lies in the data directory.
func (s *Server) insideDataDirPath(p string) (string, error) {
	root, err := filepath.EvalSymlinks(s.cfg.DataDir)
	if err != nil {
		return "", err
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(p))
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(root, filepath.Join(dir, filepath.Base(p)))
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", errors.New("outside the data directory")
	}
	return rel, nil
}

// handleBatchWS relays a job's progress snapshots (batch.Snapshot JSON) until
// it is final; a job that already ended gets its final snapshot and a close.
func (s *Server) handleBatchWS(w http.ResponseWriter, r *http.Request) {
	if !s.batchOrUnavailable(w, r) {
		return
	}
	id, ok := s.batchID(w, r)
	if !ok {
		return
	}
	events, unsubscribe, err := s.deps.Batch.Subscribe(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer unsubscribe()
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		s.log.Info("websocket upgrade refused", slog.Int64("batch", id), slog.String("error", err.Error()))
		return
	}
	defer c.CloseNow()
	ctx := c.CloseRead(context.Background())
	shutdown := r.Context().Done()
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	for {
		select {
		case ev := <-events:
			wctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := wsjson.Write(wctx, c, ev)
			cancel()
			if err != nil {
				return
			}
			if ev.Final() {
				c.Close(websocket.StatusNormalClosure, ev.State)
				return
			}
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := c.Ping(pctx)
			cancel()
			if err != nil {
				return
			}
		case <-ctx.Done():
			return
		case <-shutdown:
			c.Close(websocket.StatusGoingAway, "server shutting down")
			return
		}
	}
}

package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Body limits: a pasted model page can be large (the Hub's pages run to a few
// hundred KB; 2 MB leaves room), every other body is a few fields.
const (
	maxAnalyzeBody = 2<<20 + 64<<10
	maxSmallBody   = 64 << 10
	maxContent     = 2 << 20
)

// decodeJSON reads one JSON object into v, refusing unknown fields (a typo such
// as "vram" would otherwise be silently ignored) and trailing data.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var ne net.Error // a read deadline (decode answers 408)
		if errors.As(err, &mbe) || errors.As(err, &ne) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return badRequest("empty request body", `send a JSON object, e.g. {"content": "https://huggingface.co/org/repo"}`)
		}
		return badRequest("invalid JSON: "+err.Error(), "send a JSON object with the documented fields")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return badRequest("invalid JSON: data after the object", "send exactly one JSON object")
	}
	return nil
}

func (s *Server) handleAnalyze(w http.ResponseWriter, r *http.Request) {
	if s.deps.Analyzer == nil {
		s.writeError(w, r, unavailable("analysis"))
		return
	}
	var req AnalyzeRequest
	if err := s.decode(w, r, maxAnalyzeBody, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := validateAnalyze(&req); err != nil {
		s.writeError(w, r, err)
		return
	}
	end := s.mem.begin()
	report, err := s.deps.Analyzer.Analyze(r.Context(), req)
	end()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, report)
}

func validateAnalyze(req *AnalyzeRequest) error {
	req.Content = strings.TrimSpace(req.Content)
	switch {
	case req.Content == "":
		return badRequest("content is required", "paste a Hugging Face URL, a repo id (org/repo) or the text of a model page")
	case len(req.Content) > maxContent:
		return &StatusError{Status: http.StatusRequestEntityTooLarge, Msg: "content too large",
			Hint: "paste at most 2 MB of page text; the URL or repo id alone is enough"}
	case req.VRAMGB < 0 || req.VRAMGB > 100000:
		return badRequest(fmt.Sprintf("vram_gb %g is out of range", req.VRAMGB), "give the GPU memory in GB, e.g. 16")
	case req.Ctx < 0 || req.Ctx > 1<<24:
		return badRequest(fmt.Sprintf("ctx %d is out of range", req.Ctx), "give a context length in tokens, e.g. 8192, or leave it empty")
	case len(req.Quant) > 64 || len(req.GPU) > 200 || len(req.Engine) > 32:
		return badRequest("quant, gpu or engine is too long", "")
	}
	return nil
}

func (s *Server) handleInstall(w http.ResponseWriter, r *http.Request) {
	if s.deps.Installer == nil {
		s.writeError(w, r, unavailable("installing"))
		return
	}
	var req InstallRequest
	if err := s.decode(w, r, maxSmallBody, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	req.ModelID = strings.TrimSpace(req.ModelID)
	switch {
	case req.ModelID == "":
		s.writeError(w, r, badRequest("model_id is required", "use the model_id from the analysis, e.g. org/repo:Q4_K_M"))
		return
	case len(req.ModelID) > 512 || len(req.GGUFFile) > 1024 || len(req.Quant) > 64:
		s.writeError(w, r, badRequest("model_id, gguf_file or quant is too long", ""))
		return
	case req.Samples < 0 || req.Samples > 100000:
		s.writeError(w, r, badRequest(fmt.Sprintf("samples %d is out of range", req.Samples), "use 1–5000, or leave it empty for 100"))
		return
	}
	job, err := s.deps.Installer.Install(r.Context(), req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJob(w, job)
}

// writeJob answers 202 with the job and where to follow it.
func (s *Server) writeJob(w http.ResponseWriter, job Job) {
	if job.WebSocket == "" {
		job.WebSocket = "/ws/model-install/" + url.PathEscape(job.ModelID)
	}
	writeJSON(w, http.StatusAccepted, struct {
		Success bool `json:"success"`
		Job
	}{true, job})
}

func unavailable(what string) error {
	return &StatusError{Status: http.StatusServiceUnavailable, Msg: what + " is not available in this server",
		Hint: "start the server with fitbench serve"}
}

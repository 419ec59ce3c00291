package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/fitbench/fitbench/internal/registry"
)

// itemID extracts a model reference from a {id...} wildcard: a numeric id, an
// escaped model id ("org%2Frepo:Q4_0", unescaped by the mux) or a plain one.
func itemID(r *http.Request) (string, error) {
	id := strings.Trim(r.PathValue("id"), "/")
	if id == "" || len(id) > 512 {
		return "", badRequest("a model id is required", "use the numeric id from GET /api/models or a URL-escaped model id")
	}
	return id, nil
}

// handleModelGet serves GET /api/models/{id} and GET /api/models/{id}/benchmarks.
func (s *Server) handleModelGet(w http.ResponseWriter, r *http.Request) {
	id, err := itemID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if base, ok := strings.CutSuffix(id, "/benchmarks"); ok {
		s.listRuns(w, r, base)
		return
	}
	m, err := s.deps.Registry.GetModel(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "model": m})
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request, id string) {
	m, err := s.deps.Registry.GetModel(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	runs, err := s.deps.Registry.ListRuns(r.Context(), m.ModelID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "model_id": m.ModelID, "runs": runs})
}

// handleModelPost serves POST /api/models/{id}/benchmark.
func (s *Server) handleModelPost(w http.ResponseWriter, r *http.Request) {
	id, err := itemID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	base, ok := strings.CutSuffix(id, "/benchmark")
	if !ok {
		s.writeError(w, r, &StatusError{Status: http.StatusNotFound, Msg: "no such API route: POST " + r.URL.Path})
		return
	}
	if s.deps.Installer == nil {
		s.writeError(w, r, unavailable("benchmarking"))
		return
	}
	var body struct {
		Samples int `json:"samples"`
	}
	if r.ContentLength != 0 {
		if err := s.decode(w, r, maxSmallBody, &body); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if body.Samples < 0 || body.Samples > 100000 {
		s.writeError(w, r, badRequest(fmt.Sprintf("samples %d is out of range", body.Samples), "use 1–5000, or leave it empty for 100"))
		return
	}
	m, err := s.deps.Registry.GetModel(r.Context(), base)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.busy(m.ModelID); err != nil {
		s.writeError(w, r, err)
		return
	}
	job, err := s.deps.Installer.Benchmark(r.Context(), m.ModelID, body.Samples)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJob(w, job)
}

// busy returns a 409 while a job for the model is still running.
func (s *Server) busy(modelID string) error {
	if s.deps.Installer == nil {
		return nil
	}
	if ev, ok := s.deps.Installer.Bus().Last(modelID); ok && !ev.Final() {
		return &StatusError{Status: http.StatusConflict,
			Msg:  fmt.Sprintf("model %s is busy (%s)", modelID, ev.Status),
			Hint: "wait for the running job to finish"}
	}
	return nil
}

func (s *Server) handleModelDelete(w http.ResponseWriter, r *http.Request) {
	id, err := itemID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.deps.Registry.GetModel(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.busy(m.ModelID); err != nil {
		s.writeError(w, r, err)
		return
	}
	if rm, ok := s.deps.Installer.(Remover); ok {
		err = rm.Remove(r.Context(), m.ModelID)
	} else {
		err = s.deps.Registry.DeleteModel(r.Context(), m.ModelID)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "deleted": m.ModelID, "id": m.ID})
}

func (s *Server) handleOutputs(w http.ResponseWriter, r *http.Request) {
	runID, err := strconv.ParseInt(r.PathValue("run"), 10, 64)
	if err != nil || runID <= 0 {
		s.writeError(w, r, badRequest("run must be a positive number", "use a run id from GET /api/models/{id}/benchmarks"))
		return
	}
	run, err := s.deps.Registry.GetRun(r.Context(), runID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	outs, err := s.deps.Registry.ListOutputs(r.Context(), runID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "run": run, "outputs": outs})
}

func (s *Server) handleHardware(w http.ResponseWriter, r *http.Request) {
	if s.deps.Hardware == nil {
		s.writeError(w, r, unavailable("hardware detection"))
		return
	}
	hw, err := s.deps.Hardware(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "hardware": hw})
}

// classifyRegistry maps registry errors: a missing row is 404, a refused
// status change (e.g. benchmarking a model still downloading) is 409.
func classifyRegistry(err error) (int, bool) {
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return http.StatusNotFound, true
	case errors.Is(err, registry.ErrInvalidTransition):
		return http.StatusConflict, true
	}
	return 0, false
}

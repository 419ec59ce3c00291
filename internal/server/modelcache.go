package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"
)

// versioned is implemented by registries that can say cheaply whether the model
// list changed (*registry.DB: a counter bumped by triggers, from any process).
type versioned interface {
	ModelsVersion(ctx context.Context) (int64, error)
}

// modelListCache holds the encoded GET /api/models answer for one registry
// version: building it means scanning every row and encoding ~1 KB per model,
// which dominates the endpoint once hundreds of models are registered.
type modelListCache struct {
	mu      sync.Mutex
	version int64
	body    []byte
	valid   bool
}

// get returns the cached body for version, or builds and stores it.
func (c *modelListCache) get(version int64, build func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.valid && c.version == version {
		return c.body, nil
	}
	body, err := build()
	if err != nil {
		return nil, err
	}
	c.version, c.body, c.valid = version, body, true
	return body, nil
}

// handleListModels serves GET /api/models, from the cache when the registry
// can tell that nothing changed since it was built.
func (s *Server) handleListModels(w http.ResponseWriter, r *http.Request) {
	build := func() ([]byte, error) {
		models, err := s.deps.Registry.ListModels(r.Context())
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(true)
		if err := enc.Encode(map[string]any{"success": true, "models": models}); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	var body []byte
	var err error
	if v, ok := s.deps.Registry.(versioned); ok {
		var version int64
		if version, err = v.ModelsVersion(r.Context()); err == nil {
			body, err = s.models.get(version, build)
		}
	} else {
		body, err = build()
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

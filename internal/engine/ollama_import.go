package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// OllamaName turns a fitbench model id (org/repo:QUANT) into a valid Ollama model
// name (namespace/model:tag): lowercase, only [a-z0-9._-] in each part, each part
// starting with a letter or digit and at most 80 characters.
func OllamaName(modelID string) string {
	id := strings.ToLower(strings.TrimSpace(modelID))
	tag := "latest"
	if i := strings.LastIndex(id, ":"); i >= 0 {
		tag, id = id[i+1:], id[:i]
	}
	parts := strings.Split(id, "/")
	var clean []string
	for _, p := range parts {
		if p = sanitizePart(p); p != "" {
			clean = append(clean, p)
		}
	}
	if len(clean) == 0 {
		clean = []string{"model"}
	}
	if len(clean) > 2 { // keep namespace and model; fold the rest into the model
		clean = []string{clean[0], strings.Join(clean[1:], "-")}
	}
	if tag = sanitizePart(tag); tag == "" {
		tag = "latest"
	}
	return strings.Join(clean, "/") + ":" + tag
}

func sanitizePart(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	out := strings.TrimLeft(b.String(), "._-")
	if len(out) > 80 {
		out = out[:80]
	}
	return out
}

// fileSHA256 hashes a file; ctx cancels a long hash of a big model.
func fileSHA256(ctx context.Context, path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, fmt.Errorf("open model: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, ctxReader{ctx, f})
	if err != nil {
		return "", 0, fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// importGGUF uploads the file as a blob (unless Ollama already has it) and creates
// the model name from it.
func importGGUF(ctx context.Context, c *http.Client, host, path, name string) (string, error) {
	sum, size, err := fileSHA256(ctx, path)
	if err != nil {
		return "", err
	}
	blobURL := host + "/api/blobs/sha256:" + sum
	head, _ := http.NewRequestWithContext(ctx, http.MethodHead, blobURL, nil)
	resp, err := c.Do(head)
	if err != nil {
		return "", fmt.Errorf("ollama blob check: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("open model: %w", err)
		}
		defer f.Close()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, blobURL, f)
		req.ContentLength = size
		resp, err := c.Do(req)
		if err != nil {
			return "", fmt.Errorf("ollama blob upload: %w", err)
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
			return "", &HTTPError{URL: blobURL, Status: resp.StatusCode, Body: string(msg)}
		}
	}
	body := map[string]any{
		"model":  name,
		"files":  map[string]string{filepath.Base(path): "sha256:" + sum},
		"stream": false,
	}
	cr, err := postJSON(ctx, c, host+"/api/create", "", body)
	if err != nil {
		return "", fmt.Errorf("ollama create %s: %w", name, err)
	}
	msg, _ := io.ReadAll(io.LimitReader(cr.Body, 4096))
	cr.Body.Close()
	if !strings.Contains(string(msg), "success") {
		return "", fmt.Errorf("ollama create %s: unexpected answer %s", name, msg)
	}
	return sum, nil
}

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

// importGGUF uploads the model file (and its vision projector, if any) as
// blobs (unless Ollama already has them) and creates the model name from them.
func importGGUF(ctx context.Context, c *http.Client, host, path, projector, name string) (string, error) {
	sum, err := uploadBlob(ctx, c, host, path)
	if err != nil {
		return "", err
	}
	var projSum string
	if projector != "" {
		if projSum, err = uploadBlob(ctx, c, host, projector); err != nil {
			return "", fmt.Errorf("vision projector: %w", err)
		}
	}
	cr, err := postJSON(ctx, c, host+"/api/create", "", createRequest(name, path, sum, projector, projSum))
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

// OllamaVisionMinCtx is the least context Ollama gives a model with a vision
// projector: server/sched.go GetRunner raises num_ctx to it ("multimodal
// models require at least 2048 context").
const OllamaVisionMinCtx = 2048

// OllamaCtx is the per-sequence context Ollama will run s with: s.Ctx, raised
// to OllamaVisionMinCtx when a projector is loaded (0 stays the server's
// default, which is larger). Flags and run settings record this, not the ask.
func OllamaCtx(s Settings) int {
	if s.ProjectorPath != "" && s.Ctx > 0 && s.Ctx < OllamaVisionMinCtx {
		return OllamaVisionMinCtx
	}
	return s.Ctx
}

// createRequest is the body of Ollama's /api/create for a GGUF model and an
// optional projector. Both go in "files", as `ollama create` sends a Modelfile
// with a second FROM line (parser/parser.go merges every FROM file's digest
// into Files): server/create.go convertModelFromFiles reads every GGUF
// blob there, and ggufLayers gives a file whose block_count is 0 but whose
// vision.block_count is not (an mmproj: clip.vision.block_count) — or whose
// general.type is "projector" — the media type
// application/vnd.ollama.image.projector instead of …image.model. The
// projector does not go in "adapters": that is for LoRA (general.type
// "adapter"). With a projector Ollama runs the model on its llama.cpp runner
// (llm/server.go: its own engine refuses "split vision models").
func createRequest(name, path, sum, projector, projSum string) map[string]any {
	files := map[string]string{filepath.Base(path): "sha256:" + sum}
	if projector != "" {
		key := filepath.Base(projector)
		if _, clash := files[key]; clash { // Q8_0/model.gguf beside a projector of the same base name
			key = "mmproj-" + key
		}
		files[key] = "sha256:" + projSum
	}
	return map[string]any{"model": name, "files": files, "stream": false}
}

// uploadBlob hashes a file and uploads it unless Ollama already holds a blob
// of that digest; it returns the hex sha256.
func uploadBlob(ctx context.Context, c *http.Client, host, path string) (string, error) {
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
	if resp.StatusCode == http.StatusOK {
		return sum, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("open model: %w", err)
	}
	defer f.Close()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, blobURL, f)
	req.ContentLength = size
	resp, err = c.Do(req)
	if err != nil {
		return "", fmt.Errorf("ollama blob upload: %w", err)
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return "", &HTTPError{URL: blobURL, Status: resp.StatusCode, Body: string(msg)}
	}
	return sum, nil
}

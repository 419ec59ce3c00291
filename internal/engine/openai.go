package engine

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// OpenAI talks to any OpenAI-compatible server that is already running: fitbench
// neither starts nor stops it, and cannot measure its memory.
type OpenAI struct {
	BaseURL string // e.g. http://127.0.0.1:8000/v1
	Model   string // model name the server knows; Settings.ModelID when empty
	// APIKey; when empty, OPENAI_API_KEY then FITBENCH_API_KEY from the environment.
	APIKey string
	// Parallel is the concurrency to default to; 1 when zero.
	Parallel int
	Client   *http.Client
}

func (o *OpenAI) Name() string { return "openai" }

// Start checks that the server answers GET /models and returns an instance.
func (o *OpenAI) Start(ctx context.Context, s Settings) (Instance, error) {
	if o.BaseURL == "" {
		return nil, &NotAvailableError{Engine: "openai", Msg: "no base URL given", Hint: "pass the server's OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1"}
	}
	key := o.APIKey
	if key == "" {
		key = os.Getenv("OPENAI_API_KEY")
	}
	if key == "" {
		key = os.Getenv("FITBENCH_API_KEY")
	}
	model := o.Model
	if model == "" {
		model = s.ModelID
	}
	c := o.Client
	if c == nil {
		c = &http.Client{}
	}
	base := strings.TrimRight(o.BaseURL, "/")
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, base+"/models", nil)
	if err != nil {
		return nil, fmt.Errorf("openai base URL %q: %w", o.BaseURL, err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, &NotAvailableError{Engine: "openai", Msg: fmt.Sprintf("server at %s does not answer: %v", base, err), Hint: "start the server or check the URL", Err: err}
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return nil, &NotAvailableError{Engine: "openai", Msg: fmt.Sprintf("server at %s refused the API key (HTTP %d)", base, resp.StatusCode), Hint: "set OPENAI_API_KEY or FITBENCH_API_KEY"}
	}
	par := o.Parallel
	if par <= 0 {
		par = 1
	}
	return &openaiInstance{base: base, model: model, key: key, client: c, parallel: par}, nil
}

type openaiInstance struct {
	base, model, key string
	client           *http.Client
	parallel         int
}

func (i *openaiInstance) Engine() string  { return "openai" }
func (i *openaiInstance) BaseURL() string { return i.base }
func (i *openaiInstance) Model() string   { return i.model }
func (i *openaiInstance) Parallel() int   { return i.parallel }
func (i *openaiInstance) Flags() map[string]string {
	return map[string]string{"base_url": i.base, "model": i.model}
}
func (i *openaiInstance) Chat(ctx context.Context, r ChatRequest, onDelta func(string)) (ChatResult, error) {
	return chatOpenAI(ctx, i.client, i.base, i.key, i.model, r, onDelta)
}
func (i *openaiInstance) Memory(context.Context) (MemoryReport, error) {
	return MemoryReport{}, ErrNotMeasured
}
func (i *openaiInstance) Done() <-chan struct{}      { return nil }
func (i *openaiInstance) Err() error                 { return nil }
func (i *openaiInstance) Stop(context.Context) error { return nil }

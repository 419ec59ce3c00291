package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/fitbench/fitbench/internal/install"
	"github.com/fitbench/fitbench/internal/registry"
)

// scenario is one API call and what its answer must and must not contain
// (the PocketBase ApiScenario pattern).
type scenario struct {
	name      string
	method    string
	url       string
	body      string
	headers   map[string]string
	status    int
	contains  []string
	forbidden []string
	respHdr   map[string]string // header → substring
}

func (sc scenario) run(t *testing.T, base string) {
	t.Helper()
	var body io.Reader
	if sc.body != "" {
		body = strings.NewReader(sc.body)
	}
	req, err := http.NewRequest(sc.method, base+sc.url, body)
	if err != nil {
		t.Fatal(err)
	}
	if sc.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range sc.headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	got := string(b)
	if resp.StatusCode != sc.status {
		t.Errorf("%s %s: status %d, want %d; body %.300s", sc.method, sc.url, resp.StatusCode, sc.status, got)
	}
	for _, c := range sc.contains {
		if !strings.Contains(got, c) {
			t.Errorf("%s %s: body lacks %q; body %.400s", sc.method, sc.url, c, got)
		}
	}
	for _, f := range sc.forbidden {
		if strings.Contains(got, f) {
			t.Errorf("%s %s: body contains forbidden %q", sc.method, sc.url, f)
		}
	}
	for h, v := range sc.respHdr {
		if !strings.Contains(resp.Header.Get(h), v) {
			t.Errorf("%s %s: header %s = %q, want it to contain %q", sc.method, sc.url, h, resp.Header.Get(h), v)
		}
	}
}

// seed registers: id 1 tested (with a run and outputs), id 2 untested, id 3
// downloading with a live job on the bus.
func seed(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	for _, m := range []registry.Model{
		{ModelID: "org/tested-GGUF:Q4_K_M", Name: "Tested", QuantizationType: "Q4_K_M", SizeGB: 4.7, Status: registry.StatusTested, QualityStars: 4},
		{ModelID: "org/spare-GGUF:Q8_0", Name: "Spare", QuantizationType: "Q8_0", Status: registry.StatusUntested},
		{ModelID: "org/busy-GGUF:Q4_0", Name: "Busy", QuantizationType: "Q4_0", Status: registry.StatusDownloading},
	} {
		if _, err := e.db.UpsertModel(ctx, &m); err != nil {
			t.Fatal(err)
		}
	}
	run := &registry.BenchmarkRun{ModelID: "org/tested-GGUF:Q4_K_M", Engine: "ollama", Samples: 2}
	if _, err := e.db.StartRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	if err := e.db.AddOutputs(ctx, run.ID, []registry.Output{
		{SampleIndex: 0, PromptID: "p1", Prompt: "Say hi", Output: "hi there"},
		{SampleIndex: 1, PromptID: "p2", Prompt: "Count", Output: "1 2 3"}}); err != nil {
		t.Fatal(err)
	}
	run.OutputTokS = 33
	if err := e.db.FinishRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	e.inst.bus.Publish(install.Event{ModelID: "org/busy-GGUF:Q4_0", Status: install.StatusDownloading, Progress: 10})
}

func TestAPIScenarios(t *testing.T) {
	e := newEnv(t, 0, Config{Addr: "127.0.0.1:0"})
	seed(t, e)
	base := e.http.URL
	host := strings.TrimPrefix(base, "http://")
	sameOrigin := map[string]string{"Origin": base}
	big := `{"content": "` + strings.Repeat("a", 3<<20) + `"}`

	scenarios := []scenario{
		{name: "health", method: "GET", url: "/healthz", status: 200, contains: []string{`"ok"`}},
		// analyze
		{name: "analyze ok", method: "POST", url: "/api/models/analyze", body: `{"content":"https://huggingface.co/org/Model-8B-GGUF"}`,
			status: 200, contains: []string{`"will_fit":true`, `"model_id":"org/Model-8B-GGUF:Q4_K_M"`, `"variants"`}},
		{name: "analyze same-origin page", method: "POST", url: "/api/models/analyze", headers: sameOrigin,
			body:   `{"content":"org/Model-8B-GGUF","quant":"Q8_0","vram_gb":24,"ctx":4096,"engine":"ollama","gpu":"RTX 4090"}`,
			status: 200, contains: []string{`"quantization":"Q8_0"`, `"available_gb":24`}},
		{name: "analyze empty content", method: "POST", url: "/api/models/analyze", body: `{"content":"   "}`,
			status: 400, contains: []string{`"success":false`, "content is required", `"hint"`}},
		{name: "analyze empty body", method: "POST", url: "/api/models/analyze", status: 400, contains: []string{"empty request body"}},
		{name: "analyze bad json", method: "POST", url: "/api/models/analyze", body: `{"content":`, status: 400, contains: []string{"invalid JSON"}},
		{name: "analyze unknown field", method: "POST", url: "/api/models/analyze", body: `{"content":"org/x","vram":16}`,
			status: 400, contains: []string{"invalid JSON", "vram"}},
		{name: "analyze trailing data", method: "POST", url: "/api/models/analyze", body: `{"content":"org/x"} {}`, status: 400},
		{name: "analyze wrong type", method: "POST", url: "/api/models/analyze", body: `{"content":"org/x","ctx":"big"}`, status: 400},
		{name: "analyze negative vram", method: "POST", url: "/api/models/analyze", body: `{"content":"org/x","vram_gb":-1}`,
			status: 400, contains: []string{"vram_gb"}},
		{name: "analyze negative ctx", method: "POST", url: "/api/models/analyze", body: `{"content":"org/x","ctx":-5}`, status: 400},
		{name: "analyze too large", method: "POST", url: "/api/models/analyze", body: big, status: 413, contains: []string{"too large"}},
		{name: "analyze unparseable input", method: "POST", url: "/api/models/analyze", body: `{"content":"hello world"}`,
			status: 400, contains: []string{`"success":false`, `"hint":"paste`}},
		{name: "analyze repo missing", method: "POST", url: "/api/models/analyze", body: `{"content":"err-missing/x"}`, status: 404, contains: []string{"not found"}},
		{name: "analyze gated", method: "POST", url: "/api/models/analyze", body: `{"content":"err-gated/x"}`, status: 403, contains: []string{"HF_TOKEN"}},
		{name: "analyze rate limited", method: "POST", url: "/api/models/analyze", body: `{"content":"err-ratelimit/x"}`, status: 429},
		{name: "analyze hub down", method: "POST", url: "/api/models/analyze", body: `{"content":"err-down/x"}`, status: 502, contains: []string{"cannot reach"}},
		{name: "analyze internal", method: "POST", url: "/api/models/analyze", body: `{"content":"err-internal/x"}`, status: 500,
			contains: []string{"boom", "api.log"}, forbidden: []string{"goroutine"}},
		{name: "analyze GET not allowed", method: "GET", url: "/api/models/analyze", status: 404},
		// install
		{name: "install ok", method: "POST", url: "/api/models/install", headers: sameOrigin,
			body: `{"model_id":"org/new-GGUF","quant":"q4_k_m","benchmark":false}`, status: 202,
			contains: []string{`"success":true`, `"model_id":"org/new-GGUF:Q4_K_M"`, `"websocket":"/ws/model-install/org%2Fnew-GGUF:Q4_K_M"`}},
		{name: "install empty id", method: "POST", url: "/api/models/install", body: `{"model_id":""}`, status: 400, contains: []string{"model_id is required"}},
		{name: "install bad samples", method: "POST", url: "/api/models/install", body: `{"model_id":"org/x:Q4_0","samples":-3}`, status: 400},
		{name: "install conflict", method: "POST", url: "/api/models/install", body: `{"model_id":"err-conflict/x:Q4_0"}`, status: 409, contains: []string{"locked", "try later"}},
		{name: "install bad json", method: "POST", url: "/api/models/install", body: `[]`, status: 400},
		// models
		{name: "list", method: "GET", url: "/api/models", status: 200, contains: []string{`"org/tested-GGUF:Q4_K_M"`, `"quantization_type"`, `"throughput_tokens_per_sec"`}},
		{name: "get numeric", method: "GET", url: "/api/models/1", status: 200, contains: []string{`"model_id":"org/tested-GGUF:Q4_K_M"`}},
		{name: "get escaped id", method: "GET", url: "/api/models/org%2Ftested-GGUF:Q4_K_M", status: 200, contains: []string{`"id":1`}},
		{name: "get plain id", method: "GET", url: "/api/models/org/tested-GGUF:Q4_K_M", status: 200, contains: []string{`"id":1`}},
		{name: "get missing", method: "GET", url: "/api/models/999", status: 404, contains: []string{`"success":false`, "not found"}},
		{name: "runs", method: "GET", url: "/api/models/1/benchmarks", status: 200, contains: []string{`"runs":[{`, `"engine":"ollama"`}},
		{name: "runs escaped", method: "GET", url: "/api/models/org%2Ftested-GGUF:Q4_K_M/benchmarks", status: 200, contains: []string{`"engine":"ollama"`}},
		{name: "runs plain id", method: "GET", url: "/api/models/org/tested-GGUF:Q4_K_M/benchmarks", status: 200, contains: []string{`"engine":"ollama"`}},
		{name: "runs none", method: "GET", url: "/api/models/2/benchmarks", status: 200, contains: []string{`"runs":[]`}},
		{name: "runs missing model", method: "GET", url: "/api/models/999/benchmarks", status: 404},
		{name: "outputs", method: "GET", url: "/api/benchmarks/1/outputs", status: 200, contains: []string{"hi there", `"prompt_id":"p2"`}},
		{name: "outputs bad run", method: "GET", url: "/api/benchmarks/abc/outputs", status: 400},
		{name: "outputs missing run", method: "GET", url: "/api/benchmarks/999/outputs", status: 404},
		{name: "benchmark busy", method: "POST", url: "/api/models/3/benchmark", status: 409, contains: []string{"busy"}},
		{name: "benchmark missing", method: "POST", url: "/api/models/999/benchmark", status: 404},
		{name: "benchmark bad samples", method: "POST", url: "/api/models/2/benchmark", body: `{"samples":-1}`, status: 400},
		{name: "post unknown item route", method: "POST", url: "/api/models/2/explode", status: 404},
		{name: "benchmark ok", method: "POST", url: "/api/models/2/benchmark", headers: sameOrigin, body: `{"samples":5}`, status: 202,
			contains: []string{`"model_id":"org/spare-GGUF:Q8_0"`, "/ws/model-install/org%2Fspare-GGUF:Q8_0"}},
		{name: "delete busy", method: "DELETE", url: "/api/models/3", status: 409},
		{name: "delete missing", method: "DELETE", url: "/api/models/999", status: 404},
		{name: "delete ok", method: "DELETE", url: "/api/models/1", headers: sameOrigin, status: 200, contains: []string{`"deleted":"org/tested-GGUF:Q4_K_M"`}},
		{name: "deleted is gone", method: "GET", url: "/api/models/1", status: 404},
		{name: "deleted runs gone", method: "GET", url: "/api/benchmarks/1/outputs", status: 404},
		{name: "hardware", method: "GET", url: "/api/hardware", status: 200, contains: []string{`"test cpu"`}},
		{name: "unknown api", method: "GET", url: "/api/nope", status: 404, contains: []string{`"success":false`}},
		// pages
		{name: "root redirects", method: "GET", url: "/", status: 302, respHdr: map[string]string{"Location": "/workbench.html"}},
		{name: "add-model page", method: "GET", url: "/add-model.html", status: 200, contains: []string{`id="content"`, `id="analyze"`, `id="install"`},
			respHdr: map[string]string{"Content-Type": "text/html", "Cache-Control": "no-cache", "ETag": `"`,
				"Content-Security-Policy": "default-src 'self'", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}},
		{name: "workbench page", method: "GET", url: "/workbench.html", status: 200, contains: []string{`id="models"`}},
		{name: "script", method: "GET", url: "/add-model.js", status: 200, respHdr: map[string]string{"Content-Type": "javascript"}},
		{name: "missing page", method: "GET", url: "/nope.html", status: 404},
		{name: "dot-dot is cleaned", method: "GET", url: "/../../etc/passwd", status: 307, forbidden: []string{"root:"}},
		{name: "only embedded files", method: "GET", url: "/etc/passwd", status: 404, forbidden: []string{"root:"}},
		{name: "no embed.go", method: "GET", url: "/embed.go", status: 404},
		// security
		{name: "rebinding host", method: "GET", url: "/api/models", headers: map[string]string{"Host": "evil.example:" + portOf(host)},
			status: 403, contains: []string{"not allowed"}, forbidden: []string{"org/spare"}},
		{name: "rebinding host on page", method: "GET", url: "/add-model.html", headers: map[string]string{"Host": "evil.example"}, status: 403},
		{name: "localhost name ok", method: "GET", url: "/healthz", headers: map[string]string{"Host": "localhost:" + portOf(host)}, status: 200},
		{name: "ipv6 loopback ok", method: "GET", url: "/healthz", headers: map[string]string{"Host": "[::1]:" + portOf(host)}, status: 200},
		{name: "cross-origin POST", method: "POST", url: "/api/models/install", body: `{"model_id":"org/x:Q4_0"}`,
			headers: map[string]string{"Origin": "http://evil.example"}, status: 403, contains: []string{"cross-origin"}},
		{name: "other local port POST", method: "POST", url: "/api/models/analyze", body: `{"content":"org/x"}`,
			headers: map[string]string{"Origin": "http://127.0.0.1:1"}, status: 403},
		{name: "null origin DELETE", method: "DELETE", url: "/api/models/2", headers: map[string]string{"Origin": "null"}, status: 403},
		{name: "cross-site fetch metadata", method: "POST", url: "/api/models/analyze", body: `{"content":"org/x"}`,
			headers: map[string]string{"Sec-Fetch-Site": "cross-site"}, status: 403},
		{name: "cross-origin websocket", method: "GET", url: "/ws/model-install/org%2Fbusy-GGUF:Q4_0",
			headers: map[string]string{"Origin": "http://evil.example", "Connection": "Upgrade", "Upgrade": "websocket",
				"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}, status: 403},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, base) })
	}
}

func portOf(hostport string) string {
	i := strings.LastIndex(hostport, ":")
	return hostport[i+1:]
}

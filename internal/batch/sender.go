package batch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/fitbench/fitbench/internal/engine"
)

// maxResponseBytes bounds one engine answer kept in the output file.
const maxResponseBytes = 32 << 20

// answer is what one request to the engine returned. err is set when there is
// no HTTP answer at all (connection refused, timeout): those are retried.
type answer struct {
	status       int
	body         json.RawMessage
	promptTokens int
	outputTokens int
	err          error
}

// sender sends one request in the OpenAI shape and returns an OpenAI-shaped
// response body, whatever the engine speaks.
type sender interface {
	send(ctx context.Context, r *Request, maxTokensCap int) answer
}

// newSender picks how to talk to inst: Ollama's native routes with the load
// options of the benchmark (see engine.OllamaNative), else the instance's
// OpenAI-compatible endpoint with the body as given.
func newSender(inst engine.Instance, client *http.Client) sender {
	if base, opts, ok := engine.OllamaNative(inst); ok {
		return &ollamaSender{base: base, model: inst.Model(), load: opts, client: client}
	}
	key := os.Getenv("OPENAI_API_KEY")
	if key == "" {
		key = os.Getenv("FITBENCH_API_KEY")
	}
	return &openaiSender{base: strings.TrimRight(inst.BaseURL(), "/"), model: inst.Model(), key: key, client: client}
}

type openaiSender struct {
	base, model, key string
	client           *http.Client
}

func (s *openaiSender) send(ctx context.Context, r *Request, maxTokensCap int) answer {
	body := make(map[string]json.RawMessage, len(r.Body)+2)
	for k, v := range r.Body {
		body[k] = v
	}
	body["model"] = mustJSON(s.model)
	body["stream"] = json.RawMessage("false")
	delete(body, "stream_options")
	if maxTokensCap > 0 && (r.MaxTokens == 0 || r.MaxTokens > maxTokensCap) {
		body["max_tokens"] = mustJSON(maxTokensCap)
		delete(body, "max_completion_tokens")
	}
	path := "/chat/completions"
	if r.URL == URLCompletions {
		path = "/completions"
	}
	status, raw, err := postRaw(ctx, s.client, s.base+path, s.key, body)
	a := answer{status: status, body: raw, err: err}
	if err == nil && status/100 == 2 {
		var u struct {
			Usage struct {
				PromptTokens     int `json:"prompt_tokens"`
				CompletionTokens int `json:"completion_tokens"`
			} `json:"usage"`
		}
		if json.Unmarshal(raw, &u) != nil {
			a.err = fmt.Errorf("%s answered %d with a body that is not JSON", s.base+path, status)
			return a
		}
		a.promptTokens, a.outputTokens = u.Usage.PromptTokens, u.Usage.CompletionTokens
	}
	return a
}

// postRaw posts body and returns the status and the JSON body. A non-JSON
// error body is wrapped as {"error":{"message":…}} so the output stays JSON.
func postRaw(ctx context.Context, c *http.Client, url, key string, body any) (int, json.RawMessage, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return 0, nil, fmt.Errorf("%s: reading the answer: %w", url, err)
	}
	if len(raw) > maxResponseBytes {
		return 0, nil, fmt.Errorf("%s: answer larger than %d MB", url, maxResponseBytes>>20)
	}
	if !json.Valid(raw) {
		raw = mustJSON(map[string]any{"error": map[string]any{"message": strings.TrimSpace(string(raw)), "type": "engine_error"}})
	}
	return resp.StatusCode, raw, nil
}

// ollamaSender speaks Ollama's /api/chat and /api/generate and translates
// both ways the way Ollama's own /v1 layer does (openai/openai.go:
// FromChatRequest, ToChatCompletion, FromCompleteRequest, ToCompletion),
// adding the model's load options to every request.
type ollamaSender struct {
	base, model string
	load        map[string]any
	client      *http.Client
}

func (s *ollamaSender) send(ctx context.Context, r *Request, maxTokensCap int) answer {
	opts := make(map[string]any, len(s.load)+8)
	for k, v := range s.load {
		opts[k] = v
	}
	// Sampling options from the body, as Ollama's /v1 maps them: temperature
	// and top_p default to 1 (OpenAI's defaults), not the benchmark's 0.
	opts["temperature"], opts["top_p"] = 1.0, 1.0
	for key, opt := range map[string]string{"temperature": "temperature", "top_p": "top_p", "seed": "seed",
		"frequency_penalty": "frequency_penalty", "presence_penalty": "presence_penalty"} {
		if v, ok := r.Body[key]; ok && string(v) != "null" {
			var f float64
			if json.Unmarshal(v, &f) == nil {
				opts[opt] = f
			}
		}
	}
	if v, ok := r.Body["stop"]; ok {
		var one string
		var many []string
		if json.Unmarshal(v, &one) == nil {
			opts["stop"] = []string{one}
		} else if json.Unmarshal(v, &many) == nil {
			opts["stop"] = many
		}
	}
	if n := r.MaxTokens; n > 0 || maxTokensCap > 0 {
		if maxTokensCap > 0 && (n == 0 || n > maxTokensCap) {
			n = maxTokensCap
		}
		opts["num_predict"] = n
	}
	req := map[string]any{"model": s.model, "stream": false, "options": opts}
	if rf, ok := r.Body["response_format"]; ok {
		var f struct {
			Type       string `json:"type"`
			JSONSchema *struct {
				Schema json.RawMessage `json:"schema"`
			} `json:"json_schema"`
		}
		if json.Unmarshal(rf, &f) == nil {
			switch f.Type {
			case "json_object":
				req["format"] = "json"
			case "json_schema":
				if f.JSONSchema != nil {
					req["format"] = f.JSONSchema.Schema
				}
			}
		}
	}
	path := "/api/chat"
	if r.URL == URLChat {
		req["messages"] = r.Chat
		if t, ok := r.Body["tools"]; ok {
			req["tools"] = t
		}
	} else {
		path = "/api/generate"
		req["prompt"] = r.Prompt
		if sfx, ok := r.Body["suffix"]; ok {
			req["suffix"] = sfx
		}
	}
	status, raw, err := postRaw(ctx, s.client, s.base+path, "", req)
	if err != nil {
		return answer{err: err}
	}
	if status != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		msg := string(raw)
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return answer{status: status, body: mustJSON(map[string]any{"error": map[string]any{
			"message": msg, "type": "api_error", "code": nil, "param": nil}})}
	}
	var nr struct {
		Message struct {
			Role      string          `json:"role"`
			Content   string          `json:"content"`
			ToolCalls json.RawMessage `json:"tool_calls"`
		} `json:"message"`
		Response        string `json:"response"`
		DoneReason      string `json:"done_reason"`
		PromptEvalCount int    `json:"prompt_eval_count"`
		EvalCount       int    `json:"eval_count"`
	}
	if err := json.Unmarshal(raw, &nr); err != nil {
		return answer{err: fmt.Errorf("%s: answer is not the expected JSON: %w", s.base+path, err)}
	}
	finish := "stop"
	if nr.DoneReason == "length" {
		finish = "length"
	}
	usage := map[string]int{"prompt_tokens": nr.PromptEvalCount, "completion_tokens": nr.EvalCount,
		"total_tokens": nr.PromptEvalCount + nr.EvalCount}
	var body map[string]any
	if r.URL == URLChat {
		msg := map[string]any{"role": "assistant", "content": nr.Message.Content}
		if len(nr.Message.ToolCalls) > 0 && string(nr.Message.ToolCalls) != "null" {
			msg["tool_calls"] = nr.Message.ToolCalls
			finish = "tool_calls"
		}
		body = map[string]any{"id": newID("chatcmpl-"), "object": "chat.completion", "created": time.Now().Unix(),
			"model": s.model, "system_fingerprint": "fp_ollama",
			"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}}, "usage": usage}
	} else {
		body = map[string]any{"id": newID("cmpl-"), "object": "text_completion", "created": time.Now().Unix(),
			"model": s.model, "system_fingerprint": "fp_ollama",
			"choices": []any{map[string]any{"index": 0, "text": nr.Response, "finish_reason": finish}}, "usage": usage}
	}
	return answer{status: http.StatusOK, body: mustJSON(body), promptTokens: nr.PromptEvalCount, outputTokens: nr.EvalCount}
}

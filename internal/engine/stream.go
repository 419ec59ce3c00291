package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// ErrNotMeasured is returned by Memory when the engine gives no way to measure it.
var ErrNotMeasured = errors.New("memory is not measurable for this engine")

// ErrStreamCut means the response stream ended before the engine said it was done,
// which is what a request sees when the engine dies mid-answer.
var ErrStreamCut = errors.New("response stream ended before completion")

// HTTPError is a non-success answer from an engine.
type HTTPError struct {
	URL    string
	Status int
	Body   string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s: HTTP %d: %s", e.URL, e.Status, strings.TrimSpace(e.Body))
}

// postJSON sends body as JSON and returns the response when its status is 200.
func postJSON(ctx context.Context, c *http.Client, url, apiKey string, body any) (*http.Response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, &HTTPError{URL: url, Status: resp.StatusCode, Body: string(msg)}
	}
	return resp, nil
}

type oaChunk struct {
	Choices []struct {
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	// llama-server adds its own timings to the last chunk.
	Timings *struct {
		PromptN     int     `json:"prompt_n"`
		PromptMS    float64 `json:"prompt_ms"`
		PredictedN  int     `json:"predicted_n"`
		PredictedMS float64 `json:"predicted_ms"`
	} `json:"timings"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// chatOpenAI runs one streaming /chat/completions request against an
// OpenAI-compatible base URL, asking for usage in the final chunk.
func chatOpenAI(ctx context.Context, c *http.Client, baseURL, apiKey, model string, r ChatRequest, onDelta func(string)) (ChatResult, error) {
	body := map[string]any{
		"model":          model,
		"messages":       r.Messages,
		"stream":         true,
		"stream_options": map[string]any{"include_usage": true},
		"temperature":    r.Temperature,
		"seed":           r.Seed,
	}
	if r.MaxTokens > 0 {
		body["max_tokens"] = r.MaxTokens
	}
	url := strings.TrimRight(baseURL, "/") + "/chat/completions"
	resp, err := postJSON(ctx, c, url, apiKey, body)
	if err != nil {
		return ChatResult{}, err
	}
	defer resp.Body.Close()
	var res ChatResult
	var text strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		data, ok := strings.CutPrefix(line, "data:")
		if !ok {
			continue
		}
		data = strings.TrimSpace(data)
		if data == "[DONE]" {
			res.Text = text.String()
			return res, nil
		}
		var ch oaChunk
		if err := json.Unmarshal([]byte(data), &ch); err != nil {
			return res, fmt.Errorf("%s: bad stream chunk: %w", url, err)
		}
		if ch.Error != nil {
			return res, fmt.Errorf("%s: engine error: %s", url, ch.Error.Message)
		}
		for _, c := range ch.Choices {
			if c.Delta.Content != "" {
				text.WriteString(c.Delta.Content)
				onDelta(c.Delta.Content)
			}
			if c.FinishReason != nil && *c.FinishReason != "" {
				res.FinishReason = *c.FinishReason
			}
		}
		if ch.Usage != nil {
			res.PromptTokens = ch.Usage.PromptTokens
			res.OutputTokens = ch.Usage.CompletionTokens
		}
		if t := ch.Timings; t != nil {
			res.Timing = &EngineTiming{
				PromptTokens:   t.PromptN,
				PromptDuration: time.Duration(t.PromptMS * float64(time.Millisecond)),
				EvalTokens:     t.PredictedN,
				EvalDuration:   time.Duration(t.PredictedMS * float64(time.Millisecond)),
			}
		}
	}
	res.Text = text.String()
	if err := sc.Err(); err != nil {
		return res, fmt.Errorf("%s: %w: %w", url, ErrStreamCut, err)
	}
	return res, fmt.Errorf("%s: %w", url, ErrStreamCut)
}

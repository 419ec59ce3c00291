package engine

// OllamaNative gives callers that speak Ollama's native API (the batch runner)
// what every request must carry: the server's base URL (no /v1) and the load
// options (num_ctx, num_gpu, num_thread, seed…) the model was loaded with.
// Ollama reloads a model whenever a request's load options differ
// (server/sched.go needsReload), and its OpenAI-compatible /v1 routes cannot
// carry num_ctx or num_gpu (openai/openai.go FromChatRequest), so a caller that
// must keep the benchmark's settings uses the native routes with these options.
// ok is false for instances of other engines.
func OllamaNative(inst Instance) (baseURL string, options map[string]any, ok bool) {
	oi, isOllama := inst.(*ollamaInstance)
	if !isOllama {
		return "", nil, false
	}
	return oi.host, oi.options(), true
}

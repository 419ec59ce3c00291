package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Run statuses.
const (
	RunRunning   = "running"
	RunCompleted = "completed"
	RunFailed    = "failed"
)

// BenchmarkRun is one row of benchmark_runs. EngineFlags and Hardware are
// free-form JSON objects written by the bench package.
type BenchmarkRun struct {
	ID           int64           `json:"id"`
	ModelID      string          `json:"model_id"`
	Engine       string          `json:"engine"`
	EngineFlags  json.RawMessage `json:"engine_flags"`
	Hardware     json.RawMessage `json:"hardware"`
	Samples      int             `json:"samples"`
	Concurrency  int             `json:"concurrency"`
	OutputTokS   float64         `json:"output_tok_s"`
	TotalTokS    float64         `json:"total_tok_s"`
	PromptTokS   float64         `json:"prompt_tok_s"`
	RequestsPerS float64         `json:"requests_per_s"`
	TTFTMeanMs   float64         `json:"ttft_mean_ms"`
	TTFTP50Ms    float64         `json:"ttft_p50_ms"`
	TTFTP95Ms    float64         `json:"ttft_p95_ms"`
	TTFTP99Ms    float64         `json:"ttft_p99_ms"`
	E2EMeanMs    float64         `json:"e2e_mean_ms"`
	E2EP50Ms     float64         `json:"e2e_p50_ms"`
	E2EP95Ms     float64         `json:"e2e_p95_ms"`
	E2EP99Ms     float64         `json:"e2e_p99_ms"`
	ITLMeanMs    float64         `json:"itl_mean_ms"`
	ITLP50Ms     float64         `json:"itl_p50_ms"`
	ITLP99Ms     float64         `json:"itl_p99_ms"`
	Errors       int             `json:"errors"`
	// EngineTokS is the decode rate from the engine's own timings (decode
	// steps per second; DecodeSource says which timings), 0 when it gave none.
	EngineTokS  float64   `json:"engine_tok_s"`
	MemGPUBytes int64     `json:"mem_gpu_bytes"`
	MemCPUBytes int64     `json:"mem_cpu_bytes"`
	DurationS   float64   `json:"duration_s"`
	Status      string    `json:"status"`
	Error       string    `json:"error"`
	StartedAt   time.Time `json:"started_at"`
	FinishedAt  time.Time `json:"finished_at"` // zero while running

	// Settings (RunSettings), EngineInfo (engine.Info) and Estimate
	// (RunEstimate, recomputed for exactly these settings) as JSON.
	Settings     json.RawMessage `json:"settings"`
	EngineInfo   json.RawMessage `json:"engine_info"`
	Estimate     json.RawMessage `json:"estimate"`
	DecodeSource string          `json:"decode_source"`
	// HarnessE2ETokS is the harness's own figure: per request, output tokens
	// over its end-to-end time, averaged.
	HarnessE2ETokS float64 `json:"harness_e2e_tok_s"`
	// EngineRequestTokS is the same figure from the engine's clock: per request,
	// output tokens over its prompt + eval time, averaged. HarnessE2ETokS never
	// exceeds it (the engine's work happens inside the request).
	EngineRequestTokS float64 `json:"engine_request_tok_s"`
	PromptTokens      int     `json:"prompt_tokens"`
	OutputTokens      int     `json:"output_tokens"`
	// StopReasons counts how completed samples ended (stop, length, repeat_limit).
	StopReasons  map[string]int `json:"stop_reasons"`
	ErrorReasons []ErrorReason  `json:"error_reasons"`
	// Comparison is computed on read: the measurements beside this run's estimate.
	Comparison *RunComparison `json:"comparison,omitempty"`
}

// Output is one sample's result, kept for side-by-side comparison.
type Output struct {
	RunID        int64   `json:"run_id"`
	SampleIndex  int     `json:"sample_index"`
	PromptID     string  `json:"prompt_id"`
	Prompt       string  `json:"prompt"`
	Output       string  `json:"output"`
	PromptTokens int     `json:"prompt_tokens"`
	OutputTokens int     `json:"output_tokens"`
	TTFTMs       float64 `json:"ttft_ms"`
	LatencyMs    float64 `json:"latency_ms"`
	StopReason   string  `json:"stop_reason"`
	Error        string  `json:"error"`
}

// mustJSON encodes v, or def for nil/empty values.
func mustJSON(v any, def string) string {
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return def
	}
	return string(b)
}

func jsonOr(raw json.RawMessage, def string) string {
	if len(raw) == 0 {
		return def
	}
	return string(raw)
}

// StartRun records a run as running (StartedAt defaults to now) and sets r.ID.
func (db *DB) StartRun(ctx context.Context, r *BenchmarkRun) (int64, error) {
	if r.StartedAt.IsZero() {
		r.StartedAt = time.Now()
	}
	r.Status = RunRunning
	res, err := db.w.ExecContext(ctx, `INSERT INTO benchmark_runs
		(id, model_id, engine, engine_flags, hardware, samples, concurrency, status, started_at, settings)
		VALUES (`+nextID("benchmark_runs")+`,?,?,?,?,?,?,?,?,?)`,
		r.ModelID, r.Engine, jsonOr(r.EngineFlags, "{}"), jsonOr(r.Hardware, "{}"), r.Samples,
		r.Concurrency, r.Status, fmtTime(r.StartedAt), jsonOr(r.Settings, "{}"))
	if err != nil {
		return 0, fmt.Errorf("registry: start run for %s: %w", r.ModelID, err)
	}
	r.ID, err = res.LastInsertId()
	return r.ID, err
}

// FinishRun writes every metric, the status (completed unless set to failed)
// and the finish time (default now) of run r.ID.
func (db *DB) FinishRun(ctx context.Context, r *BenchmarkRun) error {
	if r.Status == "" || r.Status == RunRunning {
		r.Status = RunCompleted
	}
	if r.FinishedAt.IsZero() {
		r.FinishedAt = time.Now()
	}
	res, err := db.w.ExecContext(ctx, `UPDATE benchmark_runs SET engine=?, engine_flags=?, hardware=?,
		samples=?, concurrency=?, output_tok_s=?, total_tok_s=?, prompt_tok_s=?, requests_per_s=?,
		ttft_mean_ms=?, ttft_p50_ms=?, ttft_p95_ms=?, ttft_p99_ms=?, e2e_mean_ms=?, e2e_p50_ms=?,
		e2e_p95_ms=?, e2e_p99_ms=?, itl_mean_ms=?, itl_p50_ms=?, itl_p99_ms=?, errors=?,
		engine_tok_s=?, mem_gpu_bytes=?, mem_cpu_bytes=?, duration_s=?, status=?, error=?,
		finished_at=?, settings=?, engine_info=?, estimate=?, decode_source=?, harness_e2e_tok_s=?,
		prompt_tokens=?, output_tokens=?, stop_reasons=?, error_reasons=?, engine_request_tok_s=? WHERE id=?`,
		r.Engine, jsonOr(r.EngineFlags, "{}"), jsonOr(r.Hardware, "{}"), r.Samples, r.Concurrency,
		r.OutputTokS, r.TotalTokS, r.PromptTokS, r.RequestsPerS, r.TTFTMeanMs, r.TTFTP50Ms,
		r.TTFTP95Ms, r.TTFTP99Ms, r.E2EMeanMs, r.E2EP50Ms, r.E2EP95Ms, r.E2EP99Ms, r.ITLMeanMs,
		r.ITLP50Ms, r.ITLP99Ms, r.Errors, r.EngineTokS, r.MemGPUBytes, r.MemCPUBytes, r.DurationS,
		r.Status, r.Error, fmtTime(r.FinishedAt), jsonOr(r.Settings, "{}"), jsonOr(r.EngineInfo, "{}"),
		jsonOr(r.Estimate, "{}"), r.DecodeSource, r.HarnessE2ETokS, r.PromptTokens, r.OutputTokens,
		mustJSON(r.StopReasons, "{}"), mustJSON(r.ErrorReasons, "[]"), r.EngineRequestTokS, r.ID)
	return affected(res, err, "finish run", fmt.Sprint(r.ID))
}

// AddOutputs stores per-sample outputs of a run in one transaction.
func (db *DB) AddOutputs(ctx context.Context, runID int64, outs []Output) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("registry: add outputs: %w", err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO benchmark_outputs (run_id, sample_index, prompt_id,
		prompt, output, prompt_tokens, output_tokens, ttft_ms, latency_ms, error, stop_reason) VALUES (?,?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return fmt.Errorf("registry: add outputs: %w", err)
	}
	defer st.Close()
	for _, o := range outs {
		if _, err := st.ExecContext(ctx, runID, o.SampleIndex, o.PromptID, o.Prompt, o.Output,
			o.PromptTokens, o.OutputTokens, o.TTFTMs, o.LatencyMs, o.Error, o.StopReason); err != nil {
			return fmt.Errorf("registry: add output %d of run %d: %w", o.SampleIndex, runID, err)
		}
	}
	return tx.Commit()
}

const runCols = `id, model_id, engine, engine_flags, hardware, samples, concurrency, output_tok_s,
	total_tok_s, prompt_tok_s, requests_per_s, ttft_mean_ms, ttft_p50_ms, ttft_p95_ms, ttft_p99_ms,
	e2e_mean_ms, e2e_p50_ms, e2e_p95_ms, e2e_p99_ms, itl_mean_ms, itl_p50_ms, itl_p99_ms, errors,
	engine_tok_s, mem_gpu_bytes, mem_cpu_bytes, duration_s, status, error, started_at, finished_at,
	settings, engine_info, estimate, decode_source, harness_e2e_tok_s, prompt_tokens, output_tokens,
	stop_reasons, error_reasons, engine_request_tok_s`

func scanRun(s scanner) (*BenchmarkRun, error) {
	var r BenchmarkRun
	var flags, hw, started, finished, settings, info, est, stops, errs string
	err := s.Scan(&r.ID, &r.ModelID, &r.Engine, &flags, &hw, &r.Samples, &r.Concurrency, &r.OutputTokS,
		&r.TotalTokS, &r.PromptTokS, &r.RequestsPerS, &r.TTFTMeanMs, &r.TTFTP50Ms, &r.TTFTP95Ms,
		&r.TTFTP99Ms, &r.E2EMeanMs, &r.E2EP50Ms, &r.E2EP95Ms, &r.E2EP99Ms, &r.ITLMeanMs, &r.ITLP50Ms,
		&r.ITLP99Ms, &r.Errors, &r.EngineTokS, &r.MemGPUBytes, &r.MemCPUBytes, &r.DurationS, &r.Status,
		&r.Error, &started, &finished, &settings, &info, &est, &r.DecodeSource, &r.HarnessE2ETokS,
		&r.PromptTokens, &r.OutputTokens, &stops, &errs, &r.EngineRequestTokS)
	if err != nil {
		return nil, err
	}
	r.EngineFlags, r.Hardware = json.RawMessage(flags), json.RawMessage(hw)
	r.Settings, r.EngineInfo, r.Estimate = json.RawMessage(settings), json.RawMessage(info), json.RawMessage(est)
	r.StartedAt, r.FinishedAt = parseTime(started), parseTime(finished)
	r.StopReasons, r.ErrorReasons = map[string]int{}, []ErrorReason{}
	_ = json.Unmarshal([]byte(stops), &r.StopReasons) // written by FinishRun; a bad value reads as none
	_ = json.Unmarshal([]byte(errs), &r.ErrorReasons)
	r.compare()
	return &r, nil
}

// ListRuns returns a model's runs, newest first.
func (db *DB) ListRuns(ctx context.Context, modelID string) ([]*BenchmarkRun, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+runCols+` FROM benchmark_runs WHERE model_id=?
		ORDER BY started_at DESC, id DESC`, modelID)
	if err != nil {
		return nil, fmt.Errorf("registry: list runs %s: %w", modelID, err)
	}
	defer rows.Close()
	out := []*BenchmarkRun{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("registry: list runs %s: %w", modelID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// GetRun returns one run.
func (db *DB) GetRun(ctx context.Context, id int64) (*BenchmarkRun, error) {
	r, err := scanRun(db.r.QueryRowContext(ctx, `SELECT `+runCols+` FROM benchmark_runs WHERE id=?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("registry: run %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("registry: get run %d: %w", id, err)
	}
	return r, nil
}

// ListOutputs returns a run's outputs in sample order.
func (db *DB) ListOutputs(ctx context.Context, runID int64) ([]Output, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT run_id, sample_index, prompt_id, prompt, output,
		prompt_tokens, output_tokens, ttft_ms, latency_ms, error, stop_reason FROM benchmark_outputs
		WHERE run_id=? ORDER BY sample_index`, runID)
	if err != nil {
		return nil, fmt.Errorf("registry: list outputs %d: %w", runID, err)
	}
	defer rows.Close()
	out := []Output{}
	for rows.Next() {
		var o Output
		if err := rows.Scan(&o.RunID, &o.SampleIndex, &o.PromptID, &o.Prompt, &o.Output, &o.PromptTokens,
			&o.OutputTokens, &o.TTFTMs, &o.LatencyMs, &o.Error, &o.StopReason); err != nil {
			return nil, fmt.Errorf("registry: list outputs %d: %w", runID, err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

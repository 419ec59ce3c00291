package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Model statuses. A model moves downloading → downloaded → benchmarking →
// tested; any status may become failed (with a reason); untested is a model
// registered without a benchmark.
const (
	StatusDownloading  = "downloading"
	StatusDownloaded   = "downloaded"
	StatusBenchmarking = "benchmarking"
	StatusTested       = "tested"
	StatusFailed       = "failed"
	StatusUntested     = "untested"
)

// File is one file of an installed variant (a variant may span shards).
type File struct {
	Path      string `json:"path"`
	SizeBytes int64  `json:"size_bytes"`
	SHA256    string `json:"sha256"`
	RepoPath  string `json:"repo_path,omitempty"` // the file's path inside its Hub repo ("" for local files and old rows)
}

// Model is one row of model_registry. JSON names equal the column names, so
// `fitbench list --json` prints the original design's columns. Zero numbers
// mean "unknown"; estimates and measurements live in separate columns.
type Model struct {
	ID                     int64     `json:"id"`
	ModelID                string    `json:"model_id"` // org/repo:QUANT
	Name                   string    `json:"name"`
	LocalPath              string    `json:"local_path"`
	QuantizationType       string    `json:"quantization_type"`
	SizeGB                 float64   `json:"size_gb"` // 10^9 bytes
	EstimatedMemoryGB      float64   `json:"estimated_memory_gb"`
	CPUOffloadGB           float64   `json:"cpu_offload_gb"`
	ThroughputTokensPerSec float64   `json:"throughput_tokens_per_sec"` // measured output tok/s (see UpdateMeasured)
	Status                 string    `json:"status"`
	StatusReason           string    `json:"status_reason"`
	Repo                   string    `json:"repo"`
	Revision               string    `json:"revision"`
	CommitSHA              string    `json:"commit_sha"`
	Files                  []File    `json:"files"`
	Projector              *File     `json:"projector,omitempty"` // vision projector (mmproj) given to the engine beside Files; not a shard
	SizeBytes              int64     `json:"size_bytes"`
	ParamCount             int64     `json:"param_count"`
	Architecture           string    `json:"architecture"`
	ContextLength          int64     `json:"context_length"`
	QualityStars           int       `json:"quality_stars"`
	EstimatedThroughput    float64   `json:"estimated_throughput"` // estimate, tok/s
	OutputTokS             float64   `json:"output_tok_s"`         // measured
	TotalTokS              float64   `json:"total_tok_s"`          // measured
	DecodeTokS             float64   `json:"decode_tok_s"`         // measured decode speed, one stream
	GPULayers              int       `json:"gpu_layers"`
	TotalLayers            int       `json:"total_layers"`
	Source                 string    `json:"source"` // "hub" or "local" (add-local)
	Engine                 string    `json:"engine"` // engine of the last measurement
	CreatedAt              time.Time `json:"created_at"`
	UpdatedAt              time.Time `json:"updated_at"`
}

const modelCols = `id, model_id, name, local_path, quantization_type, size_gb, estimated_memory_gb,
	cpu_offload_gb, throughput_tokens_per_sec, status, status_reason, repo, revision, commit_sha,
	files, size_bytes, param_count, architecture, context_length, quality_stars,
	estimated_throughput, output_tok_s, total_tok_s, gpu_layers, total_layers, source, engine,
	decode_tok_s, projector, created_at, updated_at`

type scanner interface{ Scan(...any) error }

func scanModel(s scanner) (*Model, error) {
	var m Model
	var files, projector, created, updated string
	err := s.Scan(&m.ID, &m.ModelID, &m.Name, &m.LocalPath, &m.QuantizationType, &m.SizeGB,
		&m.EstimatedMemoryGB, &m.CPUOffloadGB, &m.ThroughputTokensPerSec, &m.Status, &m.StatusReason,
		&m.Repo, &m.Revision, &m.CommitSHA, &files, &m.SizeBytes, &m.ParamCount, &m.Architecture,
		&m.ContextLength, &m.QualityStars, &m.EstimatedThroughput, &m.OutputTokS, &m.TotalTokS,
		&m.GPULayers, &m.TotalLayers, &m.Source, &m.Engine, &m.DecodeTokS, &projector, &created, &updated)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(files), &m.Files); err != nil {
		return nil, fmt.Errorf("model %s: files column: %w", m.ModelID, err)
	}
	if m.Files == nil {
		m.Files = []File{}
	}
	if projector != "" {
		m.Projector = &File{}
		if err := json.Unmarshal([]byte(projector), m.Projector); err != nil {
			return nil, fmt.Errorf("model %s: projector column: %w", m.ModelID, err)
		}
	}
	m.CreatedAt, m.UpdatedAt = parseTime(created), parseTime(updated)
	return &m, nil
}

// ValidStatus reports whether s is one of the model statuses.
func ValidStatus(s string) bool {
	switch s {
	case StatusDownloading, StatusDownloaded, StatusBenchmarking, StatusTested, StatusFailed, StatusUntested:
		return true
	}
	return false
}

// UpsertModel inserts m, or updates every column of the row with the same
// model_id (keeping its id and created_at), and returns the row id. It is the
// registration path and writes m.Status as given (default untested) without
// transition checks; later status changes go through SetStatus.
func (db *DB) UpsertModel(ctx context.Context, m *Model) (int64, error) {
	if strings.TrimSpace(m.ModelID) == "" {
		return 0, fmt.Errorf("registry: upsert model: empty model_id")
	}
	if m.Status == "" {
		m.Status = StatusUntested
	}
	if !ValidStatus(m.Status) {
		return 0, fmt.Errorf("registry: upsert model %s: unknown status %q", m.ModelID, m.Status)
	}
	if m.Source == "" {
		m.Source = "hub"
	}
	files := m.Files
	if files == nil {
		files = []File{}
	}
	fj, err := json.Marshal(files)
	if err != nil {
		return 0, err
	}
	pj := []byte{}
	if m.Projector != nil {
		if pj, err = json.Marshal(m.Projector); err != nil {
			return 0, err
		}
	}
	ts := now()
	var id int64
	err = db.w.QueryRowContext(ctx, `INSERT INTO model_registry (
		id, model_id, name, local_path, quantization_type, size_gb, estimated_memory_gb, cpu_offload_gb,
		throughput_tokens_per_sec, status, status_reason, repo, revision, commit_sha, files, size_bytes,
		param_count, architecture, context_length, quality_stars, estimated_throughput, output_tok_s,
		total_tok_s, gpu_layers, total_layers, source, engine, decode_tok_s, projector, created_at, updated_at)
		VALUES (`+nextID("model_registry")+`,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(model_id) DO UPDATE SET
		name=excluded.name, local_path=excluded.local_path, quantization_type=excluded.quantization_type,
		size_gb=excluded.size_gb, estimated_memory_gb=excluded.estimated_memory_gb,
		cpu_offload_gb=excluded.cpu_offload_gb, throughput_tokens_per_sec=excluded.throughput_tokens_per_sec,
		status=excluded.status, status_reason=excluded.status_reason, repo=excluded.repo,
		revision=excluded.revision, commit_sha=excluded.commit_sha, files=excluded.files,
		size_bytes=excluded.size_bytes, param_count=excluded.param_count, architecture=excluded.architecture,
		context_length=excluded.context_length, quality_stars=excluded.quality_stars,
		estimated_throughput=excluded.estimated_throughput, output_tok_s=excluded.output_tok_s,
		total_tok_s=excluded.total_tok_s, gpu_layers=excluded.gpu_layers, total_layers=excluded.total_layers,
		source=excluded.source, engine=excluded.engine, decode_tok_s=excluded.decode_tok_s,
		projector=excluded.projector, updated_at=excluded.updated_at
		RETURNING id`,
		m.ModelID, m.Name, m.LocalPath, m.QuantizationType, m.SizeGB, m.EstimatedMemoryGB, m.CPUOffloadGB,
		m.ThroughputTokensPerSec, m.Status, m.StatusReason, m.Repo, m.Revision, m.CommitSHA, string(fj),
		m.SizeBytes, m.ParamCount, m.Architecture, m.ContextLength, m.QualityStars, m.EstimatedThroughput,
		m.OutputTokS, m.TotalTokS, m.GPULayers, m.TotalLayers, m.Source, m.Engine, m.DecodeTokS, string(pj), ts, ts).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("registry: upsert model %s: %w", m.ModelID, err)
	}
	m.ID = id
	return id, nil
}

// GetModel returns the model whose numeric id or model_id is idOrModelID.
func (db *DB) GetModel(ctx context.Context, idOrModelID string) (*Model, error) {
	q := `SELECT ` + modelCols + ` FROM model_registry WHERE model_id = ?`
	arg := any(idOrModelID)
	if n, err := strconv.ParseInt(idOrModelID, 10, 64); err == nil {
		q = `SELECT ` + modelCols + ` FROM model_registry WHERE id = ?`
		arg = n
	}
	m, err := scanModel(db.r.QueryRowContext(ctx, q, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("registry: model %q: %w", idOrModelID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("registry: get model %q: %w", idOrModelID, err)
	}
	return m, nil
}

// ListModels returns every model, ordered by id.
func (db *DB) ListModels(ctx context.Context) ([]*Model, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+modelCols+` FROM model_registry ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("registry: list models: %w", err)
	}
	defer rows.Close()
	out := []*Model{}
	for rows.Next() {
		m, err := scanModel(rows)
		if err != nil {
			return nil, fmt.Errorf("registry: list models: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// UpdateMeasured stores a benchmark's measured speeds. throughput_tokens_per_sec
// (the column comparisons read) takes the output tok/s — generated tokens per
// second, what a user waits for; total tok/s (prompt + output) is kept beside it.
func (db *DB) UpdateMeasured(ctx context.Context, modelID string, outputTokS, totalTokS float64) error {
	res, err := db.w.ExecContext(ctx, `UPDATE model_registry SET output_tok_s=?, total_tok_s=?,
		throughput_tokens_per_sec=?, updated_at=? WHERE model_id=?`,
		outputTokS, totalTokS, outputTokS, now(), modelID)
	return affected(res, err, "update measured", modelID)
}

// DeleteModel removes the model row; its benchmark runs and outputs go with it
// (ON DELETE CASCADE). Files on disk are the caller's business.
func (db *DB) DeleteModel(ctx context.Context, modelID string) error {
	res, err := db.w.ExecContext(ctx, `DELETE FROM model_registry WHERE model_id=?`, modelID)
	return affected(res, err, "delete model", modelID)
}

func affected(res sql.Result, err error, op, key string) error {
	if err != nil {
		return fmt.Errorf("registry: %s %s: %w", op, key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("registry: %s %s: %w", op, key, err)
	}
	if n == 0 {
		return fmt.Errorf("registry: %s %q: %w", op, key, ErrNotFound)
	}
	return nil
}

// SetDecode records which engine measured the model last and the single-stream
// decode speed it measured (0 keeps the previous figure): the number the speed
// estimate predicts, so comparisons and calibration read it.
func (db *DB) SetDecode(ctx context.Context, modelID, engine string, decodeTokS float64) error {
	res, err := db.w.ExecContext(ctx, `UPDATE model_registry SET engine=?,
		decode_tok_s=CASE WHEN ?>0 THEN ? ELSE decode_tok_s END, updated_at=? WHERE model_id=?`,
		engine, decodeTokS, decodeTokS, now(), modelID)
	return affected(res, err, "set decode speed", modelID)
}

// ModelsVersion is a number that changes whenever any model row changes, in
// this process or another (a trigger bumps it): a cheap key for caches of
// ListModels.
func (db *DB) ModelsVersion(ctx context.Context) (int64, error) {
	var n int64
	if err := db.r.QueryRowContext(ctx, `SELECT n FROM models_version WHERE id = 1`).Scan(&n); err != nil {
		return 0, fmt.Errorf("registry: models version: %w", err)
	}
	return n, nil
}

// nextID is the SQL expression for a table's next id from id_sequences
// (migration 0006): ids are never reused, even after the newest row is deleted.
func nextID(table string) string {
	return `(SELECT n + 1 FROM id_sequences WHERE name = '` + table + `')`
}

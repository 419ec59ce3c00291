package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Job statuses.
const (
	JobQueued  = "queued"
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// Job is one install_jobs row: an install in progress, recorded so that after
// a crash the next start can resume it or mark it failed.
type Job struct {
	ID        int64           `json:"id"`
	ModelID   string          `json:"model_id"`
	Repo      string          `json:"repo"`
	Revision  string          `json:"revision"`
	Quant     string          `json:"quant"`
	Files     []File          `json:"files"`
	Status    string          `json:"status"`
	Phase     string          `json:"phase"` // free-form: analyzing, downloading, verifying, benchmarking…
	Error     string          `json:"error"`
	Options   json.RawMessage `json:"options"` // the install options, to resume with the same ones
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// CreateJob inserts j (status defaults to queued) and sets j.ID.
func (db *DB) CreateJob(ctx context.Context, j *Job) (int64, error) {
	if j.Status == "" {
		j.Status = JobQueued
	}
	files, err := json.Marshal(nonNilFiles(j.Files))
	if err != nil {
		return 0, err
	}
	ts := now()
	res, err := db.w.ExecContext(ctx, `INSERT INTO install_jobs (model_id, repo, revision, quant, files,
		status, phase, error, options, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		j.ModelID, j.Repo, j.Revision, j.Quant, string(files), j.Status, j.Phase, j.Error,
		jsonOr(j.Options, "{}"), ts, ts)
	if err != nil {
		return 0, fmt.Errorf("registry: create job for %s: %w", j.ModelID, err)
	}
	j.ID, err = res.LastInsertId()
	j.CreatedAt, j.UpdatedAt = parseTime(ts), parseTime(ts)
	return j.ID, err
}

// UpdateJob writes j's files, status, phase, error and options.
func (db *DB) UpdateJob(ctx context.Context, j *Job) error {
	files, err := json.Marshal(nonNilFiles(j.Files))
	if err != nil {
		return err
	}
	ts := now()
	res, err := db.w.ExecContext(ctx, `UPDATE install_jobs SET files=?, status=?, phase=?, error=?,
		options=?, updated_at=? WHERE id=?`,
		string(files), j.Status, j.Phase, j.Error, jsonOr(j.Options, "{}"), ts, j.ID)
	if err == nil {
		j.UpdatedAt = parseTime(ts)
	}
	return affected(res, err, "update job", fmt.Sprint(j.ID))
}

const jobCols = `id, model_id, repo, revision, quant, files, status, phase, error, options, created_at, updated_at`

func scanJob(s scanner) (*Job, error) {
	var j Job
	var files, opts, created, updated string
	if err := s.Scan(&j.ID, &j.ModelID, &j.Repo, &j.Revision, &j.Quant, &files, &j.Status, &j.Phase,
		&j.Error, &opts, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(files), &j.Files); err != nil {
		return nil, fmt.Errorf("job %d: files column: %w", j.ID, err)
	}
	j.Options = json.RawMessage(opts)
	j.CreatedAt, j.UpdatedAt = parseTime(created), parseTime(updated)
	return &j, nil
}

// GetJob returns one job.
func (db *DB) GetJob(ctx context.Context, id int64) (*Job, error) {
	j, err := scanJob(db.r.QueryRowContext(ctx, `SELECT `+jobCols+` FROM install_jobs WHERE id=?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("registry: job %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("registry: get job %d: %w", id, err)
	}
	return j, nil
}

// ListUnfinishedJobs returns queued and running jobs, oldest first: the work
// a crash interrupted.
func (db *DB) ListUnfinishedJobs(ctx context.Context) ([]*Job, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+jobCols+` FROM install_jobs
		WHERE status IN ('queued','running') ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("registry: list jobs: %w", err)
	}
	defer rows.Close()
	out := []*Job{}
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("registry: list jobs: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

func nonNilFiles(f []File) []File {
	if f == nil {
		return []File{}
	}
	return f
}

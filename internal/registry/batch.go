package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Batch job states (the OpenAI Batch API's names where they exist).
const (
	BatchQueued    = "queued"
	BatchRunning   = "running"
	BatchCompleted = "completed"
	BatchFailed    = "failed"
	BatchCancelled = "cancelled"
)

// Batch line states.
const (
	LinePending = "pending"
	LineDone    = "done"
	LineFailed  = "failed"
)

// BatchJob is one batch_jobs row: an input file, where its results go, the
// job's settings, counters and measured throughput.
type BatchJob struct {
	ID              int64           `json:"id"`
	ModelID         string          `json:"model_id"`
	Engine          string          `json:"engine"`
	InputPath       string          `json:"input_path"`
	InputSize       int64           `json:"input_size"`
	InputMTime      string          `json:"input_mtime"`
	OutputPath      string          `json:"output_path"`
	ErrorPath       string          `json:"error_path"`
	State           string          `json:"state"`
	CancelRequested bool            `json:"cancel_requested"`
	Error           string          `json:"error"`
	Settings        json.RawMessage `json:"settings"`
	TotalLines      int             `json:"total_lines"`
	DoneLines       int             `json:"done_lines"`   // answered by the engine (output file)
	FailedLines     int             `json:"failed_lines"` // in the error file
	PromptTokens    int64           `json:"prompt_tokens"`
	OutputTokens    int64           `json:"output_tokens"`
	OutBytes        int64           `json:"out_bytes"` // committed length of the output file
	ErrBytes        int64           `json:"err_bytes"` // committed length of the error file
	RunSeconds      float64         `json:"run_seconds"`
	OutputTokS      float64         `json:"output_tok_s"` // measured: output tokens / running time
	LinesPerS       float64         `json:"lines_per_s"`
	CreatedAt       time.Time       `json:"created_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
	StartedAt       time.Time       `json:"started_at"`
	FinishedAt      time.Time       `json:"finished_at"`
}

// Finished reports whether the job is in a final state.
func (j *BatchJob) Finished() bool {
	return j.State == BatchCompleted || j.State == BatchFailed || j.State == BatchCancelled
}

// BatchLine is one input line in the job's index.
type BatchLine struct {
	LineNo   int    `json:"line_no"` // 1-based
	Offset   int64  `json:"offset"`
	Length   int    `json:"length"`
	Hash     string `json:"hash"`
	CustomID string `json:"custom_id"`
	State    string `json:"state"`
}

// LineResult is a finished line to commit.
type LineResult struct {
	LineNo       int
	Failed       bool
	PromptTokens int
	OutputTokens int
}

const batchCols = `id, model_id, engine, input_path, input_size, input_mtime, output_path, error_path, state,
	cancel_requested, error, settings, total_lines, done_lines, failed_lines, prompt_tokens, output_tokens,
	out_bytes, err_bytes, run_seconds, output_tok_s, lines_per_s, created_at, updated_at, started_at, finished_at`

func scanBatch(s scanner) (*BatchJob, error) {
	var j BatchJob
	var settings, created, updated, started, finished string
	var cancel int
	if err := s.Scan(&j.ID, &j.ModelID, &j.Engine, &j.InputPath, &j.InputSize, &j.InputMTime, &j.OutputPath,
		&j.ErrorPath, &j.State, &cancel, &j.Error, &settings, &j.TotalLines, &j.DoneLines, &j.FailedLines,
		&j.PromptTokens, &j.OutputTokens, &j.OutBytes, &j.ErrBytes, &j.RunSeconds, &j.OutputTokS, &j.LinesPerS,
		&created, &updated, &started, &finished); err != nil {
		return nil, err
	}
	j.CancelRequested = cancel != 0
	j.Settings = json.RawMessage(settings)
	j.CreatedAt, j.UpdatedAt = parseTime(created), parseTime(updated)
	j.StartedAt, j.FinishedAt = parseTime(started), parseTime(finished)
	return &j, nil
}

// CreateBatchJob inserts the job and its line index in one transaction and
// sets j.ID. Nothing is visible until both are in. When j.OutputPath or
// j.ErrorPath is empty, paths (given the new id) fills them in the same
// transaction.
func (db *DB) CreateBatchJob(ctx context.Context, j *BatchJob, lines []BatchLine, paths func(id int64) (out, errs string, err error)) error {
	if j.State == "" {
		j.State = BatchQueued
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("registry: create batch job: %w", err)
	}
	defer tx.Rollback()
	ts := now()
	res, err := tx.ExecContext(ctx, `INSERT INTO batch_jobs (model_id, engine, input_path, input_size, input_mtime,
		output_path, error_path, state, settings, total_lines, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
		j.ModelID, j.Engine, j.InputPath, j.InputSize, j.InputMTime, j.OutputPath, j.ErrorPath, j.State,
		jsonOr(j.Settings, "{}"), len(lines), ts, ts)
	if err != nil {
		return fmt.Errorf("registry: create batch job: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return err
	}
	if (j.OutputPath == "" || j.ErrorPath == "") && paths != nil {
		out, errs, err := paths(id)
		if err != nil {
			return err
		}
		if j.OutputPath == "" {
			j.OutputPath = out
		}
		if j.ErrorPath == "" {
			j.ErrorPath = errs
		}
		if _, err := tx.ExecContext(ctx, `UPDATE batch_jobs SET output_path=?, error_path=? WHERE id=?`, j.OutputPath, j.ErrorPath, id); err != nil {
			return fmt.Errorf("registry: create batch job: %w", err)
		}
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO batch_lines (job_id, line_no, offset, length, hash, custom_id, state)
		VALUES (?,?,?,?,?,?,'pending')`)
	if err != nil {
		return fmt.Errorf("registry: create batch job: %w", err)
	}
	defer stmt.Close()
	for _, l := range lines {
		if _, err := stmt.ExecContext(ctx, id, l.LineNo, l.Offset, l.Length, l.Hash, l.CustomID); err != nil {
			return fmt.Errorf("registry: batch job line %d: %w", l.LineNo, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("registry: create batch job: %w", err)
	}
	j.ID, j.TotalLines = id, len(lines)
	j.CreatedAt, j.UpdatedAt = parseTime(ts), parseTime(ts)
	return nil
}

// GetBatchJob returns one job.
func (db *DB) GetBatchJob(ctx context.Context, id int64) (*BatchJob, error) {
	j, err := scanBatch(db.r.QueryRowContext(ctx, `SELECT `+batchCols+` FROM batch_jobs WHERE id=?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("registry: batch job %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("registry: get batch job %d: %w", id, err)
	}
	return j, nil
}

// ListBatchJobs returns every job, newest first.
func (db *DB) ListBatchJobs(ctx context.Context) ([]*BatchJob, error) {
	return db.listBatch(ctx, `SELECT `+batchCols+` FROM batch_jobs ORDER BY id DESC`)
}

// ListUnfinishedBatchJobs returns queued and running jobs, oldest first: the
// work a crash or a server restart interrupted.
func (db *DB) ListUnfinishedBatchJobs(ctx context.Context) ([]*BatchJob, error) {
	return db.listBatch(ctx, `SELECT `+batchCols+` FROM batch_jobs WHERE state IN ('queued','running') ORDER BY id`)
}

func (db *DB) listBatch(ctx context.Context, q string) ([]*BatchJob, error) {
	rows, err := db.r.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("registry: list batch jobs: %w", err)
	}
	defer rows.Close()
	out := []*BatchJob{}
	for rows.Next() {
		j, err := scanBatch(rows)
		if err != nil {
			return nil, fmt.Errorf("registry: list batch jobs: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// PendingBatchLines returns the lines not finished yet, in file order.
func (db *DB) PendingBatchLines(ctx context.Context, id int64) ([]BatchLine, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT line_no, offset, length, hash, custom_id, state FROM batch_lines
		WHERE job_id=? AND state='pending' ORDER BY line_no`, id)
	if err != nil {
		return nil, fmt.Errorf("registry: batch job %d lines: %w", id, err)
	}
	defer rows.Close()
	var out []BatchLine
	for rows.Next() {
		var l BatchLine
		if err := rows.Scan(&l.LineNo, &l.Offset, &l.Length, &l.Hash, &l.CustomID, &l.State); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// CommitBatchLines records finished lines together with the output and error
// files' new committed lengths, in one transaction: after it the lines count
// as done and their bytes as kept. A line already finished is an error (it
// would be a duplicate in the output), and the whole commit is refused.
func (db *DB) CommitBatchLines(ctx context.Context, id int64, rs []LineResult, outBytes, errBytes int64) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("registry: commit batch lines: %w", err)
	}
	defer tx.Rollback()
	var done, failed int
	var pt, ot int64
	for _, r := range rs {
		st := LineDone
		if r.Failed {
			st, failed = LineFailed, failed+1
		} else {
			done++
		}
		pt += int64(r.PromptTokens)
		ot += int64(r.OutputTokens)
		res, err := tx.ExecContext(ctx, `UPDATE batch_lines SET state=? WHERE job_id=? AND line_no=? AND state='pending'`,
			st, id, r.LineNo)
		if err := affected(res, err, "commit batch line", fmt.Sprintf("%d:%d", id, r.LineNo)); err != nil {
			return err
		}
	}
	res, err := tx.ExecContext(ctx, `UPDATE batch_jobs SET done_lines=done_lines+?, failed_lines=failed_lines+?,
		prompt_tokens=prompt_tokens+?, output_tokens=output_tokens+?, out_bytes=?, err_bytes=?, updated_at=? WHERE id=?`,
		done, failed, pt, ot, outBytes, errBytes, now(), id)
	if err := affected(res, err, "commit batch lines", fmt.Sprint(id)); err != nil {
		return err
	}
	return tx.Commit()
}

// SetBatchState moves a job to state with an error message ("" clears it).
// Running stamps started_at the first time; final states stamp finished_at.
func (db *DB) SetBatchState(ctx context.Context, id int64, state, msg string) error {
	ts := now()
	q := `UPDATE batch_jobs SET state=?, error=?, updated_at=?`
	args := []any{state, msg, ts}
	switch state {
	case BatchRunning:
		q += `, started_at=CASE WHEN started_at='' THEN ? ELSE started_at END, finished_at='', cancel_requested=0`
		args = append(args, ts)
	case BatchCompleted, BatchFailed, BatchCancelled:
		q += `, finished_at=?`
		args = append(args, ts)
	case BatchQueued:
		q += `, finished_at='', cancel_requested=0`
	}
	res, err := db.w.ExecContext(ctx, q+` WHERE id=?`, append(args, id)...)
	return affected(res, err, "set batch state", fmt.Sprint(id))
}

// SetBatchEngine records the engine and the settings the job runs with.
func (db *DB) SetBatchEngine(ctx context.Context, id int64, engine string, settings json.RawMessage) error {
	res, err := db.w.ExecContext(ctx, `UPDATE batch_jobs SET engine=?, settings=?, updated_at=? WHERE id=?`,
		engine, jsonOr(settings, "{}"), now(), id)
	return affected(res, err, "set batch engine", fmt.Sprint(id))
}

// SetBatchThroughput records the measured running time and rates.
func (db *DB) SetBatchThroughput(ctx context.Context, id int64, runSeconds, outputTokS, linesPerS float64) error {
	res, err := db.w.ExecContext(ctx, `UPDATE batch_jobs SET run_seconds=?, output_tok_s=?, lines_per_s=?, updated_at=? WHERE id=?`,
		runSeconds, outputTokS, linesPerS, now(), id)
	return affected(res, err, "set batch throughput", fmt.Sprint(id))
}

// RequestBatchCancel flags the job for cancellation; whichever process runs it
// sees the flag within a second. A queued job is cancelled at once.
func (db *DB) RequestBatchCancel(ctx context.Context, id int64) error {
	ts := now()
	res, err := db.w.ExecContext(ctx, `UPDATE batch_jobs SET cancel_requested=1, updated_at=?,
		state=CASE WHEN state='queued' THEN 'cancelled' ELSE state END,
		finished_at=CASE WHEN state='queued' THEN ? ELSE finished_at END WHERE id=?`, ts, ts, id)
	return affected(res, err, "cancel batch job", fmt.Sprint(id))
}

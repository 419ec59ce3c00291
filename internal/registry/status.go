package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ErrInvalidTransition is wrapped by *TransitionError.
var ErrInvalidTransition = errors.New("invalid status transition")

// TransitionError says which status change was refused.
type TransitionError struct {
	ModelID, From, To string
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("registry: model %s: cannot go from %q to %q", e.ModelID, e.From, e.To)
}

func (e *TransitionError) Unwrap() error { return ErrInvalidTransition }

// transitions lists the allowed moves besides "to failed" and "to itself",
// which are always allowed. benchmarking may also return to downloaded,
// untested or tested: a benchmark that was interrupted restores the status
// the model had before it.
var transitions = map[string][]string{
	StatusDownloading:  {StatusDownloaded},
	StatusDownloaded:   {StatusBenchmarking, StatusUntested},
	StatusBenchmarking: {StatusTested, StatusDownloaded, StatusUntested},
	StatusTested:       {StatusBenchmarking},
	StatusUntested:     {StatusBenchmarking, StatusDownloading},
	StatusFailed:       {StatusDownloading, StatusBenchmarking},
}

// CanTransition reports whether a model may move from one status to another.
func CanTransition(from, to string) bool {
	if !ValidStatus(to) {
		return false
	}
	if from == to || to == StatusFailed {
		return true
	}
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// SetStatus moves a model to status with a reason (shown to the user; empty
// clears it). A move the lifecycle does not allow returns a *TransitionError.
func (db *DB) SetStatus(ctx context.Context, modelID, status, reason string) error {
	if !ValidStatus(status) {
		return fmt.Errorf("registry: model %s: unknown status %q", modelID, status)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("registry: set status %s: %w", modelID, err)
	}
	defer tx.Rollback()
	var cur string
	err = tx.QueryRowContext(ctx, `SELECT status FROM model_registry WHERE model_id=?`, modelID).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("registry: set status %q: %w", modelID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("registry: set status %s: %w", modelID, err)
	}
	if !CanTransition(cur, status) {
		return &TransitionError{ModelID: modelID, From: cur, To: status}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE model_registry SET status=?, status_reason=?, updated_at=? WHERE model_id=?`,
		status, reason, now(), modelID); err != nil {
		return fmt.Errorf("registry: set status %s: %w", modelID, err)
	}
	return tx.Commit()
}

package registry

import (
	"context"
	"encoding/json"
	"fmt"
)

// MoveFiles points a model's row at new file paths (a layout migration moved
// the files). It only changes the row while local_path is still oldLocal, so a
// concurrent reinstall or a second migrating process is never overwritten, and
// reports whether it changed the row. A non-empty status is written as given
// (the migration marks a row whose file another variant overwrote as failed).
func (db *DB) MoveFiles(ctx context.Context, modelID, oldLocal, newLocal string, files []File, status, reason string) (bool, error) {
	fj, err := json.Marshal(nonNilFiles(files))
	if err != nil {
		return false, err
	}
	q := `UPDATE model_registry SET local_path = ?, files = ?, updated_at = ? WHERE model_id = ? AND local_path = ?`
	args := []any{newLocal, string(fj), now(), modelID, oldLocal}
	if status != "" {
		if !ValidStatus(status) {
			return false, fmt.Errorf("registry: model %s: unknown status %q", modelID, status)
		}
		q = `UPDATE model_registry SET local_path = ?, files = ?, updated_at = ?, status = ?, status_reason = ? WHERE model_id = ? AND local_path = ?`
		args = []any{newLocal, string(fj), now(), status, reason, modelID, oldLocal}
	}
	res, err := db.w.ExecContext(ctx, q, args...)
	if err != nil {
		return false, fmt.Errorf("registry: move files of %s: %w", modelID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

package registry

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// OpenReadOnly opens an existing registry without writing anything: for
// commands that only read (list, show) when the data directory is read-only
// (a read-only mount, a directory owned by another user; issue 14.6). Nothing
// is migrated and every write fails (SQLite's query_only); a registry older than this fitbench is an error that says to
// open it once with write access.
//
// SQLite reads a WAL database read-only only through its -shm index; in a
// read-only directory without one (fitbench closed cleanly, removing it) the
// file is opened as immutable, which is exact because no WAL holds newer
// pages then. A leftover non-empty -wal (a process killed mid-write) that
// cannot be indexed would be ignored by an immutable open, losing its
// changes; that case is refused instead of showing stale rows.
func OpenReadOnly(ctx context.Context, path string) (*DB, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("registry: %s is a directory, not a database file", path)
	}
	if err := checkHeader(path); err != nil {
		return nil, err
	}
	db, err := openRO(ctx, path, false)
	if err != nil && strings.Contains(err.Error(), "unable to open database file") {
		if wal, werr := os.Stat(path + "-wal"); werr == nil && wal.Size() > 0 {
			return nil, fmt.Errorf("registry: %s has changes in %s-wal that a read-only directory does not let SQLite read; open it once where it is writable: %w", path, path, err)
		}
		db, err = openRO(ctx, path, true)
	}
	if err != nil {
		return nil, fmt.Errorf("registry: open %s read-only: %w", path, err)
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("registry: %s read-only: %w", path, wrapDriverErr(err))
	}
	if latest := LatestVersion(); v != latest {
		db.Close()
		if v > latest {
			return nil, fmt.Errorf("registry: %s has schema version %d, newer than this fitbench (knows up to %d); upgrade fitbench", path, v, latest)
		}
		return nil, fmt.Errorf("registry: %s has schema version %d and this fitbench needs %d: run any fitbench command once with the data directory writable to upgrade it", path, v, latest)
	}
	db.remember()
	return db, nil
}

func openRO(ctx context.Context, path string, immutable bool) (*DB, error) {
	q := url.Values{}
	q.Set("mode", "ro")
	if immutable {
		q.Set("immutable", "1")
	}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "query_only(1)")
	d, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	d.SetMaxOpenConns(4)
	if err := d.PingContext(ctx); err != nil {
		d.Close()
		return nil, err
	}
	var n int
	if err := d.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master`).Scan(&n); err != nil {
		d.Close()
		return nil, err
	}
	return &DB{path: path, w: d, r: d, readOnly: true}, nil
}

// ReadOnly reports whether db was opened with OpenReadOnly.
func (db *DB) ReadOnly() bool { return db.readOnly }

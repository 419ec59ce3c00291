// Package registry is fitbench's SQLite store: installed models, benchmark
// runs with their per-sample outputs, and install jobs that survive restarts.
//
// It uses modernc.org/sqlite (pure Go). Every connection gets busy_timeout
// first (so a second process waits instead of failing with SQLITE_BUSY), then
// WAL, foreign keys and synchronous=NORMAL. Writes go through a single
// connection (SetMaxOpenConns(1)) beside a pool of readers, which is how
// SQLite wants concurrent writers to be serialised.
package registry

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ErrNotFound is returned (wrapped) when a model, run or job does not exist.
var ErrNotFound = errors.New("not found")

// ErrNotDatabase means the registry path holds a file that is not a SQLite
// database. The file is left untouched.
var ErrNotDatabase = errors.New("not a SQLite database")

// DB is an open registry. It is safe for concurrent use.
type DB struct {
	path string
	w    *sql.DB // the single writer connection
	r    *sql.DB // read pool

	ident os.FileInfo // the opened file, for CheckFile (identity.go)

	readOnly bool // OpenReadOnly: w is the read pool too, and writes fail
}

// pragmas are applied to every connection, busy_timeout first so that even
// the following pragmas wait for a lock instead of failing.
var pragmas = []string{
	"busy_timeout(5000)",
	"journal_mode(WAL)",
	"foreign_keys(1)",
	"synchronous(NORMAL)",
}

func dsn(path string, txlock string) string {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	if txlock != "" {
		// BEGIN IMMEDIATE takes the write lock up front, so a read-then-write
		// transaction never fails to upgrade when another process wrote.
		q.Set("_txlock", txlock)
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Open opens (creating if needed) the registry at path and migrates it to
// the latest schema. The parent directory must exist. A file that is not a
// SQLite database is reported with ErrNotDatabase and never overwritten.
func Open(path string) (*DB, error) {
	return OpenContext(context.Background(), path)
}

// OpenContext is Open with a context for the migration step.
func OpenContext(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, fmt.Errorf("registry: empty database path")
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("registry: directory %s for %s: %w (create the data directory first)", dir, filepath.Base(path), err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("registry: %s is not a directory", dir)
	}
	if err := checkHeader(path); err != nil {
		return nil, err
	}
	w, err := sql.Open("sqlite", dsn(path, "immediate"))
	if err != nil {
		return nil, fmt.Errorf("registry: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", dsn(path, ""))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("registry: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(max(4, runtime.NumCPU()))
	db := &DB{path: path, w: w, r: r}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("registry: %s: %w", path, err)
	}
	db.remember()
	return db, nil
}

// checkHeader refuses an existing non-empty file whose first bytes are not
// the SQLite magic, before the driver gets a chance to touch it.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	if st.IsDir() {
		return fmt.Errorf("registry: %s is a directory, not a database file", path)
	}
	if st.Size() == 0 {
		return nil // SQLite treats an empty file as a new database
	}
	magic := []byte("SQLite format 3\x00")
	buf := make([]byte, len(magic))
	if _, err := io.ReadFull(f, buf); err != nil || !bytes.Equal(buf, magic) {
		return fmt.Errorf("registry: %s: %w (the file was left untouched; move it aside or use another data directory)", path, ErrNotDatabase)
	}
	return nil
}

// Path returns the database file path.
func (db *DB) Path() string { return db.path }

// Close closes both connection pools.
func (db *DB) Close() error {
	if db.readOnly {
		return db.r.Close()
	}
	return errors.Join(db.r.Close(), db.w.Close())
}

// now is the timestamp format of every *_at column: UTC RFC 3339 with
// milliseconds, which sorts as text.
func now() string { return time.Now().UTC().Format(timeLayout) }

const timeLayout = "2006-01-02T15:04:05.000Z07:00"

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

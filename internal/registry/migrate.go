package registry

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrations are append-only: a released file is never edited, a change is a
// new numbered file. Each runs in its own transaction together with the row
// that records it in schema_migrations, so a crash never leaves half a step.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	ents, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range ents {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %q: name must start with a number and '_'", e.Name())
		}
		b, err := migrationFS.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	// Numbers are handed out per branch of work, so one branch may carry 0008
	// before 0007 lands: a gap is allowed, a duplicate is not, and migrateTo
	// applies every version not yet recorded (in order), not just those above
	// the highest applied.
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations: %s and %s share version %d", ms[i-1].name, ms[i].name, ms[i].version)
		}
	}
	return ms, nil
}

// LatestVersion is the schema version a freshly opened registry has.
func LatestVersion() int {
	ms, _ := loadMigrations()
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// SchemaVersion returns the highest migration applied to this database.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(version),0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// migrate applies every pending migration. Processes that open a brand-new
// registry together (a CLI command beside a starting server) can meet SQLite's
// "database is locked" without the busy handler waiting (the WAL switch and
// lock upgrades on a fresh file return SQLITE_BUSY at once); migrations are
// idempotent (each claims its version first), so a busy attempt is retried.
func (db *DB) migrate(ctx context.Context) error {
	deadline := time.Now().Add(15 * time.Second)
	for attempt := 1; ; attempt++ {
		err := db.migrateTo(ctx, -1)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(min(attempt, 10)) * 20 * time.Millisecond):
		}
	}
}

func isBusy(err error) bool {
	s := err.Error()
	return strings.Contains(s, "SQLITE_BUSY") || strings.Contains(s, "database is locked")
}

// migrateTo applies pending migrations up to version target (-1: all).
func (db *DB) migrateTo(ctx context.Context, target int) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	if _, err := db.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", wrapDriverErr(err))
	}
	applied := map[int]bool{}
	rows, err := db.w.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	known := map[int]bool{}
	for _, m := range ms {
		known[m.version] = true
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("read schema version: %w", err)
		}
		applied[v] = true
		if !known[v] {
			rows.Close()
			return fmt.Errorf("database schema version %d is newer than this fitbench (knows up to %d); upgrade fitbench", v, LatestVersion())
		}
	}
	rows.Close()
	for _, m := range ms {
		if applied[m.version] || (target >= 0 && m.version > target) {
			continue
		}
		tx, err := db.w.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		// Claim the version first: the INSERT is the transaction's first write,
		// so it takes SQLite's write lock (waiting out busy_timeout). Another
		// process that opened the same new registry at the same moment may have
		// applied this migration since the versions were read above; then the
		// claim inserts nothing and this one is skipped, instead of failing
		// with "duplicate column" (seen with a CLI and a server starting together).
		res, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied_at) VALUES (?,?,?) ON CONFLICT(version) DO NOTHING`, m.version, m.name, now())
		if err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: record: %w", m.name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			tx.Rollback()
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: commit: %w", m.name, err)
		}
	}
	return nil
}

// wrapDriverErr turns the driver's "file is not a database" into
// ErrNotDatabase (e.g. a file whose header is fine but whose pages are not).
func wrapDriverErr(err error) error {
	if err != nil && strings.Contains(err.Error(), "file is not a database") {
		return fmt.Errorf("%w: %v", ErrNotDatabase, err)
	}
	return err
}

// appliedVersions returns the recorded migration versions and the highest.
func (db *DB) appliedVersions(ctx context.Context) (map[int]bool, int, error) {
	rows, err := db.w.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out, hi := map[int]bool{}, 0
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, 0, err
		}
		out[v], hi = true, max(hi, v)
	}
	return out, hi, rows.Err()
}

package registry

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
)

// TestConcurrentOpenOfNewRegistry: several openers of one new registry.db (a
// CLI command and a server starting together) all succeed; each migration is
// applied once. Before the claim-first migration, the loser failed with
// "duplicate column name" (seen in TestBusyAcrossProcesses).
func TestConcurrentOpenOfNewRegistry(t *testing.T) {
	for round := 0; round < 5; round++ {
		path := filepath.Join(t.TempDir(), "registry.db")
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db, err := Open(path)
				if err != nil {
					errs <- err
					return
				}
				db.Close()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: concurrent open: %v", round, err)
		}
		db, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var n, distinct int
		if err := db.r.QueryRowContext(context.Background(), `SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).Scan(&n, &distinct); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if n != distinct || n != len(mustMigrations(t)) {
			t.Fatalf("round %d: %d rows, %d versions; want each of %d once", round, n, distinct, len(mustMigrations(t)))
		}
	}
}

func mustMigrations(t *testing.T) []migration {
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

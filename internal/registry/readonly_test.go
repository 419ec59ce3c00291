//go:build linux

package registry

import (
	"context"
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fitbench/fitbench/internal/testutil/fstest"
)

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	out.Close()
}

// TestOpenReadOnly: in a read-only directory (no -shm can be created) the
// registry a clean close left behind opens read-only, reads every row, and
// refuses every write; the writable Open fails there.
func TestOpenReadOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "registry.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpsertModel(ctx, &Model{ModelID: "a/b:Q4_0", Name: "B", Status: StatusUntested, Source: "hub"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	fstest.ReadOnly(t, dir)

	if _, err := Open(path); err == nil {
		t.Fatal("the writable Open succeeded in a read-only directory")
	}
	ro, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if !ro.ReadOnly() {
		t.Error("ReadOnly() is false")
	}
	models, err := ro.ListModels(ctx)
	if err != nil || len(models) != 1 || models[0].Status != StatusUntested {
		t.Fatalf("ListModels: %v %+v", err, models)
	}
	if err := ro.SetStatus(ctx, "a/b:Q4_0", StatusFailed, "x"); err == nil {
		t.Error("a write through a read-only registry succeeded")
	}
	if m, _ := ro.GetModel(ctx, "a/b:Q4_0"); m == nil || m.Status != StatusUntested {
		t.Errorf("after the refused write: %+v", m)
	}
}

// TestOpenReadOnlyRefusesUnreadableWAL: a registry whose last writes are
// still in its -wal (a process killed before checkpointing) cannot be indexed
// in a read-only directory; an immutable open would silently drop them, so
// it is refused with what to do.
func TestOpenReadOnlyRefusesUnreadableWAL(t *testing.T) {
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "registry.db")
	db, err := Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.w.Exec(`PRAGMA wal_autocheckpoint=0`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpsertModel(ctx, &Model{ModelID: "a/b:Q4_0", Name: "B", Status: StatusUntested, Source: "hub"}); err != nil {
		t.Fatal(err)
	}
	// the files as a killed process leaves them, minus the -shm index
	dir := t.TempDir()
	copyFile(t, src, filepath.Join(dir, "registry.db"))
	copyFile(t, src+"-wal", filepath.Join(dir, "registry.db-wal"))
	if st, err := os.Stat(filepath.Join(dir, "registry.db-wal")); err != nil || st.Size() == 0 {
		t.Fatalf("no WAL content to test with: %v", err)
	}
	fstest.ReadOnly(t, dir)
	_, err = OpenReadOnly(ctx, filepath.Join(dir, "registry.db"))
	if err == nil || !strings.Contains(err.Error(), "-wal") || !strings.Contains(err.Error(), "writable") {
		t.Fatalf("OpenReadOnly with an unreadable WAL: %v", err)
	}
}

// TestOpenReadOnlyOldSchema: a read-only open migrates nothing, so an older
// registry is an error that says how to upgrade it.
func TestOpenReadOnlyOldSchema(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "old.db")
	w, _ := sql.Open("sqlite", dsn(path, "immediate"))
	w.SetMaxOpenConns(1)
	r, _ := sql.Open("sqlite", dsn(path, ""))
	old := &DB{path: path, w: w, r: r}
	if err := old.migrateTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	old.Close()
	fstest.ReadOnly(t, dir)
	_, err := OpenReadOnly(ctx, path)
	if err == nil || !strings.Contains(err.Error(), "schema version 1") || !strings.Contains(err.Error(), "writable") {
		t.Fatalf("OpenReadOnly of a version-1 registry: %v", err)
	}
}

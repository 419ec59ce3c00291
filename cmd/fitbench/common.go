package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/fitbench/fitbench/internal/datadir"
	"github.com/fitbench/fitbench/internal/install"
	"github.com/fitbench/fitbench/internal/registry"
)

// homeFlag adds --home (the data directory) to a command.
func homeFlag(fs *flag.FlagSet) *string {
	return fs.String("home", "", "data directory (default $FITBENCH_HOME, else ~/.local/share/fitbench)")
}

// openRegistry resolves the data directory and opens its registry.
func openRegistry(home string) (datadir.Dir, *registry.DB, error) {
	dir, err := datadir.Resolve(home)
	if err == nil {
		var db *registry.DB
		if db, err = registry.Open(dir.DB()); err == nil {
			migrateLayout(db, dir)
			return dir, db, nil
		}
	}
	if loc, lerr := datadir.Locate(home); lerr == nil && isDir(loc.Root) && !loc.Writable() {
		return loc, nil, &readOnlyDirError{Dir: loc.Root, Err: err}
	}
	return dir, nil, err
}

// openRegistryRead opens the registry for a command that only reads (list,
// show, analyze's comparison with installed models). In a data directory
// fitbench cannot write (a read-only mount, another user's directory) the
// registry is opened read-only with a warning, instead of failing (issue 14.6).
func openRegistryRead(home string) (datadir.Dir, *registry.DB, error) {
	dir, db, err := openRegistry(home)
	var ro *readOnlyDirError
	if !errors.As(err, &ro) {
		return dir, db, err
	}
	db, rerr := registry.OpenReadOnly(context.Background(), dir.DB())
	if rerr != nil {
		if errors.Is(rerr, os.ErrNotExist) {
			return dir, nil, fmt.Errorf("%w, and it holds no registry yet", ro)
		}
		return dir, nil, fmt.Errorf("%w; reading it read-only failed too: %v", ro, rerr)
	}
	fmt.Fprintf(os.Stderr, "fitbench: warning: the data directory %s is read-only: showing the registry as it is (install, rm, bench and serve need it writable)\n", cleanTerminal(dir.Root))
	return dir, db, nil
}

// readOnlyDirError: the data directory exists but nothing can be created in it.
type readOnlyDirError struct {
	Dir string
	Err error
}

func (e *readOnlyDirError) Error() string {
	return fmt.Sprintf("the data directory %s is read-only (%v)", e.Dir, e.Err)
}
func (e *readOnlyDirError) Unwrap() error { return e.Err }
func (e *readOnlyDirError) ErrorHint() string {
	return "fitbench records models, downloads and runs there: make it writable, or set FITBENCH_HOME (or --home) to a writable directory"
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// migrateLayout moves files of the first layout (issue 14.2).
func migrateLayout(db *registry.DB, dir datadir.Dir) {
	// Files of the first layout move to models/<org>/<repo>/ (issue 14.2); a
	// failure (a read-only data directory) is retried by the next command.
	if _, err := install.MigratePaths(context.Background(), db, dir); err != nil {
		fmt.Fprintf(os.Stderr, "fitbench: warning: moving model files to the new layout: %s\n", cleanTerminal(err.Error()))
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// jsonError prints the API's error shape on stdout (for --json callers) and
// returns errSilent-wrapped err so the message still reaches stderr.
func jsonError(w io.Writer, err error) error {
	_ = writeJSON(w, map[string]any{"success": false, "error": userMessage(err), "hint": hintOf(err)})
	return err
}

func stars(n int) string {
	if n <= 0 {
		return "-"
	}
	s := ""
	for i := 0; i < 5; i++ {
		if i < n {
			s += "★"
		} else {
			s += "☆"
		}
	}
	return s
}

func orDash(v float64, format string) string {
	if v <= 0 {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

// oneInput returns the single INPUT argument; "-" reads it from standard input
// (how a whole copied model page arrives), up to 8 MB.
func oneInput(e env, args []string, what string) (string, error) {
	if len(args) != 1 {
		return "", fmt.Errorf("%w: give one INPUT (%s)", errUsage, what)
	}
	if args[0] != "-" {
		return args[0], nil
	}
	b, err := io.ReadAll(io.LimitReader(e.stdin, 8<<20))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// openModel takes the single model-id argument of show, rm and bench, opens the
// registry (readOnly: as openRegistryRead, for show) and finds the model. The
// caller closes the registry.
func openModel(ctx context.Context, home string, args []string, readOnly bool) (datadir.Dir, *registry.DB, *registry.Model, error) {
	if len(args) != 1 {
		return datadir.Dir{}, nil, nil, fmt.Errorf("%w: give one model id (see fitbench list)", errUsage)
	}
	open := openRegistry
	if readOnly {
		open = openRegistryRead
	}
	dir, db, err := open(home)
	if err != nil {
		return dir, nil, nil, err
	}
	m, err := db.GetModel(ctx, args[0])
	if err != nil {
		db.Close()
		return dir, nil, nil, err
	}
	return dir, db, m, nil
}

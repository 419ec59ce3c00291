package main

import (
	"context"
	"encoding/json"
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
	if err != nil {
		return dir, nil, err
	}
	db, err := registry.Open(dir.DB())
	if err != nil {
		return dir, nil, err
	}
	// Files of the first layout move to models/<org>/<repo>/ (issue 14.2); a
	// failure (a read-only data directory) is retried by the next command.
	if _, err := install.MigratePaths(context.Background(), db, dir); err != nil {
		fmt.Fprintf(os.Stderr, "fitbench: warning: moving model files to the new layout: %s\n", cleanTerminal(err.Error()))
	}
	return dir, db, nil
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
// registry and finds the model. The caller closes the registry.
func openModel(ctx context.Context, home string, args []string) (datadir.Dir, *registry.DB, *registry.Model, error) {
	if len(args) != 1 {
		return datadir.Dir{}, nil, nil, fmt.Errorf("%w: give one model id (see fitbench list)", errUsage)
	}
	dir, db, err := openRegistry(home)
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

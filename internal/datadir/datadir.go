// Package datadir decides where fitbench keeps its state: the registry, the
// downloaded models and the logs. Everything fitbench writes lives under one
// directory so "never write outside the data directory" is checkable.
package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Dir is a resolved data directory.
type Dir struct{ Root string }

// Resolve picks the data directory (see Locate) and creates it.
func Resolve(flagHome string) (Dir, error) {
	d, err := Locate(flagHome)
	if err != nil {
		return d, err
	}
	for _, sub := range []string{d.Root, d.Models(), d.Logs()} {
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return Dir{}, fmt.Errorf("cannot create the data directory %s: %w (set FITBENCH_HOME to a writable place)", sub, err)
		}
	}
	return d, nil
}

// Locate picks the data directory without creating anything: the explicit
// flag, else $FITBENCH_HOME, else $XDG_DATA_HOME/fitbench, else
// ~/.local/share/fitbench. Read-only commands use it on a data directory
// they cannot write.
func Locate(flagHome string) (Dir, error) {
	root := flagHome
	if root == "" {
		root = os.Getenv("FITBENCH_HOME")
	}
	if root == "" {
		if x := os.Getenv("XDG_DATA_HOME"); x != "" {
			root = filepath.Join(x, "fitbench")
		}
	}
	if root == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return Dir{}, errors.New("cannot find a data directory: set FITBENCH_HOME or pass --home")
		}
		root = filepath.Join(home, ".local", "share", "fitbench")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return Dir{}, fmt.Errorf("data directory %q: %w", root, err)
	}
	return Dir{Root: abs}, nil
}

// Writable reports whether files can be created in the data directory (a
// probe file, which also catches a read-only mount where root's permission
// bits would say yes).
func (d Dir) Writable() bool {
	f, err := os.CreateTemp(d.Root, ".write-probe-*")
	if err != nil {
		return false
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return true
}

// DB is the registry database file.
func (d Dir) DB() string { return filepath.Join(d.Root, "registry.db") }

// Models holds downloaded models as models/<org>/<repo>/<path inside the repo>.
func (d Dir) Models() string { return filepath.Join(d.Root, "models") }

// Logs holds api.log.
func (d Dir) Logs() string { return filepath.Join(d.Root, "logs") }

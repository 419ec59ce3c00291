package registry

import (
	"errors"
	"fmt"
	"net/http"
	"os"
)

// ErrReplaced means registry.db is no longer the file this DB opened: it was
// deleted (or replaced) while fitbench ran. Writes would go to the old,
// unlinked file and vanish on restart, so callers refuse to go on (issue 14.6).
var ErrReplaced = errors.New("the registry file was deleted or replaced")

// ReplacedError is ErrReplaced with the path; the API answers 503.
type ReplacedError struct{ Path string }

func (e *ReplacedError) Error() string {
	return fmt.Sprintf("registry: %s was deleted or replaced while fitbench was running; what is recorded now would be lost", e.Path)
}
func (e *ReplacedError) Unwrap() error   { return ErrReplaced }
func (e *ReplacedError) HTTPStatus() int { return http.StatusServiceUnavailable }
func (e *ReplacedError) ErrorHint() string {
	return "restart fitbench (it opens or creates the registry again)"
}

// remember records the identity (device and inode) of the opened file.
func (db *DB) remember() {
	if st, err := os.Stat(db.path); err == nil {
		db.ident = st
	}
}

// CheckFile reports a *ReplacedError when the file at the registry's path is
// not the one opened.
func (db *DB) CheckFile() error {
	if db.ident == nil {
		return nil
	}
	st, err := os.Stat(db.path)
	if err != nil || !os.SameFile(st, db.ident) {
		return &ReplacedError{Path: db.path}
	}
	return nil
}

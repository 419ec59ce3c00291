package install

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fitbench/fitbench/internal/datadir"
)

// A model's job lock makes "busy" hold across processes (issue 14.4): the
// process that installs or benchmarks a model holds an exclusive flock on
// <data>/locks/<hash of the model id>.lock for as long as the job runs. The
// kernel drops the lock when that process dies, so a lock that can be taken
// means nobody is working on the model, whatever its registry status says
// (a status left "downloading" by a crash is stale), and a lock that cannot be
// taken means a live process is. rm, DELETE /api/models/{id}, bench and
// serve's recovery all ask the lock.

// BusyError refuses an operation on a model another job (in this process or
// another) is working on. It answers 409 through the API.
type BusyError struct {
	ModelID string
	PID     int // the other process, when known (0: this process or unknown)
}

func (e *BusyError) Error() string {
	if e.PID > 0 && e.PID != os.Getpid() {
		return fmt.Sprintf("%s is being installed or benchmarked by another fitbench process (pid %d)", e.ModelID, e.PID)
	}
	return fmt.Sprintf("%s is installing or benchmarking right now", e.ModelID)
}

func (e *BusyError) Unwrap() error   { return ErrBusy }
func (e *BusyError) HTTPStatus() int { return http.StatusConflict }
func (e *BusyError) ErrorHint() string {
	return "wait for the running job to finish, or stop that fitbench process"
}

// ModelLock is a held job lock.
type ModelLock struct {
	path   string
	unlock func()
}

// Release drops the lock (nil-safe).
func (l *ModelLock) Release() {
	if l != nil && l.unlock != nil {
		l.unlock()
		l.unlock = nil
	}
}

func lockPathFor(dir datadir.Dir, modelID string) string {
	h := sha256.Sum256([]byte(modelID))
	return filepath.Join(dir.Root, "locks", hex.EncodeToString(h[:12])+".lock")
}

// TryLockModel takes a model's job lock without waiting; a *BusyError when a
// live process holds it. A zero Dir (tests without a data directory) locks
// nothing.
func TryLockModel(dir datadir.Dir, modelID string) (*ModelLock, error) {
	if dir.Root == "" {
		return &ModelLock{}, nil
	}
	p := lockPathFor(dir, modelID)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", modelID, err)
	}
	unlock, err := tryFlock(p)
	if errors.Is(err, errLocked) {
		return nil, &BusyError{ModelID: modelID, PID: lockHolder(p)}
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", modelID, err)
	}
	return &ModelLock{path: p, unlock: unlock}, nil
}

// lockModelWait waits for the lock while another process holds it.
func lockModelWait(ctx context.Context, dir datadir.Dir, modelID string, waiting func(*BusyError)) (*ModelLock, error) {
	told := false
	for {
		l, err := TryLockModel(dir, modelID)
		var be *BusyError
		if !errors.As(err, &be) {
			return l, err
		}
		if !told && waiting != nil {
			waiting(be)
			told = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// lockedElsewhere reports whether a live process holds a model's job lock.
func lockedElsewhere(dir datadir.Dir, modelID string) bool {
	l, err := TryLockModel(dir, modelID)
	if err != nil {
		var be *BusyError
		return errors.As(err, &be)
	}
	l.Release()
	return false
}

// lockHolder reads the pid the holder wrote into the lock file.
func lockHolder(p string) int {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// Package flock takes an exclusive, non-blocking lock on an open file, per OS:
// flock(2) on unix, LockFileEx on Windows. The kernel releases it when the
// process dies, so a crashed holder never leaves a stale lock.
package flock

import "errors"

// ErrWouldBlock is returned while another process holds the lock.
var ErrWouldBlock = errors.New("locked by another process")

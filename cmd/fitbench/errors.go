package main

import (
	"errors"

	"github.com/fitbench/fitbench/internal/hub"
	"github.com/fitbench/fitbench/internal/source"
)

// hintOf returns the advice attached to err, if any: what the user can do next.
func hintOf(err error) string {
	var se *source.Error
	if errors.As(err, &se) {
		return se.Hint
	}
	var he *hub.Error
	if errors.As(err, &he) {
		return he.Hint
	}
	// hardware.MatchError / OverrideError: advice in the command line's terms.
	var ch interface{ CLIHint() string }
	if errors.As(err, &ch) {
		return ch.CLIHint()
	}
	// errors that carry advice for every interface (download.DiskFullError, …)
	var eh interface{ ErrorHint() string }
	if errors.As(err, &eh) {
		return eh.ErrorHint()
	}
	return ""
}

// userMessage is the error text shown to a user.
func userMessage(err error) string { return err.Error() }

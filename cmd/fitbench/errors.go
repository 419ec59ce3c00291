package main

import "errors"

// hinted is implemented by errors that carry advice for the user.
type hinted interface{ HintText() string }

// hintOf returns the advice attached to err, if any.
func hintOf(err error) string {
	var h hinted
	if errors.As(err, &h) {
		return h.HintText()
	}
	return ""
}

// userMessage is the error text shown to a user.
func userMessage(err error) string { return err.Error() }

package engine

import "fmt"

// NotAvailableError says an engine cannot be used here and what to do about it.
type NotAvailableError struct {
	Engine string
	Msg    string
	Hint   string // what to install or set, and how
	Err    error
}

func (e *NotAvailableError) Error() string {
	s := e.Engine + ": " + e.Msg
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

func (e *NotAvailableError) Unwrap() error { return e.Err }

// LoadError is an engine that started but could not load the model.
type LoadError struct {
	Engine string
	Model  string
	Err    error
}

func (e *LoadError) Error() string {
	return fmt.Sprintf("%s could not load %s: %v", e.Engine, e.Model, e.Err)
}

func (e *LoadError) Unwrap() error { return e.Err }

// Package version holds the fitbench version string, set at link time by the
// Makefile (-ldflags "-X github.com/fitbench/fitbench/internal/version.Version=…").
package version

// Version is "dev" for builds that did not go through the Makefile.
var Version = "dev"

// UserAgent is sent on every outgoing request so Hub operators can tell who called.
func UserAgent() string { return "fitbench/" + Version }

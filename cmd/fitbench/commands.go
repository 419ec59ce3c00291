package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// env is what every subcommand gets: its arguments and the process's streams.
type env struct {
	args   []string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

type command struct {
	name    string
	summary string
	usage   string
	run     func(ctx context.Context, e env) error
}

// commands is filled by each subcommand file's init, so adding a command never
// touches this file.
var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

// errUsage marks an error caused by how the command was called; it exits 2.
var errUsage = errors.New("usage")

// errSilent is returned when the command already printed its error (e.g. as JSON).
var errSilent = errors.New("already reported")

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	stdout, stderr = termWriter{stdout}, termWriter{stderr} // untrusted strings reach both (sanitize.go)
	if len(args) == 0 {
		printHelp(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "--help", "help":
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				// The command's own flag set prints its usage and every flag
				// (-h makes it stop there, before any work).
				fmt.Fprintf(stdout, "%s\n\n", c.summary)
				err := c.run(context.Background(), env{args: []string{"-h"}, stdin: stdin, stdout: stdout, stderr: stdout})
				if err != nil && !errors.Is(err, flag.ErrHelp) {
					fmt.Fprintf(stdout, "%s\n", c.usage)
				}
				return 0
			}
		}
		printHelp(stdout)
		return 0
	case "-v", "--version":
		name = "version"
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "fitbench: unknown command %q\n\n", name)
		printHelp(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := c.run(ctx, env{args: args[1:], stdin: stdin, stdout: stdout, stderr: stderr})
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errSilent):
		return 1
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "fitbench %s: %v\n\n%s\n", name, err, c.usage)
		return 2
	default:
		fmt.Fprintf(stderr, "fitbench %s: %s\n", name, userMessage(err))
		if h := hintOf(err); h != "" {
			fmt.Fprintf(stderr, "hint: %s\n", h)
		}
		return 1
	}
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "fitbench — will this Hugging Face model fit my GPU, how fast, how good? Install and benchmark it.")
	fmt.Fprintln(w, "\nUsage: fitbench COMMAND [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun `fitbench help COMMAND` for a command's flags.")
	fmt.Fprintln(w, "Data directory: $FITBENCH_HOME, else $XDG_DATA_HOME/fitbench, else ~/.local/share/fitbench.")
}

// parseFlags parses flags that may come before or after positional arguments
// (`fitbench analyze URL --json` and `fitbench analyze --json URL` both work).
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if rest[0] == "--" {
			return append(positional, rest[1:]...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

func newFlagSet(name string, e env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "%s\n\nFlags:\n", commands[name].usage)
		fs.PrintDefaults()
	}
	return fs
}

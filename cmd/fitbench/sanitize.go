package main

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"
)

// The CLI prints strings it does not control: a model's general.name, file
// names from a listing, error texts quoting a server. A terminal obeys escape
// sequences in them, so a repo could rewrite the verdict line ("\x1b[2K\r…
// fits") or hide text (issue 14.6). Everything written to stdout and stderr
// goes through termWriter, which replaces control characters.

// progressPrefix is the one control sequence the CLI emits itself (the
// progress bar redraws its line); a Write may start with it.
const progressPrefix = "\r\033[K"

// termWriter replaces C0 controls (except newline and tab), DEL, C1 controls
// and the Unicode bidirectional overrides with "?".
type termWriter struct{ w io.Writer }

func (t termWriter) Write(p []byte) (int, error) {
	if !needsCleaning(p) {
		return t.w.Write(p)
	}
	var b bytes.Buffer
	rest := p
	if bytes.HasPrefix(rest, []byte(progressPrefix)) {
		b.WriteString(progressPrefix)
		rest = rest[len(progressPrefix):]
	}
	b.WriteString(cleanTerminal(string(rest)))
	if _, err := t.w.Write(b.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

func needsCleaning(p []byte) bool {
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRune(p[i:])
		if n == 1 && r == utf8.RuneError {
			i++
			continue // invalid UTF-8 passes through: it is not a control
		}
		if unsafeRune(r) {
			return true
		}
		i += n
	}
	return false
}

func unsafeRune(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // bidi embeddings, overrides, isolates
		return true
	}
	return false
}

// cleanTerminal returns s with unsafe runes replaced by "?".
func cleanTerminal(s string) string {
	return strings.Map(func(r rune) rune {
		if unsafeRune(r) {
			return '?'
		}
		return r
	}, s)
}

package download

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// ErrUnsafePath is wrapped by every SafeJoin refusal.
var ErrUnsafePath = errors.New("unsafe file name")

// SafeJoin joins a repo-relative file name from a Hub listing onto root and
// refuses anything that could land outside root: empty names, absolute paths,
// "..", "." and empty segments, backslashes, NUL and other control bytes.
// File names come from the network, so they are treated as hostile.
func SafeJoin(root, rel string) (string, error) {
	refuse := func(why string) (string, error) {
		return "", fmt.Errorf("download: %w %q: %s", ErrUnsafePath, rel, why)
	}
	if root == "" {
		return "", fmt.Errorf("download: %w: empty root directory", ErrUnsafePath)
	}
	switch {
	case rel == "":
		return refuse("empty name")
	case strings.HasPrefix(rel, "/"):
		return refuse("absolute path")
	case strings.Contains(rel, "\\"):
		return refuse("backslash in name")
	case len(rel) > 1024:
		return refuse("name too long")
	}
	for _, r := range rel {
		if r < 0x20 || r == 0x7f {
			return refuse("control character in name")
		}
	}
	for _, seg := range strings.Split(rel, "/") {
		switch seg {
		case "":
			return refuse("empty path segment")
		case ".", "..":
			return refuse("relative segment " + seg)
		}
		if len(seg) > 255 {
			return refuse("path segment too long")
		}
	}
	cleanRoot := filepath.Clean(root)
	out := filepath.Join(cleanRoot, filepath.FromSlash(rel))
	if !strings.HasPrefix(out, cleanRoot+string(filepath.Separator)) {
		return refuse("escapes the data directory")
	}
	return out, nil
}

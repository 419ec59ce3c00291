package install

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
)

// UnsafeNameError refuses a repo or file name from the Hub's listing that
// could escape the data directory. It is the listing's fault, not
// fitbench's: the API answers 422, not 500 (issue 14.6).
type UnsafeNameError struct {
	What, Name string // "repo name" or "file name"
}

func (e *UnsafeNameError) Error() string {
	if e.What == "repo name" {
		return fmt.Sprintf("refusing unsafe repo name %q", e.Name)
	}
	return fmt.Sprintf("refusing unsafe file name %q in the listing", e.Name)
}

func (e *UnsafeNameError) HTTPStatus() int { return http.StatusUnprocessableEntity }
func (e *UnsafeNameError) ErrorHint() string {
	return "the repo's listing names a path fitbench will not write to; choose another repo or variant"
}

// Where a Hub model's files go: models/<org>/<repo>/<path inside the repo>.
//
// The repo's own folders are kept, so every file of every variant has its own
// place. The first layout, models/<org>_<repo>/<base name>, gave Q4_0/model.gguf
// and Q8_0/model.gguf of one repo the same file (installing one overwrote the
// other's verified file; removing one deleted the other's), and x_y/z and x/y_z
// the same folder (issue 14.2). MigratePaths moves files of that layout.

// repoDir is the folder of a repo's files under the models root. A Hub repo id
// is exactly org/name, and neither part may be a path trick: the listing
// comes from the network.
func repoDir(models, repo string) (string, error) {
	org, name, ok := strings.Cut(repo, "/")
	if !ok || !safeSegment(org) || !safeSegment(name) {
		return "", &UnsafeNameError{What: "repo name", Name: repo}
	}
	return filepath.Join(models, org, name), nil
}

// safeSegment accepts one path element that stays where it is put.
func safeSegment(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\\\x00")
}

// safeFile maps a repo file path to its place under dir (the repo's folder),
// keeping the repo's subfolders, and refuses traversal, absolute paths and
// NULs — a hostile listing must never make fitbench write outside the data
// directory.
func safeFile(dir, repoPath string) (string, error) {
	bad := &UnsafeNameError{What: "file name", Name: repoPath}
	if repoPath == "" || strings.ContainsAny(repoPath, "\\\x00") || strings.HasPrefix(repoPath, "/") {
		return "", bad
	}
	for _, seg := range strings.Split(repoPath, "/") {
		if !safeSegment(seg) {
			return "", bad
		}
		// A repo file named like fitbench's download state would share its
		// place with another file's partial download.
		if strings.HasSuffix(seg, ".partial") || strings.HasSuffix(seg, ".partial.json") || strings.HasSuffix(seg, ".partial.lock") {
			return "", bad
		}
	}
	p := filepath.Join(dir, filepath.FromSlash(repoPath))
	if !within(dir, p) {
		return "", bad
	}
	return p, nil
}

package source

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that no input panics, that every failure is an *Error
// with a message, and that every success names a valid repo and safe paths.
func FuzzParse(f *testing.F) {
	for _, tc := range append(append([]parseCase{}, urlAndShorthandCases...), errorCases...) {
		f.Add(tc.in)
	}
	files, _ := filepath.Glob("testdata/*.txt")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("hf download a/b --include=\"x/../y.gguf\" --revision ../x")
	f.Add("Model tree for a/b\nBase model\na/b\nthis model")
	f.Fuzz(func(t *testing.T, in string) {
		ref, err := Parse(in)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Msg == "" {
				t.Fatalf("Parse(%q): error %T %v is not a *Error with a message", in, err, err)
			}
			return
		}
		if err := validateRepo(ref.Repo); err != nil {
			t.Fatalf("Parse(%q) returned invalid repo %q: %v", in, ref.Repo, err)
		}
		for _, p := range []string{ref.File, ref.Dir} {
			if p == "" {
				continue
			}
			if _, err := cleanRepoPath(p); err != nil {
				t.Fatalf("Parse(%q) returned unsafe path %q", in, p)
			}
		}
		if ref.Revision != "" && validateRevision(ref.Revision) != nil {
			t.Fatalf("Parse(%q) returned bad revision %q", in, ref.Revision)
		}
		for _, q := range ref.Hints.Quants {
			if q.File != "" {
				if _, err := cleanRepoPath(q.File); err != nil {
					t.Fatalf("Parse(%q) hint has unsafe file %q", in, q.File)
				}
			}
		}
		switch ref.Kind {
		case "url", "shorthand", "page":
		default:
			t.Fatalf("Parse(%q) kind %q", in, ref.Kind)
		}
		if strings.EqualFold(ref.Hints.BaseModel, ref.Repo) {
			t.Fatalf("Parse(%q) base model equals repo", in)
		}
	})
}

// TestParseLargeInput checks the size bound and that a long page of
// repeated noise still parses into the title's repo.
func TestParseLargeInput(t *testing.T) {
	_, err := Parse(strings.Repeat("a", maxInput+1))
	checkErr(t, err, "too long")
	big := olmo + " like 3\n" + strings.Repeat("4-bit Q4_K_M 4.47 GB and/or e.g. 1.5/2 GGUF/GGML | a | b | c |\n", 10000)
	ref, err := Parse(big)
	if err != nil || ref.Repo != olmo {
		t.Fatalf("got %q, %v", ref.Repo, err)
	}
	if len(ref.Hints.Quants) != 1 || ref.Hints.Quants[0].SizeBytes != 4_470_000_000 {
		t.Errorf("quants %+v", ref.Hints.Quants)
	}
}

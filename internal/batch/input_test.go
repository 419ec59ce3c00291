package batch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIndexLines: offsets and lengths address each line exactly (CRLF, a
// last line without newline, blank lines skipped), and a line longer than
// MaxLineBytes is indexed without being held whole.
func TestIndexLines(t *testing.T) {
	dir := t.TempDir()
	long := `{"custom_id":"long","x":"` + strings.Repeat("a", MaxLineBytes) + `"}`
	content := chatLine("a", "x", 1) + "\r\n\n  \n" + completionLine("b", "y", 1) + "\n" + long + "\n" + `{"custom_id":"c"}`
	p := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	lines, _, err := Index(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		no int
		id string
	}{{1, "a"}, {4, "b"}, {5, ""}, {6, "c"}} // the long line's custom_id is not read
	if len(lines) != len(want) {
		t.Fatalf("%d lines: %+v", len(lines), lines)
	}
	for i, w := range want {
		l := lines[i]
		if l.LineNo != w.no || l.CustomID != w.id {
			t.Errorf("line %d: %+v, want number %d id %q", i, l, w.no, w.id)
		}
		got := content[l.Offset : l.Offset+int64(l.Length)]
		if LineHash([]byte(got)) != l.Hash {
			t.Errorf("line %d: hash does not match its bytes", l.LineNo)
		}
	}
	if lines[0].Length != len(chatLine("a", "x", 1))+1 { // the \r stays in the line (JSON ignores it)
		t.Errorf("CRLF line length %d", lines[0].Length)
	}
	if lines[2].Length != len(long) {
		t.Errorf("long line length %d, want %d", lines[2].Length, len(long))
	}
	if _, _, err := Index(filepath.Join(dir, "none.jsonl")); err == nil {
		t.Error("missing file accepted")
	}
	os.WriteFile(filepath.Join(dir, "blank.jsonl"), []byte("\n \n"), 0o644)
	if _, _, err := Index(filepath.Join(dir, "blank.jsonl")); err == nil || !strings.Contains(err.Error(), "no requests") {
		t.Errorf("blank file: %v", err)
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(chatLine("a", "hello", 3)))
	f.Add([]byte(completionLine("b", "hi", 2)))
	f.Add([]byte(`{"custom_id":"x","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":[1]}]}}`))
	f.Add([]byte(`{"custom_id":null}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, le := ParseRequest(raw, 7)
		if (r == nil) == (le == nil) {
			t.Fatalf("want exactly one of a request and an error: %v %v", r, le)
		}
		if le != nil && (le.Line != 7 || !strings.HasPrefix(le.Msg, "line 7: ") || le.Code == "") {
			t.Fatalf("error without its line or code: %+v", le)
		}
		if r != nil && (r.CustomID == "" || (r.URL != URLChat && r.URL != URLCompletions)) {
			t.Fatalf("accepted %+v", r)
		}
		_ = contextCheck(&Request{Line: 7, PromptBytes: len(raw)}, 100, 0, 0)
	})
}

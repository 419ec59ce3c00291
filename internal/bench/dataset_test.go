package bench

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDatasetBadLineNamesLine7(t *testing.T) {
	lines := []string{
		`{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "x", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}}`,
		`{"prompt": "Summarize the news."}`,
		``,
		`{"prompt": "Classify: great!", "id": "p3"}`,
		`{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Why?"}]}`,
		`   `,
		`{"prompt": }`,
	}
	path := filepath.Join(t.TempDir(), "dataset.jsonl")
	os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	_, err := LoadFile(path)
	var de *DatasetError
	if !errors.As(err, &de) || de.Line != 7 || !strings.HasPrefix(err.Error(), "dataset.jsonl line 7: ") {
		t.Fatalf("got %v", err)
	}
	os.WriteFile(path, []byte(strings.Join(lines[:6], "\n")), 0o644)
	got, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[0].ID != "a" || got[0].MaxTokens != 5 || got[1].ID != "line-2" || got[2].ID != "p3" ||
		len(got[3].Messages) != 2 || got[3].Messages[0].Role != "system" {
		t.Fatalf("parsed %+v", got)
	}
}

func TestDatasetRejectsBadShapes(t *testing.T) {
	for _, bad := range []string{
		`{"custom_id": "a", "url": "/v1/embeddings", "body": {"input": "x"}}`,
		`{"custom_id": "a", "body": {"messages": []}}`,
		`{"prompt": ""}`,
		`{"foo": 1}`,
		`[1,2]`,
		`{"prompt": "x"} {"prompt": "y"}`,
		`{"messages": [{"role": "user"}]}`,
	} {
		_, err := ParseJSONL(strings.NewReader("\n"+bad), "d.jsonl")
		if err == nil || !strings.HasPrefix(err.Error(), "d.jsonl line 2: ") {
			t.Errorf("%s: got %v", bad, err)
		}
	}
	if _, err := ParseJSONL(strings.NewReader("\n\n"), "e.jsonl"); err == nil {
		t.Error("empty file accepted")
	}
}

func TestBuiltinSet(t *testing.T) {
	set, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if len(set) != 100 {
		t.Fatalf("%d prompts", len(set))
	}
	ids, cats := map[string]bool{}, map[string]int{}
	minW, maxW := 1<<30, 0
	for _, s := range set {
		if ids[s.ID] {
			t.Errorf("duplicate id %s", s.ID)
		}
		ids[s.ID] = true
		cats[s.Category]++
		w := len(strings.Fields(s.PromptText()))
		minW, maxW = min(minW, w), max(maxW, w)
	}
	for _, c := range []string{"summary", "classification", "extraction", "qa", "code", "rewrite", "reasoning"} {
		if cats[c] < 5 {
			t.Errorf("category %s has %d prompts", c, cats[c])
		}
	}
	if minW > 5 || maxW < 100 {
		t.Errorf("prompt lengths %d..%d words: want a spread from a few words to paragraphs", minW, maxW)
	}
}

func TestFullIsDeterministic(t *testing.T) {
	a, b, c := Full(0, 42), Full(0, 42), Full(50, 43)
	if len(a) != FullSize || !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different sets")
	}
	if reflect.DeepEqual(a[:50], c) {
		t.Fatal("different seeds gave the same set")
	}
	short, long := 1<<30, 0
	for _, s := range a {
		n := len(s.PromptText())
		short, long = min(short, n), max(long, n)
	}
	if short > 100 || long < 800 {
		t.Errorf("lengths %d..%d", short, long)
	}
}

func TestPrepareBustsCacheAndCycles(t *testing.T) {
	set, _ := Builtin()
	o := Options{Samples: 150, MaxTokens: 8, BustCache: true}
	got := prepare(set, o)
	if len(got) != 150 || got[100].ID != set[0].ID || got[0].MaxTokens != 8 {
		t.Fatalf("prepare: %d samples", len(got))
	}
	if got[0].Messages[0].Content == got[100].Messages[0].Content || !strings.HasSuffix(got[0].Messages[0].Content, set[0].Messages[0].Content) {
		t.Error("cache-busting prefix missing or not unique")
	}
	if set[0].Messages[0].Content == got[0].Messages[0].Content {
		t.Error("prepare modified the set")
	}
}

func TestDistPercentiles(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 101; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	d := distOf(ds)
	if d.N != 101 || d.Mean != 51 || d.P50 != 51 || d.P95 != 96 || d.P99 != 100 {
		t.Fatalf("%+v", d)
	}
	if (distOf(nil) != Dist{}) {
		t.Fatal("empty dist")
	}
}

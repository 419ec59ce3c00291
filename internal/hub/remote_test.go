package hub

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/localhub"
)

// localSummary summarizes the files on disk, the ground truth for remote reads.
func localSummary(t *testing.T, dir string, v Variant) gguf.Summary {
	t.Helper()
	var files []*gguf.File
	for _, f := range v.Files {
		gf, err := gguf.ReadFile(filepath.Join(dir, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, gf)
	}
	s, err := gguf.MergeSummaries(files)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestReadHeadersMultiShard(t *testing.T) {
	f := newFixture(t, localhub.Options{PageSize: 3})
	ctx := context.Background()
	c := f.client("")
	l, err := c.Variants(ctx, "org/model-GGUF", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"UD-Q4_K_XL", "Q6_K", "Q8_0"} {
		v, err := l.Find(q, "")
		if err != nil {
			t.Fatal(err)
		}
		f.hub.ResetCounts()
		got, err := c.ReadHeaders(ctx, l.Repo, l.Commit, *v)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		want := localSummary(t, filepath.Join(f.root, "org", "model-GGUF"), *v)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: remote summary differs from local:\n got %+v\nwant %+v", q, got, want)
		}
		if got.Shards != len(v.Files) || got.BlockCount == 0 || got.ParamCount == 0 {
			t.Errorf("%s: summary %+v", q, got)
		}
		n := f.hub.Counts()
		shards := int64(len(v.Files))
		if n[localhub.CountResolveHead] != shards || n[localhub.CountCDNGet] > 3*shards || n[localhub.CountCDNGet] < shards {
			t.Errorf("%s: %d shards took %d HEADs and %d GETs", q, shards, n[localhub.CountResolveHead], n[localhub.CountCDNGet])
		}
		if n[localhub.CountConnsCDN] > 1 {
			t.Errorf("%s: %d CDN connections, want one kept alive", q, n[localhub.CountConnsCDN])
		}
	}
}

// A 150k-token tokenizer makes a header of several MB: still ≤ 3 GETs.
func TestReadHeadersLargeHeader(t *testing.T) {
	f := newFixture(t, localhub.Options{})
	dir := filepath.Join(f.root, "big", "tok-GGUF")
	spec := synth.Spec{Layers: 32, Embd: 256, Heads: 8, KVHeads: 2, FF: 512, Vocab: 150000, HeaderOnly: true, WeightType: gguf.TypeQ8_0}
	if _, err := synth.Write(mkdir(t, dir), "tok-Q8_0", spec); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := f.client("")
	l, err := c.Variants(ctx, "big/tok-GGUF", "")
	if err != nil {
		t.Fatal(err)
	}
	f.hub.ResetCounts()
	s, err := c.ReadHeaders(ctx, l.Repo, l.Commit, l.Variants[0])
	if err != nil {
		t.Fatal(err)
	}
	if s.VocabSize != 150000 || s.BlockCount != 32 {
		t.Errorf("summary = %+v", s)
	}
	n := f.hub.Counts()
	if n[localhub.CountResolveHead] != 1 || n[localhub.CountCDNGet] > 3 {
		t.Errorf("large header: %d HEADs, %d GETs, %d bytes", n[localhub.CountResolveHead], n[localhub.CountCDNGet], n[localhub.CountCDNBytes])
	}
}

// An expired signed URL is resolved again once, transparently.
func TestReadHeadersReResolvesExpiredURL(t *testing.T) {
	f := newFixture(t, localhub.Options{})
	ctx := context.Background()
	c := f.client("")
	l, err := c.Variants(ctx, "org/model-GGUF", "")
	if err != nil {
		t.Fatal(err)
	}
	v, _ := l.Find("Q8_0", "")
	f.hub.ResetCounts()
	f.hub.Inject(localhub.Fault{Kind: "expire", Path: "model-Q8_0.gguf"})
	if _, err := c.ReadHeaders(ctx, l.Repo, l.Commit, *v); err != nil {
		t.Fatal(err)
	}
	if n := f.hub.Counts(); n[localhub.CountResolveHead] != 2 || n[localhub.CountCDNGet] != 2 {
		t.Errorf("after expiry: %v", n)
	}
	// A truncated/not-GGUF file gives a gguf error, not a panic.
	mkdir(t, filepath.Join(f.root, "org", "junk-GGUF"))
	writeFile(t, filepath.Join(f.root, "org", "junk-GGUF", "junk-Q4_0.gguf"), "GGUF\x03\x00\x00\x00garbage")
	l2, err := c.Variants(ctx, "org/junk-GGUF", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadHeaders(ctx, l2.Repo, l2.Commit, l2.Variants[0]); err == nil {
		t.Fatal("junk header parsed")
	}
}

func mkdir(t *testing.T, dir string) string {
	t.Helper()
	if err := osMkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

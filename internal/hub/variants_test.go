package hub

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fitbench/fitbench/internal/localhub"
)

func TestVariantsPagedListing(t *testing.T) {
	f := newFixture(t, localhub.Options{PageSize: 2})
	c := f.client("")
	ctx := context.Background()

	refs, err := c.Refs(ctx, "org/model-GGUF")
	if err != nil {
		t.Fatal(err)
	}
	f.hub.ResetCounts()
	l, err := c.Variants(ctx, "org/model-GGUF", "")
	if err != nil {
		t.Fatal(err)
	}
	// 12 entries (2 dirs + 10 files) at 2 per page: 6 pages, all followed.
	if n := f.hub.Counts()[localhub.CountTree]; n != 6 {
		t.Errorf("tree requests = %d, want 6 (paged by 2)", n)
	}
	if l.Commit != refs.Branches[0].TargetCommit || len(l.Commit) != 40 {
		t.Errorf("commit = %q, want main's %q", l.Commit, refs.Branches[0].TargetCommit)
	}
	got := strings.Join(l.Quants(), ",")
	if want := "Q6_K,UD-Q4_K_XL,Q4_K_M,Q8_0"; got != want {
		t.Fatalf("quants = %s, want %s", got, want)
	}
	repoDir := filepath.Join(f.root, "org", "model-GGUF")
	for _, v := range l.Variants {
		var sum int64
		for _, file := range v.Files {
			st, err := os.Stat(filepath.Join(repoDir, file.Path))
			if err != nil {
				t.Fatal(err)
			}
			if file.Size != st.Size() {
				t.Errorf("%s: size %d, want %d", file.Path, file.Size, st.Size())
			}
			if want := fileSHA256(t, filepath.Join(repoDir, file.Path)); file.SHA256 != want {
				t.Errorf("%s: sha256 %s, want %s", file.Path, file.SHA256, want)
			}
			sum += file.Size
		}
		if v.SizeBytes != sum {
			t.Errorf("%s: SizeBytes %d, want %d", v.Quant, v.SizeBytes, sum)
		}
		if v.MMProj == nil || v.MMProj.Path != "mmproj-model-F16.gguf" {
			t.Errorf("%s: mmproj = %+v, want the root projector", v.Quant, v.MMProj)
		}
		if v.Incomplete {
			t.Errorf("%s marked incomplete", v.Quant)
		}
	}
	ud, err := l.Find("q4_k_xl", "")
	if err != nil {
		t.Fatal(err)
	}
	if ud.Dir != "UD-Q4_K_XL" || len(ud.Files) != 3 {
		t.Fatalf("UD variant = %+v", ud)
	}
	for i, file := range ud.Files {
		if want := "UD-Q4_K_XL/model-UD-Q4_K_XL-0000" + string(rune('1'+i)) + "-of-00003.gguf"; file.Path != want {
			t.Errorf("shard %d = %s, want %s", i, file.Path, want)
		}
	}
	if len(l.Attachments) != 1 || l.Attachments[0].Path != "mmproj-model-F16.gguf" {
		t.Errorf("attachments = %+v", l.Attachments)
	}
	for _, v := range l.Variants {
		if strings.Contains(v.Files[0].Path, "imatrix") || strings.Contains(v.Files[0].Path, "mmproj") {
			t.Errorf("candidate %s should be excluded", v.Files[0].Path)
		}
	}
}

func TestFindAndDefault(t *testing.T) {
	l := BuildListing("org/x", "abc", []TreeEntry{
		{Type: "file", Path: "x-Q8_0.gguf", Size: 8},
		{Type: "file", Path: "x-Q4_K_M.gguf", Size: 4},
		{Type: "file", Path: "Q6_K/x-Q6_K-00002-of-00002.gguf", Size: 3},
		{Type: "file", Path: "Q6_K/x-Q6_K-00001-of-00002.gguf", Size: 3},
		{Type: "file", Path: "BF16/x-00001-of-00003.gguf", Size: 1},
		{Type: "file", Path: "BF16/x-00002-of-00003.gguf", Size: 1},
	})
	d, err := l.Default()
	if err != nil || d.Quant != "Q4_K_M" {
		t.Fatalf("default = %+v, %v; want Q4_K_M", d, err)
	}
	if v, err := l.Find("", "x-Q6_K-00002-of-00002.gguf"); err != nil || v.Quant != "Q6_K" || v.Files[0].Path != "Q6_K/x-Q6_K-00001-of-00002.gguf" {
		t.Errorf("find by shard name = %+v, %v", v, err)
	}
	if v, err := l.Find("x-Q8_0.gguf", ""); err != nil || v.Quant != "Q8_0" {
		t.Errorf("find by file given as tag = %+v, %v", v, err)
	}
	if v, err := l.Find("bf16", ""); err != nil || !v.Incomplete || v.SizeBytes != 2 {
		t.Errorf("BF16 from folder, incomplete split: %+v, %v", v, err)
	}
	_, err = l.Find("Q2_K", "")
	var he *Error
	if !asError(err, &he) || he.Kind != NoVariant || !strings.Contains(he.Hint, "Q4_K_M") || !strings.Contains(he.Hint, "Q6_K") {
		t.Errorf("missing quant error = %#v", err)
	}
	l2 := BuildListing("org/y", "abc", []TreeEntry{{Type: "file", Path: "b-F16.gguf"}, {Type: "file", Path: "a-Q8_0.gguf"}, {Type: "file", Path: "a-Q5_K_M.gguf"}})
	if d, _ := l2.Default(); d.Quant != "Q8_0" {
		t.Errorf("default without Q4_K_M = %s, want Q8_0", d.Quant)
	}
	l3 := BuildListing("org/z", "abc", []TreeEntry{{Type: "file", Path: "b-F16.gguf"}, {Type: "file", Path: "a-Q5_K_M.gguf"}})
	if d, _ := l3.Default(); d.Quant != "Q5_K_M" {
		t.Errorf("default = %s, want the first file's Q5_K_M", d.Quant)
	}
}

func TestQuantLabel(t *testing.T) {
	cases := map[string]string{
		"Llama-3.2-1B-Instruct-Q4_K_M.gguf":              "Q4_K_M",
		"qwen2.5-7b-instruct-q4_k_m-00001-of-00002.gguf": "Q4_K_M",
		"gpt-oss-20b-MXFP4_MOE.gguf":                     "MXFP4_MOE",
		"Qwen3-30B-A3B-UD-Q4_K_XL.gguf":                  "UD-Q4_K_XL",
		"Model.IQ4_XS.gguf":                              "IQ4_XS",
		"phi-4-F16.gguf":                                 "F16",
		"gemma-3-4b-it-BF16-00002-of-00002.gguf":         "BF16",
		"Meta-Llama-3-8B-Instruct-Q6_K_L.gguf":           "Q6_K_L",
		"olmo-2-7b-IQ2_XXS.gguf":                         "IQ2_XXS",
		"model-Q4_0_4_4.gguf":                            "Q4_0_4_4",
		"ggml-model-TQ1_0.gguf":                          "TQ1_0",
		"model.gguf":                                     "",
		"Q4_K_M/model-00001-of-00003.gguf":               "",
		"Qwen2-7B-Instruct.Q8_0.gguf":                    "Q8_0",
	}
	for in, want := range cases {
		if got := QuantLabel(in); got != want {
			t.Errorf("QuantLabel(%q) = %q, want %q", in, got, want)
		}
	}
	if got := dirQuant("UD-Q4_K_XL"); got != "UD-Q4_K_XL" {
		t.Errorf("dirQuant = %q", got)
	}
}

// TestImpossibleSizesRejected (issue 14.6): two shards of 2^63−1 bytes summed
// to −2 and "fit"; a −5-byte variant "fit". Variants with sizes no file can
// have are not offered.
func TestImpossibleSizesRejected(t *testing.T) {
	lfs := func(p string, size int64) TreeEntry {
		e := TreeEntry{Type: "file", Path: p, Size: 100}
		e.LFS = &struct {
			OID  string `json:"oid"`
			Size int64  `json:"size"`
		}{OID: "ab", Size: size}
		return e
	}
	l := BuildListing("org/x-GGUF", "c", []TreeEntry{
		lfs("big-Q8_0-00001-of-00002.gguf", math.MaxInt64),
		lfs("big-Q8_0-00002-of-00002.gguf", math.MaxInt64),
		lfs("neg-Q4_0.gguf", -5),
		lfs("ok-Q4_K_M.gguf", 4_000_000_000),
	})
	if len(l.Variants) != 1 || l.Variants[0].Quant != "Q4_K_M" || l.Variants[0].SizeBytes != 4_000_000_000 {
		t.Fatalf("variants: %+v", l.Variants)
	}
}

package hub

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"

	"github.com/fitbench/fitbench/internal/gguf"
)

// File is one file of a listing, pinned to the listing's commit.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size_bytes"`
	SHA256 string `json:"sha256,omitempty"` // from the LFS oid
}

// Variant is one quantization of a repo: one file or all shards of a split model.
type Variant struct {
	Quant     string `json:"quant"` // from the file (or folder) name; "" when none matches
	Files     []File `json:"files"` // shards in order
	SizeBytes int64  `json:"size_bytes"`
	MMProj    *File  `json:"mmproj,omitempty"` // vision projector to load with it
	Dir       string `json:"dir,omitempty"`    // folder holding the files ("" = repo root)
	// Incomplete is true when shards of a split are missing from the repo.
	Incomplete bool `json:"incomplete,omitempty"`
}

// Listing is what a repo offers at one commit.
type Listing struct {
	Repo        string    `json:"repo"`
	Commit      string    `json:"commit"`
	Variants    []Variant `json:"variants"`              // in file-name order
	Attachments []File    `json:"attachments,omitempty"` // mmproj files
}

// Variants lists the GGUF variants of repo at rev ("" = main), pinned to the
// commit rev pointed to when the listing was made: later downloads and header
// reads of these files use that commit, not a moving branch.
func (c *Client) Variants(ctx context.Context, repo, rev string) (*Listing, error) {
	if err := checkRepo(repo); err != nil {
		return nil, err
	}
	var info struct {
		SHA string `json:"sha"`
	}
	u := c.cfg.Endpoint + "/api/models/" + repo
	if rev != "" && rev != "main" {
		u += "/revision/" + url.PathEscape(rev)
	}
	if err := c.getJSON(ctx, u, repo, defaultRev(rev), "", &info, nil); err != nil {
		return nil, err
	}
	commit := info.SHA
	if commit == "" {
		commit = defaultRev(rev)
	}
	entries, err := c.Tree(ctx, repo, commit, "")
	if err != nil {
		return nil, err
	}
	l := BuildListing(repo, commit, entries)
	if len(l.Variants) == 0 {
		return l, &Error{Kind: NoVariant, Msg: fmt.Sprintf("%s has no GGUF model files", repo),
			Hint: "fitbench works with GGUF repos; look for a repo whose name ends in -GGUF"}
	}
	return l, nil
}

// MaxFileSize is the largest file size a listing may claim (1 PiB: the
// largest GGUF files are tens of GB); a variant's sum stays below
// MaxFileSize×maxShards, far from overflowing.
const (
	MaxFileSize = int64(1) << 50
	maxShards   = 4096
)

// BuildListing groups tree entries into variants (exported for tests and for
// callers that already hold a tree).

func BuildListing(repo, commit string, entries []TreeEntry) *Listing {
	l := &Listing{Repo: repo, Commit: commit, Variants: []Variant{}}
	files := map[string]File{}
	var models []string
	for _, e := range entries {
		if e.Type != "file" || !strings.HasSuffix(strings.ToLower(e.Path), ".gguf") {
			continue
		}
		f := File{Path: e.Path, Size: e.Size}
		if e.LFS != nil {
			f.SHA256, f.Size = e.LFS.OID, e.LFS.Size
		}
		base := strings.ToLower(path.Base(e.Path))
		switch {
		case strings.Contains(base, "imatrix"):
		case strings.Contains(base, "mmproj"):
			l.Attachments = append(l.Attachments, f)
		default:
			files[e.Path] = f
			models = append(models, e.Path)
		}
	}
groups:
	for _, g := range gguf.GroupSplits(models) {
		v := Variant{Dir: path.Dir(g.Files[0]), Incomplete: !g.Complete}
		if v.Dir == "." {
			v.Dir = ""
		}
		for _, p := range g.Files {
			// A size no file can have (negative, or past MaxFileSize) is
			// a broken or hostile listing: such a variant is not offered, so
			// nothing sums to a negative size that "fits" (issue 14.6).
			sz := files[p].Size
			if sz < 0 || sz > MaxFileSize || v.SizeBytes > MaxFileSize*maxShards-sz {
				continue groups
			}
			v.Files = append(v.Files, files[p])
			v.SizeBytes += sz
		}
		v.Quant = QuantLabel(g.Files[0])
		if v.Quant == "" {
			v.Quant = dirQuant(v.Dir)
		}
		v.MMProj = pickMMProj(l.Attachments, v.Dir)
		l.Variants = append(l.Variants, v)
	}
	sort.SliceStable(l.Variants, func(i, j int) bool { return l.Variants[i].Files[0].Path < l.Variants[j].Files[0].Path })
	return l
}

// pickMMProj chooses the projector for a variant: one in the variant's folder
// first, then the root; F16 before BF16 before F32 before quantized ones.
func pickMMProj(mm []File, dir string) *File {
	rank := func(f File) int {
		r := 10
		switch QuantLabel(f.Path) {
		case "F16":
			r = 0
		case "BF16":
			r = 1
		case "F32":
			r = 2
		}
		if d := path.Dir(f.Path); d == dir || (d == "." && dir == "") {
			return r
		} else if d == "." {
			return 20 + r
		}
		return 100 + r
	}
	var best *File
	for i := range mm {
		if best == nil || rank(mm[i]) < rank(*best) {
			best = &mm[i]
		}
	}
	if best != nil && rank(*best) >= 100 {
		return nil // only projectors in other quants' folders
	}
	if best != nil {
		f := *best
		return &f
	}
	return nil
}

// Find picks a variant by file name (a path or base name, any shard of it) or
// by quant tag (case-insensitive; "Q4_K_XL" also finds a unique "UD-Q4_K_XL").
// Both empty gives Default. The error lists what is available.
func (l *Listing) Find(quant, file string) (*Variant, error) {
	if file == "" && strings.HasSuffix(strings.ToLower(quant), ".gguf") {
		quant, file = "", quant
	}
	switch {
	case file != "":
		for i, v := range l.Variants {
			for _, f := range v.Files {
				if f.Path == file || strings.EqualFold(path.Base(f.Path), path.Base(file)) {
					return &l.Variants[i], nil
				}
			}
		}
		return nil, l.notFound("file " + file)
	case quant != "":
		var loose []int
		for i, v := range l.Variants {
			if strings.EqualFold(v.Quant, quant) {
				return &l.Variants[i], nil
			}
			if strings.HasSuffix(strings.ToUpper(v.Quant), "-"+strings.ToUpper(quant)) {
				loose = append(loose, i)
			}
		}
		if len(loose) == 1 {
			return &l.Variants[loose[0]], nil
		}
		return nil, l.notFound("quant " + quant)
	}
	return l.Default()
}

// Default is llama.cpp's pick when no tag is given: Q4_K_M, then Q8_0, then the
// first model file.
func (l *Listing) Default() (*Variant, error) {
	for _, q := range []string{"Q4_K_M", "Q8_0"} {
		for i, v := range l.Variants {
			if strings.EqualFold(v.Quant, q) {
				return &l.Variants[i], nil
			}
		}
	}
	if len(l.Variants) > 0 {
		return &l.Variants[0], nil
	}
	return nil, l.notFound("a GGUF model")
}

// Quants lists the variants' labels (file name when a variant has no label).
func (l *Listing) Quants() []string {
	out := make([]string, 0, len(l.Variants))
	for _, v := range l.Variants {
		if v.Quant != "" {
			out = append(out, v.Quant)
		} else {
			out = append(out, path.Base(v.Files[0].Path))
		}
	}
	return out
}

func (l *Listing) notFound(what string) *Error {
	e := &Error{Kind: NoVariant, Msg: fmt.Sprintf("%s has no %s", l.Repo, what)}
	if qs := l.Quants(); len(qs) > 0 {
		e.Hint = "available: " + strings.Join(qs, ", ")
	} else {
		e.Hint = "the repo holds no GGUF model files"
	}
	return e
}

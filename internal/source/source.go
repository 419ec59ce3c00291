// Package source turns whatever a user pasted — a Hugging Face URL, an
// "org/repo[:QUANT]" shorthand, a download command, or the whole copied text
// of a model page — into a typed reference. It never fetches anything: the
// hub client decides what exists, this package only decides what was meant.
package source

import (
	"fmt"
	"strings"
	"unicode"
)

// Ref is what the user pointed at. Only Repo is always set.
type Ref struct {
	Repo     string // "org/name", validated like the Hub does
	Revision string // "" means the default branch (main)
	File     string // a path inside the repo, when the input named one
	Dir      string // a folder, from /tree/{rev}/{dir}
	Quant    string // upper-cased quant tag (Q4_K_M, UD-Q4_K_XL, ...)
	Kind     string // "url" | "shorthand" | "page": how the input was recognised
	Hints    Hints
}

// Hints are figures a pasted page shows. They are approximate (the page rounds
// sizes) and only help before the Hub answers; the tree API is the truth.
type Hints struct {
	ParamsB      float64     // "Model size 7.3B params" → 7.3
	Architecture string      // "Architecture llama" → "llama"
	BaseModel    string      // the repo named as base / "Quantized from", if any
	Quants       []QuantHint // from hardware rows, quant tables, download lines
}

// QuantHint is one quantization the page mentions.
type QuantHint struct {
	Quant       string
	File        string
	SizeBytes   int64 // GB on the page = 1e9 bytes
	Bits        int
	Split       bool
	Description string
}

// Error is a parse failure a user can act on: Msg says what is wrong, Hint
// says what to paste instead. Callers show both.
type Error struct {
	Msg  string
	Hint string
}

// Error returns the message only; the hint is for the caller to show beside it.
func (e *Error) Error() string { return e.Msg }

func errorf(hint, format string, args ...any) *Error {
	return &Error{Msg: fmt.Sprintf(format, args...), Hint: hint}
}

const (
	hintPaste = `paste a model URL such as https://huggingface.co/bartowski/OLMo-2-1124-7B-Instruct-GGUF, a repo id such as bartowski/OLMo-2-1124-7B-Instruct-GGUF:Q4_K_M, or the whole text of the model page`
	kindURL   = "url"
	kindShort = "shorthand"
	kindPage  = "page"
	// maxInput bounds the work done on a paste; a copied model page is 10-100 KB.
	maxInput = 1 << 20
)

// Parse recognises input. Errors are always *Error.
func Parse(input string) (Ref, error) {
	if len(input) > maxInput {
		return Ref{}, errorf("paste only the model page, not a whole site", "the pasted text is too long (%d bytes)", len(input))
	}
	if strings.ContainsRune(input, 0) {
		if !strings.ContainsFunc(trimNoise(input), unicode.IsSpace) {
			return Ref{}, errorf(hintPaste, "the pasted id contains a NUL byte")
		}
		input = strings.ReplaceAll(input, "\x00", "") // junk in a copied page
	}
	s := trimNoise(input)
	if s == "" {
		return Ref{}, errorf(hintPaste, "nothing was pasted")
	}
	if !strings.ContainsFunc(s, unicode.IsSpace) {
		return parseToken(s)
	}
	return parseText(input)
}

// parseToken handles a single word: a URL, a host-less URL path, or a shorthand.
func parseToken(s string) (Ref, error) {
	s = unwrapMarkdownLink(s)
	lower := strings.ToLower(s)
	switch {
	case strings.Contains(lower, "://"):
		return parseURL(s)
	case hasHFHostPrefix(lower):
		return parseURL("https://" + s)
	}
	first, _, hasSlash := strings.Cut(s, "/")
	if hasSlash && looksLikeDomain(first) {
		return parseURL("https://" + s)
	}
	if !hasSlash {
		if looksLikeDomain(strings.ToLower(strings.TrimSuffix(s, "/"))) {
			return Ref{}, otherSite(s)
		}
		return Ref{}, errorf(hintPaste, "%q is not a repo id: expected org/name", clip(s))
	}
	return parseShorthand(s)
}

// trimNoise strips what travels with a copied id: whitespace, quotes, angle
// brackets, parentheses and trailing sentence punctuation.
func trimNoise(s string) string {
	const cut = " \t\r\n\"'`<>()[]{}\u201c\u201d\u2018\u2019\u00ab\u00bb\u00a0\u200b\ufeff"
	for {
		t := strings.Trim(s, cut)
		t = strings.TrimRight(t, ".,;:!?")
		for _, bullet := range []string{"- ", "* ", "• ", "> "} {
			t = strings.TrimPrefix(t, bullet)
		}
		if t == s {
			return t
		}
		s = t
	}
}

// unwrapMarkdownLink turns "[text](url)" into url.
func unwrapMarkdownLink(s string) string {
	if i := strings.Index(s, "]("); i >= 0 {
		return trimNoise(s[i+2:])
	}
	return s
}

func hasHFHostPrefix(lower string) bool {
	for _, p := range []string{"huggingface.co/", "www.huggingface.co/", "hf.co/", "www.hf.co/"} {
		if strings.HasPrefix(lower, p) {
			return true
		}
	}
	return lower == "huggingface.co" || lower == "hf.co"
}

var commonTLDs = map[string]bool{
	"com": true, "org": true, "net": true, "io": true, "ai": true, "co": true, "dev": true,
	"app": true, "me": true, "gg": true, "cn": true, "uk": true, "de": true, "fr": true,
	"jp": true, "ru": true, "info": true, "xyz": true, "sh": true, "so": true, "to": true,
	"ly": true, "us": true, "edu": true, "gov": true, "page": true, "site": true,
}

// looksLikeDomain reports whether s is a host name such as github.com, so that
// "github.com/x/y" is refused as another site rather than read as a repo.
func looksLikeDomain(s string) bool {
	s = strings.ToLower(s)
	if i := strings.LastIndexByte(s, ':'); i > 0 {
		s = s[:i]
	}
	dot := strings.LastIndexByte(s, '.')
	if dot <= 0 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return commonTLDs[s[dot+1:]]
}

func otherSite(host string) *Error {
	return errorf(hintPaste, "only Hugging Face model URLs are supported: %s is not one", clip(host))
}

// clip keeps user text in messages short and printable.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

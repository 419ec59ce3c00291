package hardware

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// parsedName is a GPU name reduced to the words that identify a product.
type parsedName struct {
	tokens []string
	mem    float64 // GiB named in the text ("16GB", "80 GB"), 0 if none
}

// vendorWords are dropped from every name: they are optional when typing
// ("4090" = "NVIDIA GeForce RTX 4090") and say nothing a number does not.
var vendorWords = map[string]bool{
	"nvidia": true, "geforce": true, "rtx": true, "gtx": true, "quadro": true, "tesla": true,
	"amd": true, "ati": true, "radeon": true, "rx": true, "instinct": true,
	"intel": true, "arc": true, "apple": true, "gpu": true, "graphics": true,
}

var (
	trademarks = regexp.MustCompile(`\((r|tm|c)\)|™|®`)
	// "Max-Q" designs are laptop parts ("GeForce RTX 2060 with Max-Q Design").
	maxQ    = regexp.MustCompile(`max[\s-]?q\b`)
	sxmN    = regexp.MustCompile(`\bsxm\d\b`)              // SXM2/SXM4/SXM5: the form factor matters, not the generation
	protect = regexp.MustCompile(`^(hbm\d?e?|gddr\d?x?)$`) // memory types stay one word
	split   = regexp.MustCompile(`[a-z]+|[0-9]+(?:\.[0-9]+)?`)
)

// parseName lower-cases, removes vendor words, trademarks and core counts,
// splits letters from digits ("rtx4060ti" → 4060 ti, "a100" → a 100), and
// takes a memory size ("16gb", "80 GB", "24GiB") out of the words.
func parseName(s string) parsedName {
	s = strings.ToLower(s)
	s = trademarks.ReplaceAllString(s, " ")
	s = maxQ.ReplaceAllString(s, " laptop ")
	s = sxmN.ReplaceAllString(s, " sxm ")
	var words []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.')
	}) {
		f = strings.Trim(f, ".")
		if protect.MatchString(f) {
			words = append(words, f)
			continue
		}
		words = append(words, split.FindAllString(f, -1)...)
	}
	var p parsedName
	for i := 0; i < len(words); i++ {
		w := words[i]
		next := ""
		if i+1 < len(words) {
			next = words[i+1]
		}
		if isNumber(w) && (next == "gb" || next == "gib") {
			p.mem, _ = strconv.ParseFloat(w, 64)
			i++
			continue
		}
		if isNumber(w) && (next == "core" || next == "cores") { // "40-core GPU"
			i++
			continue
		}
		switch w {
		case "mobile", "notebook":
			w = "laptop"
		}
		if vendorWords[w] {
			continue
		}
		p.tokens = append(p.tokens, w)
	}
	return p
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// alternatives splits what rocm-smi prints for a chip shared by several
// cards: "Navi 31 [Radeon RX 7900 XT/7900 XTX]" → "Radeon RX 7900 XT",
// "7900 XTX"; the bracket holds the marketing names. A plain name is itself.
func alternatives(s string) []string {
	if i, j := strings.Index(s, "["), strings.LastIndex(s, "]"); i >= 0 && j > i {
		s = s[i+1 : j]
	}
	var out []string
	for _, a := range strings.Split(s, "/") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		out = []string{s}
	}
	return out
}

// Kinds of MatchError.
const (
	MatchUnknown     = "unknown"      // no table entry has this name
	MatchAmbiguous   = "ambiguous"    // several products fit the name
	MatchNeedsMemory = "needs_memory" // one product, sold with several memory sizes
)

// MatchError says why a GPU name could not be resolved, lists the table
// names closest to it, and says how to give the memory instead. It is never
// answered with a 0 GiB GPU.
type MatchError struct {
	Input      string
	Kind       string
	Near       []string // display names, most similar first
	Candidates []Known  // for ambiguous / needs_memory: every variant that fits
}

func (e *MatchError) Error() string {
	list := strings.Join(e.Near, ", ")
	switch e.Kind {
	case MatchNeedsMemory:
		return fmt.Sprintf("GPU %q comes with different memory sizes: %s", e.Input, list)
	case MatchAmbiguous:
		return fmt.Sprintf("GPU %q matches several products: %s", e.Input, list)
	}
	if list == "" {
		return fmt.Sprintf("GPU %q is not in fitbench's GPU table", e.Input)
	}
	return fmt.Sprintf("GPU %q is not in fitbench's GPU table (closest: %s)", e.Input, list)
}

func (e *MatchError) example() string {
	if len(e.Near) > 0 {
		return e.Near[0]
	}
	return "RTX 4090"
}

// CLIHint is the advice printed by the command line.
func (e *MatchError) CLIHint() string {
	switch e.Kind {
	case MatchNeedsMemory:
		return fmt.Sprintf("name the size (--gpu %q) or give the memory with --vram GB", e.example())
	case MatchAmbiguous:
		return fmt.Sprintf("name one of them (--gpu %q), or give the memory with --vram GB", e.example())
	}
	return "check the spelling (fitbench hw --known lists the table), or give the GPU's memory with --vram GB"
}

// ErrorHint is the advice shown on the web page (no command-line flags there).
func (e *MatchError) ErrorHint() string {
	switch e.Kind {
	case MatchNeedsMemory:
		return fmt.Sprintf("Type the size into the GPU field (%q) or enter the VRAM in GB.", e.example())
	case MatchAmbiguous:
		return fmt.Sprintf("Type one of them into the GPU field (%q), or enter the VRAM in GB.", e.example())
	}
	return "Check the spelling, or leave the GPU field empty and enter its VRAM in GB."
}

// HTTPStatus makes the server answer 400: the request named a GPU it cannot use.
func (e *MatchError) HTTPStatus() int { return http.StatusBadRequest }

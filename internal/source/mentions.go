package source

import (
	"regexp"
	"strings"
)

// stopPairs are slash-joined words that read like repo ids but never are.
var stopPairs = map[string]bool{
	"and/or": true, "either/or": true, "input/output": true, "read/write": true, "yes/no": true,
	"on/off": true, "true/false": true, "gguf/ggml": true, "ggml/gguf": true, "tcp/ip": true,
	"he/she": true, "his/her": true, "tokens/s": true, "tok/s": true, "t/s": true, "n/a": true,
	"cpu/gpu": true, "gpu/cpu": true, "pros/cons": true, "q&a": true, "w/o": true, "i/o": true,
	"files/versions": true, "text/plain": true, "application/json": true, "image/png": true,
}

var sizeLikeRe = regexp.MustCompile(`^\d+(?:\.\d+)?[A-Za-z]?$`)

var fileExts = []string{".gguf", ".bin", ".safetensors", ".json", ".md", ".py", ".png", ".jpg",
	".jpeg", ".gif", ".svg", ".webp", ".txt", ".yaml", ".yml", ".zip", ".gz", ".tar", ".html",
	".onnx", ".pt", ".pth", ".sh", ".csv", ".jinja", ".model"}

// plausibleRepo filters ids found in prose. strict applies to bare mentions,
// which need some sign of being a model name (a digit, '-', '_', '.', or
// mixed case) since "and/or" and "GGUF/GGML" are valid ids syntactically.
func plausibleRepo(repo string, strict bool) bool {
	if validateRepo(repo) != nil || stopPairs[strings.ToLower(repo)] {
		return false
	}
	org, name, _ := strings.Cut(repo, "/")
	if !strings.ContainsFunc(org, isLetter) || !strings.ContainsFunc(name, isLetter) || looksLikeDomain(org) {
		return false
	}
	ln := strings.ToLower(name)
	for _, e := range fileExts {
		if strings.HasSuffix(ln, e) {
			return false
		}
	}
	if !strict {
		return true
	}
	if sizeLikeRe.MatchString(org) || sizeLikeRe.MatchString(name) {
		return false
	}
	if !strings.ContainsFunc(org+name, isLower) && !strings.ContainsAny(org+name, "-_.") {
		return false // acronyms: AVX2/AVX512, CPU/GPU
	}
	if strings.ContainsAny(name, "0123456789-_.") {
		return true
	}
	return name != strings.ToLower(name) && name != strings.ToUpper(name)
}

func isLower(r rune) bool { return r >= 'a' && r <= 'z' }

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

// scanLine finds repo references in one line: Hugging Face URLs (with or
// without scheme) and bare "org/name" tokens outside any URL. Bare tokens
// are returned unfiltered; errs holds what URLs of other kinds produced.
func scanLine(line string) (urls, bare []Ref, errs []error) {
	masked := line
	for _, re := range []*regexp.Regexp{schemeURLRe, hfURLRe} {
		buf := []byte(masked)
		for _, loc := range re.FindAllStringIndex(masked, -1) {
			if loc[0] > 0 && strings.ContainsRune(urlBoundary, rune(masked[loc[0]-1])) {
				continue // inside a longer host (cdn-lfs.huggingface.co) or path
			}
			u := trimNoise(masked[loc[0]:loc[1]])
			if re == hfURLRe {
				u = "https://" + u
			}
			ref, err := parseURL(u)
			switch {
			case err != nil:
				errs = append(errs, err)
			case plausibleRepo(ref.Repo, false):
				urls = append(urls, ref)
			}
			for k := loc[0]; k < loc[1]; k++ {
				buf[k] = ' '
			}
		}
		masked = string(buf)
	}
	for _, loc := range bareRe.FindAllStringIndex(masked, -1) {
		if loc[0] > 0 && strings.ContainsRune(urlBoundary+":#~\\%", rune(masked[loc[0]-1])) {
			continue
		}
		if loc[1] < len(masked) && strings.ContainsRune("/\\@", rune(masked[loc[1]])) {
			continue
		}
		tok := strings.TrimRight(masked[loc[0]:loc[1]], ".-_:")
		if ref, err := parseShorthand(tok); err == nil {
			bare = append(bare, ref)
		}
	}
	return urls, bare, errs
}

// loneQuantWord returns the quant named by a word of a short paste, if
// exactly one word is a quant label.
func loneQuantWord(text string) string {
	found := ""
	for _, w := range strings.Fields(text) {
		if q, ok := CanonicalQuant(trimNoise(w)); ok {
			if found != "" && found != q {
				return ""
			}
			found = q
		}
	}
	return found
}

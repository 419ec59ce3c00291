package source

import (
	"regexp"
	"strings"
	"unicode"
)

const maxPart = 96

// validateRepo checks "org/name" the way the Hub does, naming the bad part
// so the user knows which half to fix.
func validateRepo(repo string) error {
	org, name, ok := strings.Cut(repo, "/")
	if !ok || name == "" {
		return errorf(hintPaste, "%q is not a repo id: expected org/name", clip(repo))
	}
	if strings.Contains(name, "/") {
		return errorf(hintPaste, "%q is not a repo id: expected exactly one '/' between org and name", clip(repo))
	}
	if msg := checkPart(org); msg != "" {
		return errorf(hintPaste, "invalid repository id %q: the owner %q %s", clip(repo), clip(org), msg)
	}
	if msg := checkPart(name); msg != "" {
		return errorf(hintPaste, "invalid repository id %q: the name %q %s", clip(repo), clip(name), msg)
	}
	return nil
}

func checkPart(p string) string {
	switch {
	case p == "":
		return "is empty"
	case len(p) > maxPart:
		return "is longer than 96 characters"
	case strings.IndexFunc(p, func(r rune) bool { return !(isAlnum(r) || r == '-' || r == '_' || r == '.') }) >= 0:
		return "may contain only letters, digits, '-', '_' and '.'"
	case strings.Contains(p, "--") || strings.Contains(p, ".."):
		return `must not contain "--" or ".."`
	case strings.HasPrefix(p, "-") || strings.HasPrefix(p, ".") || strings.HasSuffix(p, "-") || strings.HasSuffix(p, "."):
		return "must not start or end with '-' or '.'"
	}
	return ""
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// validateRevision refuses what git would refuse in a ref name and anything
// that could change the meaning of a URL path built from it.
func validateRevision(rev string) error {
	bad := rev == "" || strings.Contains(rev, "..") || strings.HasPrefix(rev, "/") ||
		strings.HasSuffix(rev, "/") || strings.Contains(rev, "//") || len(rev) > 255 ||
		strings.ContainsAny(rev, "\\ ~^:?*[") ||
		strings.ContainsFunc(rev, unicode.IsControl)
	if bad {
		return errorf("use a branch name, a tag or a commit hash", "invalid revision %q", clip(rev))
	}
	return nil
}

// cleanRepoPath accepts a relative path inside a repo. Everything that could
// escape the repo or the local model directory once joined is refused.
func cleanRepoPath(p string) (string, error) {
	p = strings.TrimSuffix(p, "/")
	hint := "name a file inside the repository, such as Model-Q4_K_M.gguf"
	switch {
	case p == "":
		return "", errorf(hint, "empty file path")
	case strings.HasPrefix(p, "/"):
		return "", errorf(hint, "file path %q must be relative to the repository", clip(p))
	case strings.ContainsRune(p, '\\'):
		return "", errorf(hint, "file path %q contains a backslash", clip(p))
	case strings.ContainsFunc(p, unicode.IsControl):
		return "", errorf(hint, "file path %q contains control characters", clip(p))
	case len(p) > 1024:
		return "", errorf(hint, "file path is too long")
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", errorf(hint, "file path %q has an empty, '.' or '..' segment", clip(p))
		}
	}
	return p, nil
}

// quantRe matches ggml quantization labels as they appear in file names.
var quantRe = regexp.MustCompile(`^(?:I?Q[1-8](?:_[0-9A-Z]{1,3}){0,3}|TQ[12]_0|BF16|F16|F32|F64|FP16|FP32|FP8|MXFP4(?:_MOE)?|NVFP4)$`)

// partRe is the suffix of files cut with split(1) (".gguf.part1of2").
var partRe = regexp.MustCompile(`(?i)\.part\d+of\d+$`)

// shardRe is the split-GGUF suffix "-00001-of-00003".
var shardRe = regexp.MustCompile(`(?i)-\d{5}-of-\d{5}$`)

// QuantFromFile returns the quant label of a GGUF file name (path allowed):
// the last '-'/'.'-separated token before ".gguf" that is a ggml type name,
// with a preceding "UD" kept ("UD-Q4_K_XL"). When the base name carries none,
// the enclosing folder's name is tried (unsloth's "UD-Q4_K_XL/…" layout).
func QuantFromFile(p string) string {
	dir, base := "", p
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		dir, base = p[:i], p[i+1:]
	}
	name := base
	if len(name) > 5 && strings.EqualFold(name[len(name)-5:], ".gguf") {
		name = name[:len(name)-5]
	}
	name = partRe.ReplaceAllString(name, "")
	if len(name) > 5 && strings.EqualFold(name[len(name)-5:], ".gguf") {
		name = name[:len(name)-5]
	}
	name = shardRe.ReplaceAllString(name, "")
	if q := quantFromName(name); q != "" {
		return q
	}
	if dir != "" {
		return quantFromName(dir[strings.LastIndexByte(dir, '/')+1:])
	}
	return ""
}

// quantFromName finds the quant label inside a name without extension.
func quantFromName(name string) string {
	toks := strings.FieldsFunc(strings.ToUpper(name), func(r rune) bool { return r == '-' || r == '.' })
	for i := len(toks) - 1; i >= 0; i-- {
		if quantRe.MatchString(toks[i]) {
			if i > 0 && toks[i-1] == "UD" {
				return "UD-" + toks[i]
			}
			return toks[i]
		}
	}
	return ""
}

// CanonicalQuant upper-cases a quant label and reports whether it is one
// (Q4_K_M, iq4_xs → IQ4_XS, ud-q4_k_xl → UD-Q4_K_XL).
func CanonicalQuant(s string) (string, bool) {
	u := strings.ToUpper(strings.TrimSpace(s))
	core := strings.TrimPrefix(u, "UD-")
	if quantRe.MatchString(core) {
		return u, true
	}
	return "", false
}

package source

import (
	"net/url"
	"strings"
)

// reservedFirst are huggingface.co paths that are not "{org}": pasting one
// means the user copied the wrong page, and saying so beats "repo not found".
var reservedFirst = map[string]string{
	"models": "a model list", "docs": "documentation", "blog": "a blog post",
	"papers": "a paper page", "collections": "a collection", "organizations": "an organization page",
	"settings": "a settings page", "login": "the login page", "join": "the sign-up page",
	"pricing": "the pricing page", "tasks": "a task page", "learn": "a course page",
	"posts": "a post", "enterprise": "the enterprise page", "new": "the new-repo page",
	"chat": "HuggingChat", "search": "a search page", "notifications": "notifications",
}

// parseURL reads a Hugging Face URL. Only huggingface.co and hf.co are
// accepted: the hub client must never be pointed at a host taken from a paste.
func parseURL(raw string) (Ref, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return Ref{}, errorf(hintPaste, "%q is not a valid URL", clip(raw))
	}
	host := strings.ToLower(u.Hostname())
	host = strings.TrimPrefix(host, "www.")
	switch {
	case host == "huggingface.co" || host == "hf.co":
	case strings.HasSuffix(host, ".huggingface.co") || strings.HasSuffix(host, ".hf.co"):
		return Ref{}, errorf("paste the model page URL (https://huggingface.co/org/repo), not a download or CDN link",
			"%s is a Hugging Face file-storage host, not a model page", host)
	default:
		return Ref{}, otherSite(host)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Ref{}, errorf(hintPaste, "unsupported URL scheme %q", clip(u.Scheme))
	}
	segs := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	if len(segs) >= 2 && segs[0] == "api" && segs[1] == "models" {
		segs = segs[2:]
	}
	if len(segs) == 0 || segs[0] == "" {
		return Ref{}, errorf(hintPaste, "%s names no model: the URL needs /org/repo", host)
	}
	switch segs[0] {
	case "datasets":
		return Ref{}, errorf(hintPaste, "%s is a dataset, not a model", clip(strings.Join(segs, "/")))
	case "spaces":
		return Ref{}, errorf(hintPaste, "%s is a Space, not a model", clip(strings.Join(segs, "/")))
	}
	if what, ok := reservedFirst[segs[0]]; ok {
		return Ref{}, errorf(hintPaste, "%s is %s, not a model", clip(u.Host+u.Path), what)
	}
	ref, err := parsePathSegments(segs)
	if err != nil {
		return Ref{}, err
	}
	if ref.Kind == "" {
		ref.Kind = kindURL
	}
	return ref, nil
}

// parsePathSegments reads escaped path segments "{org}/{repo}[/tree|blob|resolve/{rev}/{path}]".
func parsePathSegments(segs []string) (Ref, error) {
	dec := make([]string, len(segs))
	for i, s := range segs {
		d, err := url.PathUnescape(s)
		if err != nil {
			return Ref{}, errorf(hintPaste, "bad %%-escape in %q", clip(s))
		}
		dec[i] = d
	}
	if len(dec) < 2 || dec[1] == "" {
		return Ref{}, errorf("add the repository name: huggingface.co/"+clip(dec[0])+"/REPO",
			"%q is an organization or user, not a model: the repository name is missing", clip(dec[0]))
	}
	var ref Ref
	name := strings.TrimSuffix(dec[1], ".git")
	if len(dec) == 2 {
		if n, tag, ok := strings.Cut(name, ":"); ok {
			name = n
			if err := applyTag(&ref, tag); err != nil {
				return Ref{}, err
			}
			ref.Kind = kindShort
		}
	}
	repo := dec[0] + "/" + name
	if err := validateRepo(repo); err != nil {
		return Ref{}, err
	}
	ref.Repo = repo
	if len(dec) < 4 {
		return ref, nil
	}
	switch dec[2] {
	case "tree", "blob", "resolve", "raw":
	default:
		// discussions, commits, settings...: the repo is what matters.
		return ref, nil
	}
	rev, rest := splitRevision(dec[3:])
	if err := validateRevision(rev); err != nil {
		return Ref{}, err
	}
	if rev != "main" {
		ref.Revision = rev
	}
	if len(rest) == 0 {
		return ref, nil
	}
	p, err := cleanRepoPath(strings.Join(rest, "/"))
	if err != nil {
		return Ref{}, err
	}
	if dec[2] == "tree" {
		ref.Dir = p
		ref.Quant = quantFromName(p[strings.LastIndexByte(p, '/')+1:])
	} else {
		ref.File = p
		ref.Quant = QuantFromFile(p)
	}
	return ref, nil
}

// splitRevision takes the revision off the front of rest. Revisions with a
// slash arrive escaped (refs%2Fpr%2F1) but people also paste them unescaped.
func splitRevision(rest []string) (string, []string) {
	if len(rest) >= 3 && rest[0] == "refs" && (rest[1] == "pr" || rest[1] == "convert") {
		return strings.Join(rest[:3], "/"), rest[3:]
	}
	return rest[0], rest[1:]
}

// parseShorthand reads "org/repo", "org/repo:TAG" and host-less URL paths.
// The tag is split off first because a file-name tag may itself hold a '/'.
func parseShorthand(s string) (Ref, error) {
	if slash := strings.IndexByte(s, '/'); slash > 0 {
		if colon := strings.IndexByte(s[slash:], ':'); colon > 0 {
			head, tag := s[:slash+colon], s[slash+colon+1:]
			if !strings.Contains(head[slash+1:], "/") {
				ref, err := parsePathSegments(escapeAll(strings.Split(head, "/")))
				if err != nil {
					return Ref{}, err
				}
				if err := applyTag(&ref, tag); err != nil {
					return Ref{}, err
				}
				ref.Kind = kindShort
				return ref, nil
			}
		}
	}
	segs := strings.Split(strings.TrimSuffix(s, "/"), "/")
	ref, err := parsePathSegments(escapeAll(segs))
	if err != nil {
		return Ref{}, err
	}
	ref.Kind = kindShort
	if len(segs) > 2 {
		ref.Kind = kindURL
	}
	return ref, nil
}

// escapeAll re-escapes segments so that a literal '%' survives the unescape.
func escapeAll(segs []string) []string {
	out := make([]string, len(segs))
	for i, s := range segs {
		if strings.Contains(s, "%") {
			if _, err := url.PathUnescape(s); err == nil {
				out[i] = s // already escaped (refs%2Fpr%2F1)
				continue
			}
		}
		out[i] = url.PathEscape(s)
	}
	return out
}

// applyTag reads the part after ':' — a quant tag or a whole file name.
func applyTag(ref *Ref, tag string) error {
	if tag == "" || strings.EqualFold(tag, "latest") {
		return nil
	}
	if strings.HasSuffix(strings.ToLower(tag), ".gguf") {
		p, err := cleanRepoPath(tag)
		if err != nil {
			return err
		}
		ref.File = p
		ref.Quant = QuantFromFile(p)
		return nil
	}
	for _, r := range tag {
		if !(isAlnum(r) || r == '_' || r == '-' || r == '.') {
			return errorf("use a quant tag such as :Q4_K_M or a file name ending in .gguf",
				"invalid quant tag %q: only letters, digits, '_', '-' and '.' are allowed", clip(tag))
		}
	}
	ref.Quant = strings.ToUpper(tag)
	return nil
}

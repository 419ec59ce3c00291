package source

import "strings"

// shellWords splits a command tail like a shell would for the simple cases
// seen on model cards: quotes group, backslash-newline is already gone.
func shellWords(s string) []string {
	var out []string
	var cur strings.Builder
	var quote rune
	in := false
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// downloadPatterns returns the file names or globs a download command asks
// for: "--include" values (several may follow one flag) and positional names.
func downloadPatterns(tail string) []string {
	var pats []string
	inInclude, flagsSeen := false, false
	words := shellWords(tail)
	for i := 0; i < len(words); i++ {
		w := words[i]
		if strings.HasPrefix(w, "-") {
			flagsSeen = true
			name, val, hasVal := strings.Cut(w, "=")
			inInclude = name == "--include"
			if inInclude && hasVal {
				pats = append(pats, val)
			} else if !inInclude && !hasVal && i+1 < len(words) && !strings.HasPrefix(words[i+1], "-") {
				i++ // the flag's value (--local-dir ./)
			}
			continue
		}
		if inInclude || !flagsSeen {
			pats = append(pats, w)
		}
	}
	return pats
}

// includeHints turns download patterns into quant hints.
func includeHints(tail string) []QuantHint {
	var out []QuantHint
	for _, p := range downloadPatterns(tail) {
		if q, ok := patternHint(p); ok {
			out = append(out, q)
		}
	}
	return out
}

func patternHint(p string) (QuantHint, bool) {
	var q QuantHint
	if strings.ContainsAny(p, "*?[") {
		stem := strings.TrimSuffix(strings.TrimSuffix(p, "/*"), "*")
		q.Quant = quantFromName(strings.NewReplacer("*", "-", "?", "-", "/", "-").Replace(strings.TrimSuffix(stem, ".gguf")))
		return q, q.Quant != ""
	}
	f, err := cleanRepoPath(p)
	if err != nil || !strings.HasSuffix(strings.ToLower(f), ".gguf") {
		return q, false
	}
	q.File, q.Quant = f, QuantFromFile(f)
	q.Split = shardRe.MatchString(strings.TrimSuffix(strings.ToLower(f), ".gguf"))
	return q, q.Quant != ""
}

// applyDownloadArgs narrows a reference from a single download command: one
// concrete file becomes Ref.File, one quant pattern becomes Ref.Quant.
func applyDownloadArgs(ref *Ref, tail string) {
	hs := includeHints(tail)
	if len(hs) != 1 {
		return
	}
	ref.File, ref.Quant = hs[0].File, hs[0].Quant
	if rev := revisionFlag(tail); rev != "" && validateRevision(rev) == nil {
		ref.Revision = rev
	}
}

func revisionFlag(tail string) string {
	words := shellWords(tail)
	for i, w := range words {
		if v, ok := strings.CutPrefix(w, "--revision="); ok {
			return v
		}
		if w == "--revision" && i+1 < len(words) {
			return words[i+1]
		}
	}
	return ""
}

// markBases flags repos a page names as its ancestors, so they are never
// chosen as the page's own repo, and records the nearest one as a hint.
func markBases(cs *candidates, lines []string, h *Hints) {
	var explicit, tree, label string
	inTree, treeSelf := false, ""
	pending, kind := 0, ""
	for _, raw := range lines {
		line := strings.TrimSpace(raw)
		if line == "" {
			continue
		}
		if m := treeForRe.FindStringSubmatch(line); m != nil {
			inTree, treeSelf = true, strings.ToLower(m[1])
			continue
		}
		repos := lineRepos(line)
		if inTree {
			if thisModelRe.MatchString(line) {
				inTree = false
			}
			for _, r := range repos {
				if strings.ToLower(r) != treeSelf {
					cs.markBase(r)
					tree = r
				}
			}
		}
		isLabel := baseLineRe.MatchString(line)
		if isLabel {
			kind = "explicit"
			if strings.Contains(strings.ToLower(baseLineRe.FindString(line)), "base") {
				kind = "base"
			}
		}
		if isLabel || pending > 0 {
			for _, r := range repos {
				cs.markBase(r)
				switch {
				case inTree:
				case kind == "base" && label == "":
					label = r
				case kind == "explicit" && explicit == "":
					explicit = r
				}
			}
			if len(repos) > 0 {
				pending = 0
			} else if pending > 0 {
				pending--
			}
		}
		if isLabel && len(repos) == 0 {
			pending = 2
		}
	}
	for _, r := range []string{explicit, tree, label} {
		if r != "" {
			h.BaseModel = r
			return
		}
	}
}

// lineRepos lists repo ids in a line: Hugging Face URLs and bare ids.
func lineRepos(line string) []string {
	var out []string
	urls, bare, _ := scanLine(line)
	for _, r := range append(urls, bare...) {
		if plausibleRepo(r.Repo, false) {
			out = append(out, r.Repo)
		}
	}
	return out
}

package source

import (
	"regexp"
	"strings"
)

// Scores for where a repo id was seen. A page names many repos (base model,
// model tree, other quantizers); these weights encode which mention is the
// page's own: its title beats "Model tree for", which beats the download
// commands of its card, which beat links, which beat ids in prose.
const (
	scoreTitle    = 1000
	scoreTree     = 800
	scoreDownload = 300
	scoreRunner   = 200
	scoreFileURL  = 60
	scoreURL      = 30
	scoreBare     = 10
	penaltyBase   = 5000
	titleLines    = 80
)

// urlBoundary are characters that, before a match, mean it is inside a longer
// host name (cdn-lfs.huggingface.co) or path rather than a URL of its own.
const urlBoundary = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_/@"

type candidate struct {
	repo   string
	score  int
	pos    int // first line seen, for ties
	strong bool
	base   bool
	ref    Ref // most specific reference seen (from a URL or command)
	refScr int
}

type candidates struct {
	byRepo map[string]*candidate
	order  []*candidate
}

func (c *candidates) add(ref Ref, score, line int, strong bool) {
	k := strings.ToLower(ref.Repo)
	cd := c.byRepo[k]
	if cd == nil {
		cd = &candidate{repo: ref.Repo, pos: line}
		c.byRepo[k] = cd
		c.order = append(c.order, cd)
	}
	cd.score += score
	cd.strong = cd.strong || strong
	if score > cd.refScr || (score == cd.refScr && cd.ref.File == "" && ref.File != "") {
		cd.ref, cd.refScr = ref, score
	}
}

func (c *candidates) markBase(repo string) {
	if cd := c.byRepo[strings.ToLower(repo)]; cd != nil {
		cd.base = true
	}
}

var (
	schemeURLRe = regexp.MustCompile(`(?i)\bhttps?://[^\s<>"'\x60()\[\]{}|]+`)
	hfURLRe     = regexp.MustCompile(`(?i)(?:www\.)?(?:huggingface\.co|hf\.co)/[^\s<>"'\x60()\[\]{}|]+`)
	bareRe      = regexp.MustCompile(`[A-Za-z0-9][A-Za-z0-9_.\-]*/[A-Za-z0-9][A-Za-z0-9_.\-]*(?::[A-Za-z0-9_.\-]+)?`)
	titleRe     = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9_.\-]*)\s?/\s?([A-Za-z0-9][A-Za-z0-9_.\-]*)(?:\s+(?:like|Follow|\d|♥|❤|\x{1F44D}).*)?$`)
	treeForRe   = regexp.MustCompile(`(?i)^model tree for\s+([A-Za-z0-9][A-Za-z0-9_.\-]*/[A-Za-z0-9][A-Za-z0-9_.\-]*)`)
	dlRe        = regexp.MustCompile(`(?i)(?:^|[\s$>\x60])(?:huggingface-cli|hf)\s+download\s+(?:--?[A-Za-z-]+(?:[ =][^\s-]\S*)?\s+)*([^\s"'\x60-][^\s"'\x60]*)(.*)$`)
	runnerRe    = regexp.MustCompile(`(?i)(?:(?:^|\s)(?:-hf|-hfr|--hf-repo)\s+|\bollama\s+(?:run|pull)\s+|\bdocker\s+model\s+(?:run|pull)\s+)([^\s"'\x60]+)`)
	baseLineRe  = regexp.MustCompile(`(?i)\b(?:base[ _-]?model|quantized from|quantised from|fine-?tuned from|original model|merged from|adapter (?:of|for)|distilled from)\b`)
	thisModelRe = regexp.MustCompile(`(?i)^this model$`)
	stopTitleRe = regexp.MustCompile(`(?i)^(?:model card|files and versions)\b`)
	bitsLikeRe  = regexp.MustCompile(`(?i)^\d+(?:\.\d+)?-?bits?$`)
)

// parseText reads multi-word input: a command line or a whole copied page.
func parseText(input string) (Ref, error) {
	text := strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u00a0", " ", "\u200b", "", "\ufeff", "").Replace(input)
	lines := strings.Split(text, "\n")
	cs := &candidates{byRepo: map[string]*candidate{}}
	firstErr := collect(cs, lines)
	hints := extractHints(text, lines)
	markBases(cs, lines, &hints)

	var best *candidate
	for _, c := range cs.order {
		s := c.score
		if c.base && !c.strong {
			s -= penaltyBase
		}
		if s <= 0 {
			continue
		}
		if best == nil || s > effective(best) {
			best = c
		}
	}
	if best == nil {
		if firstErr != nil && len(strings.Fields(text)) <= 5 {
			return Ref{}, firstErr
		}
		return Ref{}, errorf(hintPaste, "no Hugging Face repo id (org/name) was found in the pasted text")
	}
	ref := Ref{Repo: best.repo, Kind: kindPage}
	if isShort(lines) && best.ref.Repo != "" {
		ref = best.ref
		if ref.Kind == "" || ref.Kind == kindPage {
			ref.Kind = kindShort
		}
		if ref.Quant == "" && ref.File == "" {
			ref.Quant = loneQuantWord(text) // "org/repo Q4_K_M"
		}
	}
	if strings.EqualFold(hints.BaseModel, ref.Repo) {
		hints.BaseModel = ""
	}
	ref.Hints = hints
	return ref, nil
}

func effective(c *candidate) int {
	if c.base && !c.strong {
		return c.score - penaltyBase
	}
	return c.score
}

// isShort tells a pasted command ("ollama run hf.co/x/y:Q4_K_M") from a page:
// for a command the specific file or quant it names is what the user wants.
func isShort(lines []string) bool {
	n, size := 0, 0
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			n++
			size += len(l)
		}
	}
	return n <= 3 && size < 600
}

// collect records every repo mention with its score. It returns the first
// error a Hugging Face-looking URL produced, for inputs with nothing better.
func collect(cs *candidates, lines []string) *Error {
	var firstErr *Error
	note := func(err error) {
		if e, ok := err.(*Error); ok && firstErr == nil {
			firstErr = e
		}
	}
	titleDone := false
	var nonEmpty []int
	for i, raw := range lines {
		line := strings.TrimSpace(raw)
		if line == "" {
			continue
		}
		nonEmpty = append(nonEmpty, i)
		if stopTitleRe.MatchString(line) {
			titleDone = true // the title sits above the tabs
		}
		if i < titleLines && !titleDone {
			if repo, ok := titleAt(lines, nonEmpty); ok {
				cs.add(Ref{Repo: repo}, scoreTitle-5*i, i, true)
				titleDone = true
			}
		}
		if m := treeForRe.FindStringSubmatch(line); m != nil && plausibleRepo(m[1], false) {
			cs.add(Ref{Repo: m[1]}, scoreTree, i, true)
		}
		if m := dlRe.FindStringSubmatch(line); m != nil {
			if ref, err := parseShorthand(trimNoise(m[1])); err == nil && plausibleRepo(ref.Repo, false) {
				applyDownloadArgs(&ref, m[2])
				cs.add(ref, scoreDownload, i, false)
			}
		}
		for _, m := range runnerRe.FindAllStringSubmatch(line, -1) {
			if ref, err := parseToken(trimNoise(m[1])); err == nil && plausibleRepo(ref.Repo, false) {
				cs.add(ref, scoreRunner, i, false)
			}
		}
		urls, bare, errs := scanLine(line)
		for _, err := range errs {
			note(err)
		}
		for _, ref := range urls {
			s := scoreURL
			if ref.File != "" && strings.HasSuffix(strings.ToLower(ref.File), ".gguf") || ref.Quant != "" {
				s = scoreFileURL
			}
			cs.add(ref, s, i, false)
		}
		for _, ref := range bare {
			if plausibleRepo(ref.Repo, true) {
				cs.add(ref, scoreBare, i, false)
			}
		}
	}
	return firstErr
}

var treeLabelRe = regexp.MustCompile(`(?i)^(?:finetuned|fine-tuned|quantized|adapter|merge|base model)s?$`)

func ancestorLabel(line string) bool {
	return baseLineRe.MatchString(line) || treeLabelRe.MatchString(line)
}

func looksHF(u string) bool {
	l := strings.ToLower(u)
	for _, p := range []string{"http://", "https://"} {
		l = strings.TrimPrefix(l, p)
	}
	return hasHFHostPrefix(strings.TrimPrefix(l, "www."))
}

// titleAt recognises the repo title at the latest non-empty line: either
// "org/name" (optionally followed by "like 12") on one line, or the three
// lines "org", "/", "name" that a browser copy of the page header produces.
func titleAt(lines []string, nonEmpty []int) (string, bool) {
	last := strings.TrimSpace(lines[nonEmpty[len(nonEmpty)-1]])
	if len(nonEmpty) >= 2 && ancestorLabel(strings.TrimSpace(lines[nonEmpty[len(nonEmpty)-2]])) {
		return "", false // "Base model" then "org/name": an ancestor, not the title
	}
	if m := titleRe.FindStringSubmatch(last); m != nil {
		repo := m[1] + "/" + m[2]
		if plausibleRepo(repo, false) && !sizeLikeRe.MatchString(m[1]) && !bitsLikeRe.MatchString(m[1]) && !bitsLikeRe.MatchString(m[2]) {
			return repo, true
		}
	}
	if len(nonEmpty) >= 3 {
		org := strings.TrimSpace(lines[nonEmpty[len(nonEmpty)-3]])
		slash := strings.TrimSpace(lines[nonEmpty[len(nonEmpty)-2]])
		name := strings.Fields(last)[0]
		if slash == "/" {
			repo := org + "/" + name
			if plausibleRepo(repo, false) {
				return repo, true
			}
		}
	}
	return "", false
}

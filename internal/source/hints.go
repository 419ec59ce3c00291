package source

import (
	"math"
	"regexp"
	"strconv"
	"strings"
)

var (
	paramsRe      = regexp.MustCompile(`(?i)model size\s*:?\s*([0-9][0-9.,]*)\s*([KMBT])\s*params`)
	paramsLooseRe = regexp.MustCompile(`(?i)\b([0-9][0-9.]*)\s*([MBT])\s+params\b`)
	archRe        = regexp.MustCompile(`(?i)\barchitecture[ \t]*:?[ \t]*\n?[ \t]*([a-z0-9][a-z0-9_\-]*)[ \t]*(?:\n|$|chat template|\s{2,}|\t|[.,;])`)
	hwRowRe       = regexp.MustCompile(`(?i)\b(\d{1,2})-bits?\s+((?:UD-)?[A-Z0-9_]+)\s+(\d+(?:\.\d+)?)\s*(TB|GB|MB|KB)\b`)
	sizeRe        = regexp.MustCompile(`(?i)(\d+(?:[.,]\d+)?)\s*(TB|TiB|GB|GiB|MB|MiB|KB|KiB)\b`)
	cellSplitRe   = regexp.MustCompile(`\s{2,}`)
	leadNumRe     = regexp.MustCompile(`^(\d+(?:\.\d+)?)`)
	sizeUnitRe    = regexp.MustCompile(`(?i)[/(\[ ]\s*(tb|gb|gib|mb|mib)\b`)
	bitsTokRe     = regexp.MustCompile(`(?i)^(\d{1,2})-bits?$`)
	numTokRe      = regexp.MustCompile(`^(\d+(?:\.\d+)?)(?i:(TB|GB|MB))?$`)
	hwHeadRe      = regexp.MustCompile(`(?i)hardware compatibility`)
	hwEndRe       = regexp.MustCompile(`(?i)inference providers|model tree for|spaces using|collections? including|downloads last month`)
)

// maxQuantHints bounds the hints kept from one paste; real pages list < 50.
const maxQuantHints = 500

// maxHubFile is the Hub's per-file size limit.
const maxHubFile = 50e9

// extractHints reads the figures a copied model page shows. Every hint is
// best-effort: a page without them still parses.
func extractHints(text string, lines []string) Hints {
	var h Hints
	if m := paramsRe.FindStringSubmatch(text); m != nil {
		h.ParamsB = paramsB(m[1], m[2])
	} else if m := paramsLooseRe.FindStringSubmatch(text); m != nil {
		h.ParamsB = paramsB(m[1], m[2])
	}
	h.Architecture = architecture(text)
	// Card tables first: they carry file names and descriptions.
	qs := parseTables(lines)
	qs = append(qs, hardwareRows(text)...)
	for _, l := range lines {
		if m := dlRe.FindStringSubmatch(l); m != nil {
			qs = append(qs, includeHints(m[2])...)
		}
	}
	if len(qs) > maxQuantHints {
		qs = qs[:maxQuantHints] // bounds the quadratic merge on hostile input
	}
	h.Quants = mergeQuants(qs)
	for i := range h.Quants {
		// The Hub stores no file over 50 GB, so a bigger variant is split.
		if h.Quants[i].SizeBytes > maxHubFile {
			h.Quants[i].Split = true
		}
	}
	return h
}

func paramsB(num, unit string) float64 {
	v, err := strconv.ParseFloat(strings.ReplaceAll(num, ",", ""), 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) {
		return 0
	}
	switch strings.ToUpper(unit) {
	case "K":
		v /= 1e6
	case "M":
		v /= 1e3
	case "T":
		v *= 1e3
	}
	return math.Round(v*1e6) / 1e6
}

// architecture prefers the value next to "Model size" (the GGUF box), since
// a model card may say "Architecture" in prose too.
func architecture(text string) string {
	from := 0
	if loc := paramsRe.FindStringIndex(text); loc != nil {
		from = loc[0]
	}
	for _, start := range []int{from, 0} {
		if m := archRe.FindStringSubmatch(text[start:]); m != nil {
			return strings.ToLower(m[1])
		}
	}
	return ""
}

func sizeBytes(num, unit string) int64 {
	v, err := strconv.ParseFloat(strings.ReplaceAll(num, ",", "."), 64)
	if err != nil || v < 0 || v > 1e6 {
		return 0
	}
	mult := map[string]float64{"TB": 1e12, "TIB": 1 << 40, "GB": 1e9, "GIB": 1 << 30, "MB": 1e6,
		"MIB": 1 << 20, "KB": 1e3, "KIB": 1 << 10}[strings.ToUpper(unit)]
	return int64(math.Round(v * mult))
}

// splitCells splits a table row copied as markdown (pipes), from a rendered
// table (tabs), or from a terminal (runs of two or more spaces).
func splitCells(line string) []string {
	line = strings.TrimSpace(line)
	var cells []string
	switch {
	case strings.Contains(line, "|"):
		cells = strings.Split(strings.Trim(line, "|"), "|")
	case strings.Contains(line, "\t"):
		cells = strings.Split(line, "\t")
	default:
		cells = cellSplitRe.Split(line, -1)
	}
	for i := range cells {
		cells[i] = strings.TrimSpace(cells[i])
	}
	return cells
}

type tableCols struct {
	file, quant, size, split, desc, bits int
	sizeUnit                             string // from a "Size/GB" header
}

func headerColumns(cells []string) (tableCols, bool) {
	c := tableCols{-1, -1, -1, -1, -1, -1, ""}
	set := func(p *int, i int) {
		if *p < 0 {
			*p = i
		}
	}
	for i, raw := range cells {
		h := strings.ToLower(strings.Trim(raw, "*_ "))
		switch {
		case strings.Contains(h, "size"):
			set(&c.size, i)
			if m := sizeUnitRe.FindStringSubmatch(h); m != nil && c.size == i {
				c.sizeUnit = m[1]
			}
		case strings.Contains(h, "quant") || h == "type":
			set(&c.quant, i)
		case strings.Contains(h, "filename") || strings.Contains(h, "file name") || h == "file" || h == "name" || h == "link" || h == "model":
			set(&c.file, i)
		case h == "split":
			set(&c.split, i)
		case strings.Contains(h, "description") || strings.Contains(h, "details") || strings.Contains(h, "use case") || h == "notes":
			set(&c.desc, i)
		case strings.Contains(h, "bit"):
			set(&c.bits, i)
		}
	}
	return c, c.size >= 0 && (c.quant >= 0 || c.file >= 0)
}

var mdLinkRe = regexp.MustCompile(`\[([^\]]*)\]\(([^)\s]*)\)`)

func parseTables(lines []string) []QuantHint {
	var out []QuantHint
	for i := 0; i < len(lines); i++ {
		cells := splitCells(lines[i])
		if len(cells) < 3 {
			continue
		}
		cols, ok := headerColumns(cells)
		if !ok {
			continue
		}
		blank := 0
		j := i + 1
		for ; j < len(lines) && blank < 2; j++ {
			l := strings.TrimSpace(lines[j])
			if l == "" {
				blank++
				continue
			}
			blank = 0
			if strings.Trim(l, "|-: \t") == "" {
				continue // markdown separator row
			}
			rc := splitCells(l)
			if len(rc) < 2 {
				break
			}
			if q, ok := tableRow(rc, cols); ok {
				out = append(out, q)
			} else if len(rc) < 3 {
				break
			}
		}
		i = j - 1
	}
	return out
}

func cell(rc []string, i int) string {
	if i < 0 || i >= len(rc) {
		return ""
	}
	c := rc[i]
	if m := mdLinkRe.FindStringSubmatch(c); m != nil {
		c = m[1]
	}
	return strings.Trim(c, "*`_ ")
}

// linkedFile returns the repo path a cell links to ("[GGUF](…/resolve/main/x.gguf)").
func linkedFile(rc []string, i int) string {
	if i < 0 || i >= len(rc) {
		return ""
	}
	m := mdLinkRe.FindStringSubmatch(rc[i])
	if m == nil || !looksHF(m[2]) {
		return ""
	}
	ref, err := parseURL(m[2])
	if err != nil {
		return ""
	}
	return ref.File
}

func tableRow(rc []string, cols tableCols) (QuantHint, bool) {
	var q QuantHint
	f := cell(rc, cols.file)
	if !strings.Contains(strings.ToLower(f), ".gguf") {
		f = linkedFile(rc, cols.file)
	}
	if f != "" && !strings.ContainsAny(f, " \t") && strings.Contains(strings.ToLower(f), ".gguf") {
		if p, err := cleanRepoPath(f); err == nil {
			q.File = p
		}
	}
	qc := cell(rc, cols.quant)
	if v, ok := CanonicalQuant(qc); ok {
		q.Quant = v
	} else if v := quantFromName(qc); v != "" && !strings.Contains(qc, " ") {
		q.Quant = v // "i1-Q4_K_M"
	} else if q.File != "" {
		q.Quant = QuantFromFile(q.File)
	}
	if q.Quant == "" {
		return q, false
	}
	sc := cell(rc, cols.size)
	if m := sizeRe.FindStringSubmatch(sc); m != nil {
		q.SizeBytes = sizeBytes(m[1], m[2])
	} else if m := leadNumRe.FindStringSubmatch(sc); m != nil && cols.sizeUnit != "" {
		q.SizeBytes = sizeBytes(m[1], cols.sizeUnit) // "Size/GB" column
	}
	if partRe.MatchString(q.File) {
		q.Split = true
	}
	switch strings.ToLower(cell(rc, cols.split)) {
	case "true", "yes", "y", "✓", "✔":
		q.Split = true
	}
	if shardRe.MatchString(strings.TrimSuffix(strings.ToLower(q.File), ".gguf")) {
		q.Split = true
	}
	if m := leadNumRe.FindStringSubmatch(cell(rc, cols.bits)); m != nil {
		if v, err := strconv.ParseFloat(m[1], 64); err == nil && v == math.Trunc(v) && v < 64 {
			q.Bits = int(v)
		}
	}
	q.Description = cell(rc, cols.desc)
	return q, true
}

// mergeQuants folds mentions of the same quant (a hardware row and a table
// row, say) into one hint, keeping the first non-empty value of each field.
func mergeQuants(in []QuantHint) []QuantHint {
	var out []QuantHint
next:
	for _, q := range in {
		for i := range out {
			o := &out[i]
			if o.Quant != q.Quant || (o.File != "" && q.File != "" && o.File != q.File) {
				continue
			}
			if o.File == "" {
				o.File = q.File
			}
			if o.SizeBytes == 0 {
				o.SizeBytes = q.SizeBytes
			}
			if o.Bits == 0 {
				o.Bits = q.Bits
			}
			if o.Description == "" {
				o.Description = q.Description
			}
			o.Split = o.Split || q.Split
			continue next
		}
		out = append(out, q)
	}
	return out
}

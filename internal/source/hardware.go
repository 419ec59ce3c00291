package source

import (
	"strconv"
	"strings"
)

// hardwareRows reads the page's "Hardware compatibility" box. Copied, it is a
// stream of "4-bit", then one or more "QUANT SIZE UNIT" entries per bit
// width, on one line or one per line. Without the heading, only complete
// "4-bit Q4_K_M 4.68 GB" rows anywhere in the text count.
func hardwareRows(text string) []QuantHint {
	loc := hwHeadRe.FindStringIndex(text)
	if loc == nil {
		var out []QuantHint
		for _, m := range hwRowRe.FindAllStringSubmatch(text, -1) {
			if q, ok := CanonicalQuant(m[2]); ok {
				bits, _ := strconv.Atoi(m[1])
				out = append(out, QuantHint{Quant: q, Bits: bits, SizeBytes: sizeBytes(m[3], m[4])})
			}
		}
		return out
	}
	block := text[loc[1]:]
	if end := hwEndRe.FindStringIndex(block); end != nil {
		block = block[:end[0]]
	}
	if len(block) > 8000 {
		block = block[:8000]
	}
	toks := strings.Fields(block)
	var out []QuantHint
	bits := 0
	for i := 0; i < len(toks); i++ {
		if m := bitsTokRe.FindStringSubmatch(toks[i]); m != nil {
			bits, _ = strconv.Atoi(m[1])
			continue
		}
		q, ok := CanonicalQuant(toks[i])
		if !ok || i+1 >= len(toks) {
			continue
		}
		m := numTokRe.FindStringSubmatch(toks[i+1])
		if m == nil {
			continue
		}
		unit, skip := m[2], 1
		if unit == "" && i+2 < len(toks) {
			unit, skip = strings.ToUpper(toks[i+2]), 2
		}
		if unit != "GB" && unit != "MB" && unit != "TB" {
			continue
		}
		out = append(out, QuantHint{Quant: q, Bits: bits, SizeBytes: sizeBytes(m[1], unit)})
		i += skip
	}
	return out
}

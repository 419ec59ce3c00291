package hub

import (
	"path"
	"regexp"
	"strings"
)

// quantRE matches a quantization token as it appears in GGUF file names:
// llama.cpp's file-type names (Q4_K_M, IQ4_XS, Q8_0, F16, BF16, TQ1_0,
// MXFP4_MOE, …) and the suffixed variants quantizers publish (Q6_K_L,
// Q4_K_XL, Q4_0_4_4).
var quantRE = regexp.MustCompile(`^(?i:(I?Q[1-8](_[0-9]+|_K)?(_[0-9]+)*(_(XXS|XS|S|M|L|XL|NL))?|F16|F32|BF16|FP16|FP32|TQ[12]_0|MXFP4(_MOE)?))$`)

// QuantLabel returns the quant label of a GGUF file name: the last "-"/"."
// separated token before ".gguf" that names a quantization, upper-cased, with a
// preceding "UD" token kept ("UD-Q4_K_XL"). Shard suffixes are ignored. "" when
// no token matches.
func QuantLabel(name string) string {
	base := path.Base(name)
	lower := strings.ToLower(base)
	if strings.HasSuffix(lower, ".gguf") {
		base = base[:len(base)-len(".gguf")]
	}
	if m := shardSuffix.FindStringIndex(base); m != nil {
		base = base[:m[0]]
	}
	toks := strings.FieldsFunc(base, func(r rune) bool { return r == '-' || r == '.' })
	for i := len(toks) - 1; i >= 0; i-- {
		if quantRE.MatchString(toks[i]) {
			q := strings.ToUpper(toks[i])
			if i > 0 && strings.EqualFold(toks[i-1], "UD") {
				q = "UD-" + q
			}
			return q
		}
	}
	return ""
}

var shardSuffix = regexp.MustCompile(`-\d{5}-of-\d{5}$`)

// dirQuant reads the quant label of a per-quant folder ("Q8_0", "UD-Q4_K_XL",
// "Model-Q8_0"), the layout big repos use for split quants.
func dirQuant(dir string) string {
	if dir == "" || dir == "." {
		return ""
	}
	return QuantLabel(path.Base(dir) + ".gguf")
}

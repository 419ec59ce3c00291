package bench

import (
	"bytes"
	_ "embed"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/fitbench/fitbench/internal/engine"
)

//go:embed prompts/builtin.jsonl
var builtinJSONL []byte

// Builtin returns the 100 built-in prompts shipped with fitbench (summary,
// classification, extraction, Q&A, code, rewrite, reasoning and creative tasks,
// from a few words to several paragraphs).
func Builtin() ([]Sample, error) {
	return ParseJSONL(bytes.NewReader(builtinJSONL), "prompts/builtin.jsonl")
}

// FullSize is the number of samples of the "full" benchmark.
const FullSize = 5000

var (
	fullTasks = []struct{ cat, instr string }{
		{"summary", "Summarize the following text in %s."},
		{"classification", "Classify the tone of the following text as %s."},
		{"extraction", "List every %s mentioned in the following text."},
		{"qa", "Answer the question using only the text below. Question: what %s?"},
		{"rewrite", "Rewrite the following text %s."},
		{"reasoning", "Read the text and explain %s."},
		{"code", "Write a function in %s that stores the facts from the following text in a data structure."},
	}
	fullArgs = map[string][]string{
		"summary":        {"one sentence", "three bullet points", "under 40 words", "two sentences for a manager"},
		"classification": {"positive, negative or neutral", "formal or informal", "urgent or routine"},
		"extraction":     {"person", "place", "date", "number", "organisation"},
		"qa":             {"happened first", "was the main problem", "did the team decide", "is still unknown"},
		"rewrite":        {"in plain English", "more formally", "as a short email", "for a ten-year-old"},
		"reasoning":      {"what would happen if the plan failed", "which decision was riskiest", "what the cause was"},
		"code":           {"Python", "Go", "JavaScript", "Rust"},
	}
	fullSubjects = []string{"The city council", "A small bakery", "The research team", "Our support desk", "The school board",
		"A regional airline", "The hospital", "A software startup", "The football club", "The museum"}
	fullVerbs   = []string{"announced", "postponed", "reviewed", "rejected", "approved", "questioned", "celebrated", "measured"}
	fullObjects = []string{"a plan to extend opening hours", "the budget for next year", "a new recycling scheme",
		"the results of a customer survey", "a proposal to hire two engineers", "the repair of the east bridge",
		"a partnership with a local university", "the move to a larger building"}
	fullTails = []string{"after a long debate", "on Tuesday morning", "despite strong objections", "with little notice",
		"following complaints from residents", "in a short statement", "for the third time this year", "ahead of the holidays"}
	fullPlaces = []string{"Lisbon", "Tromsø", "Valencia", "Kraków", "Graz", "Lyon", "Tampere", "Porto"}
)

// Full generates the deterministic "full" benchmark: n samples (FullSize by
// default) from seed, combining task templates with generated passages of 0–12
// sentences, so the same seed always gives the same prompts.
func Full(n int, seed uint64) []Sample {
	if n <= 0 {
		n = FullSize
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	out := make([]Sample, n)
	for i := range out {
		task := fullTasks[rng.IntN(len(fullTasks))]
		instr := fmt.Sprintf(task.instr, pick(fullArgs[task.cat]))
		sentences := rng.IntN(13)
		var b strings.Builder
		b.WriteString(instr)
		if sentences > 0 {
			b.WriteString("\n\n")
		}
		for s := 0; s < sentences; s++ {
			if s > 0 && s%4 == 0 {
				b.WriteString("\n\n")
			} else if s > 0 {
				b.WriteString(" ")
			}
			fmt.Fprintf(&b, "%s in %s %s %s %s.", pick(fullSubjects), pick(fullPlaces), pick(fullVerbs), pick(fullObjects), pick(fullTails))
		}
		out[i] = Sample{
			ID:       fmt.Sprintf("full-%05d", i+1),
			Category: task.cat,
			Messages: []engine.Message{{Role: "user", Content: b.String()}},
		}
	}
	return out
}

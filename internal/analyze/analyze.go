package analyze

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/hardware"
	"github.com/fitbench/fitbench/internal/hub"
	"github.com/fitbench/fitbench/internal/source"
)

// Deps are the analyzer's sources of facts. Only Hub is required for remote
// inputs; the rest default to "nothing installed, no calibration".
type Deps struct {
	Hub *hub.Client
	// Hardware detects this machine (cache it: it runs nvidia-smi).
	Hardware func(ctx context.Context) (hardware.Hardware, error)
	// Installed lists installed models for the comparison table.
	Installed func(ctx context.Context) ([]estimate.Installed, error)
	// Calibration returns efficiency factors fitted to this machine's
	// benchmarks, or nil when there are none.
	Calibration func(ctx context.Context, target estimate.Target) (*estimate.Calibration, error)
}

// Analyzer runs analyses.
type Analyzer struct{ deps Deps }

// New returns an Analyzer.
func New(d Deps) *Analyzer { return &Analyzer{deps: d} }

// Analyze answers one request. Errors are typed (*source.Error for bad input,
// *hub.Error for the Hub, gguf errors for a bad file) so callers can show hints.
func (a *Analyzer) Analyze(ctx context.Context, req Request) (*Result, error) {
	in := strings.TrimSpace(req.Input)
	if req.Local || isLocalGGUF(in) {
		return a.analyzeLocal(ctx, in, req)
	}
	ref, err := source.Parse(req.Input)
	if err != nil {
		return nil, err
	}
	quant, file := ref.Quant, ref.File
	if req.Quant != "" || req.File != "" {
		quant, file = req.Quant, req.File
	}
	target, assumed, err := a.target(ctx, req)
	if err != nil {
		return nil, err
	}
	if a.deps.Hub == nil {
		return nil, errors.New("no Hub client configured")
	}
	listing, err := a.deps.Hub.Variants(ctx, ref.Repo, ref.Revision)
	if err != nil {
		if heuristicAllowed(err) && len(ref.Hints.Quants)+boolInt(ref.Hints.ParamsB > 0) > 0 {
			return a.heuristic(ctx, ref, quant, req, target, assumed, err)
		}
		return nil, err
	}
	sel, err := pick(listing, ref.Dir, quant, file)
	if err != nil {
		return nil, err
	}
	sum, err := a.deps.Hub.ReadHeaders(ctx, listing.Repo, listing.Commit, *sel)
	if err != nil {
		if heuristicAllowed(err) {
			return a.heuristic(ctx, ref, sel.Quant, req, target, assumed, err)
		}
		return nil, err
	}
	res := a.build(ctx, req, target, assumed, sum, listing, sel)
	res.ModelID, res.Repo, res.Commit = listing.Repo, listing.Repo, listing.Commit
	res.InstallID = installID(listing.Repo, *sel)
	res.ModelName = modelName(listing.Repo, sum, sel.Quant)
	res.Files, res.SizeBytes, res.SizeGB = sel.Files, sel.SizeBytes, gbOf(sel.SizeBytes)
	nameCommand(res)
	return res, nil
}

// pick chooses the variant the user meant: by file, by quant tag, within a
// folder the URL pointed at, else llama.cpp's default (Q4_K_M, Q8_0, first).
func pick(l *hub.Listing, dir, quant, file string) (*hub.Variant, error) {
	if quant != "" || file != "" {
		return l.Find(quant, file)
	}
	if dir != "" {
		for i := range l.Variants {
			if l.Variants[i].Dir == dir || strings.HasPrefix(l.Variants[i].Dir, dir+"/") {
				return &l.Variants[i], nil
			}
		}
	}
	return l.Default()
}

// build estimates the selected variant from its header and every other
// variant from the same shapes scaled to its file size.
func (a *Analyzer) build(ctx context.Context, req Request, target estimate.Target, assumed Assumed,
	sum gguf.Summary, l *hub.Listing, sel *hub.Variant) *Result {
	cal := a.calibration(ctx, target)
	input := func(s gguf.Summary, v *hub.Variant) estimate.Input {
		in := estimate.Input{Summary: s, Engine: req.Engine, Context: req.Context, Parallel: req.Parallel,
			CacheType: req.CacheType, Target: target, Calibration: cal}
		if v != nil && v.MMProj != nil && v.MMProj.Size > 0 {
			in.ProjectorBytes = uint64(v.MMProj.Size) // loaded with the model (install fetches it)
		}
		return in
	}
	main := estimate.Analyze(input(sum, sel))
	res := &Result{Success: true, Report: main, Model: facts(sum), Hardware: assumed}
	var reports []estimate.Report
	var variants []Variant
	for _, v := range listingVariants(l, sel) {
		basis, r := "header", main
		if !sameVariant(v, *sel) {
			basis, r = "scaled", estimate.Analyze(input(scaleSummary(sum, sel.SizeBytes, v), &v))
		}
		r.Quantization = v.Quant
		reports = append(reports, r)
		variants = append(variants, variantOf(l.Repo, v, r, basis, sameVariant(v, *sel)))
	}
	res.Recommendation = estimate.Recommend(reports)
	markRecommended(variants, res.Recommendation)
	res.Variants = variants
	res.Comparison = a.compare(ctx, main)
	return res
}

func (a *Analyzer) calibration(ctx context.Context, t estimate.Target) *estimate.Calibration {
	if a.deps.Calibration == nil {
		return nil
	}
	c, err := a.deps.Calibration(ctx, t)
	if err != nil {
		return nil
	}
	return c
}

func (a *Analyzer) compare(ctx context.Context, r estimate.Report) estimate.Comparison {
	var installed []estimate.Installed
	if a.deps.Installed != nil {
		if list, err := a.deps.Installed(ctx); err == nil {
			installed = list
		}
	}
	speed := r.Performance.EstimatedThroughput
	if r.Performance.Calibrated && r.Performance.CalibratedThroughput > 0 {
		speed = r.Performance.CalibratedThroughput
	}
	return estimate.Compare(speed, installed)
}

// target resolves the hardware: detection plus the user's overrides.
func (a *Analyzer) target(ctx context.Context, req Request) (estimate.Target, Assumed, error) {
	var hw hardware.Hardware
	if a.deps.Hardware != nil {
		h, err := a.deps.Hardware(ctx)
		if err != nil {
			return estimate.Target{}, Assumed{}, err
		}
		hw = h
	}
	t, notes, err := hardware.Resolve(hw, req.Hardware)
	if err != nil {
		return estimate.Target{}, Assumed{}, err
	}
	return t, Assumed{Target: t, Detected: hw, Notes: hardware.CLINotes(notes), PageNotes: hardware.PageNotes(notes), Label: label(t)}, nil
}

func label(t estimate.Target) string {
	if len(t.GPUs) == 0 {
		return "CPU only"
	}
	names := make([]string, 0, len(t.GPUs))
	for _, g := range t.GPUs {
		// GB = 10^9 bytes, the unit of every memory figure fitbench prints
		// (a "16 GB" RTX 4080 has 16 GiB = 17.18 GB, as "Available" says).
		if t.Unified { // the name carries the Mac's memory; this is the GPU's part of it
			names = append(names, fmt.Sprintf("%s (%.2f GB for the GPU)", g.Name, float64(g.VRAMBytes)/estimate.GB))
			continue
		}
		names = append(names, fmt.Sprintf("%s (%.2f GB)", g.Name, float64(g.VRAMBytes)/estimate.GB))
	}
	if len(names) > 1 && names[0] == names[len(names)-1] && allSame(names) {
		return fmt.Sprintf("%d× %s", len(names), names[0])
	}
	return strings.Join(names, " + ")
}

func isLocalGGUF(in string) bool {
	if strings.ContainsAny(in, "\n\t") || !strings.HasSuffix(strings.ToLower(in), ".gguf") {
		return false
	}
	st, err := os.Stat(in)
	return err == nil && !st.IsDir()
}

// heuristicAllowed reports whether a Hub failure should fall back to the page's
// hints (offline or unreachable) rather than be reported (not found, gated…).
func heuristicAllowed(err error) bool {
	return hub.IsKind(err, hub.Offline) || hub.IsKind(err, hub.Unreachable)
}

func installID(repo string, v hub.Variant) string {
	tag := v.Quant
	if tag == "" && len(v.Files) > 0 {
		tag = v.Files[0].Path
	}
	return repo + ":" + tag
}

func modelName(repo string, s gguf.Summary, quant string) string {
	name := s.Name
	if name == "" {
		name = strings.TrimSuffix(path.Base(repo), "-GGUF")
	}
	if quant != "" && !strings.Contains(strings.ToUpper(name), strings.ToUpper(quant)) {
		name += " " + quant
	}
	return name
}

func gbOf(b int64) float64 { return float64(int64(float64(b)/1e7+0.5)) / 100 }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func allSame(xs []string) bool {
	for _, x := range xs {
		if x != xs[0] {
			return false
		}
	}
	return true
}

// Variant analyses one already-listed variant (the install pipeline records
// these estimates with the model).
func (a *Analyzer) Variant(ctx context.Context, l *hub.Listing, v hub.Variant, req Request) (*Result, error) {
	target, assumed, err := a.target(ctx, req)
	if err != nil {
		return nil, err
	}
	sum, err := a.deps.Hub.ReadHeaders(ctx, l.Repo, l.Commit, v)
	if err != nil {
		return nil, err
	}
	res := a.build(ctx, req, target, assumed, sum, l, &v)
	res.ModelID, res.Repo, res.Commit = l.Repo, l.Repo, l.Commit
	res.InstallID = installID(l.Repo, v)
	res.ModelName = modelName(l.Repo, sum, v.Quant)
	res.Files, res.SizeBytes, res.SizeGB = v.Files, v.SizeBytes, gbOf(v.SizeBytes)
	return res, nil
}

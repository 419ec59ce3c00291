package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fitbench/fitbench/internal/analyze"
	"github.com/fitbench/fitbench/internal/install"
	"github.com/fitbench/fitbench/internal/registry"
)

func init() {
	register(command{
		name:    "add-local",
		summary: "register a .gguf file you already have (untested until benchmarked)",
		usage:   "fitbench add-local PATH.gguf [--id org/name:QUANT] [--home DIR]",
		run:     runAddLocal,
	})
}

func runAddLocal(ctx context.Context, e env) error {
	fs := newFlagSet("add-local", e)
	id := fs.String("id", "", "model id to register under (default local/<file name>)")
	home := homeFlag(fs)
	args, err := parseFlags(fs, e.args)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return fmt.Errorf("%w: give one .gguf path", errUsage)
	}
	path, err := filepath.Abs(args[0])
	if err != nil {
		return err
	}
	if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a file: give the path of a .gguf model (the first shard of a split model)", args[0])
	}
	_, db, err := openRegistry(*home)
	if err != nil {
		return err
	}
	defer db.Close()
	// Reading the header validates the file before anything is registered.
	a := newAnalyzer(nil, db, cachedHardware())
	res, err := a.Analyze(ctx, analyze.Request{Input: path, Local: true})
	if err != nil {
		return err
	}
	files := make([]registry.File, 0, len(res.Files))
	for _, f := range res.Files {
		sum, err := install.HashFile(ctx, f.Path)
		if err != nil {
			return err
		}
		files = append(files, registry.File{Path: f.Path, SizeBytes: f.Size, SHA256: sum})
	}
	modelID := *id
	if modelID == "" {
		modelID = res.ModelID
	}
	m := &registry.Model{ModelID: modelID, Name: res.ModelName, LocalPath: path, QuantizationType: res.Quantization,
		SizeBytes: res.SizeBytes, SizeGB: float64(res.SizeBytes) / 1e9, Status: registry.StatusUntested,
		Files: files, ParamCount: int64(res.Model.ParamCount), Architecture: res.Model.Architecture,
		ContextLength: int64(res.Model.ContextLength), EstimatedMemoryGB: res.Memory.TotalGB,
		CPUOffloadGB: res.Memory.CPUOffloadGB, EstimatedThroughput: res.Performance.EstimatedThroughput,
		QualityStars: res.Performance.QualityStars, GPULayers: res.GPULayers, TotalLayers: res.TotalLayers, Source: "local"}
	if _, err := db.UpsertModel(ctx, m); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "registered %s (id %d, untested): %s\nbenchmark it with: fitbench bench %d\n", m.ModelID, m.ID, path, m.ID)
	return nil
}

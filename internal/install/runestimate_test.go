package install

import (
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"testing"

	"github.com/fitbench/fitbench/internal/estimate"
	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/registry"
)

func testedModel(t *testing.T, db *registry.DB) *registry.Model {
	t.Helper()
	paths, err := synth.Write(t.TempDir(), "Cal-Q8_0", spec)
	if err != nil {
		t.Fatal(err)
	}
	m := &registry.Model{ModelID: "o/cal:Q8_0", Name: "cal", Status: registry.StatusTested, LocalPath: paths[0],
		Files: []registry.File{{Path: paths[0]}}}
	if _, err := db.UpsertModel(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return m
}

// The estimate recorded with a run is for the run's own settings: a KV cache
// for its context per sequence and slots, not the install analysis's default
// context; and calibration builds its sample from the same settings.
func TestRunEstimateAndCalibrationUseTheRunsSettings(t *testing.T) {
	ctx := context.Background()
	db, err := registry.Open(filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := testedModel(t, db)
	machine := estimate.Target{RAMBytes: 1 << 34, CPUThreads: 2}
	re := RunEstimator{Machine: func(context.Context) (estimate.Target, error) { return machine, nil }}
	s := registry.RunSettings{Engine: "ollama", Context: 1024, Parallel: 2, CacheType: "q8_0", GPULayers: -1, Threads: 1, KVTokens: 300}
	got := re.Estimate(ctx, m, s)
	f, _ := gguf.ReadFile(m.LocalPath)
	sum, _ := f.Summary()
	want := estimate.Analyze(estimate.Input{Summary: sum, Engine: estimate.EngineOllama, Context: 1024, Parallel: 2, CacheType: "q8_0",
		Target: estimate.Target{RAMBytes: 1 << 34, CPUThreads: 1}, KVTokens: 300})
	dev := want.Memory.Devices[len(want.Memory.Devices)-1]
	if got.Error != "" || got.KVBytes != dev.KVBytes || got.WeightsBytes != dev.WeightsBytes || got.DecodeTokS != want.Performance.EstimatedThroughput {
		t.Fatalf("run estimate %+v, want KV %d weights %d decode %v", got, dev.KVBytes, dev.WeightsBytes, want.Performance.EstimatedThroughput)
	}
	def := estimate.Analyze(estimate.Input{Summary: sum, Engine: estimate.EngineOllama, Target: machine})
	if dk := def.Memory.Devices[len(def.Memory.Devices)-1].KVBytes; dk <= got.KVBytes {
		t.Errorf("the default-context KV (%d bytes) should exceed the run's q8_0 ctx 1024×2 KV (%d bytes)", dk, got.KVBytes)
	}

	// A completed single-stream run with those settings is the calibration sample.
	settings, _ := json.Marshal(s)
	run := &registry.BenchmarkRun{ModelID: m.ModelID, Engine: "ollama", Concurrency: 1, Settings: settings}
	if _, err := db.StartRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	run.EngineTokS, run.Concurrency = 40, 1
	if err := db.FinishRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	c := &Calibrator{DB: db, Machine: re.Machine}
	cal, err := c.Calibration(ctx, machine)
	if err != nil || cal == nil {
		t.Fatalf("calibration %+v %v", cal, err)
	}
	in, _, _ := re.input(ctx, sum, s)
	wantCal := estimate.Calibrate([]estimate.Measured{{Inputs: estimate.SpeedInputsFor(in), DecodeTokS: 40}})
	if cal.Samples != 1 || math.Abs(cal.CPUEta-wantCal.CPUEta) > 1e-12 || math.Abs(cal.T0-wantCal.T0) > 1e-12 {
		t.Errorf("calibration %+v, want %+v", cal, wantCal)
	}
	// A run recorded before 0008 (no settings) falls back to its engine flags.
	old := registry.RunSettingsOf(&registry.BenchmarkRun{Engine: "llamacpp", EngineFlags: json.RawMessage(`{"-c":"4096","-np":"2","-ngl":"7"}`)})
	if old.Context != 2048 || old.GPULayers != 7 {
		t.Errorf("pre-0008 settings %+v", old)
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/fitbench/fitbench/internal/analyze"
	"github.com/fitbench/fitbench/internal/batch"
	"github.com/fitbench/fitbench/internal/hardware"
	"github.com/fitbench/fitbench/internal/install"
	"github.com/fitbench/fitbench/internal/server"
	"github.com/fitbench/fitbench/internal/source"
)

func init() {
	register(command{
		name:    "serve",
		summary: "run the web app (add-model page and workbench) on http://127.0.0.1:4080",
		usage:   "fitbench serve [--addr 127.0.0.1:4080] [--token T] [--allow-host H] [--engine E [--base-url URL --model NAME]] [--home DIR]",
		run:     runServe,
	})
}

func runServe(ctx context.Context, e env) error {
	fs := newFlagSet("serve", e)
	addr := fs.String("addr", "127.0.0.1:4080", "listen address (a non-loopback address requires --token)")
	token := fs.String("token", "", "require this token on every request (Bearer header, or ?token= once in the browser)")
	allow := fs.String("allow-host", "", "extra Host names to accept, comma-separated (DNS-rebinding protection)")
	ef := addEngineFlags(fs)
	home := homeFlag(fs)
	if _, err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if err := ef.check(); err != nil {
		return err
	}
	dir, db, err := openRegistry(*home)
	if err != nil {
		return err
	}
	defer db.Close()
	logger, closer, err := server.NewLogger(dir.Root, e.stderr)
	if err != nil {
		return err
	}
	defer closer.Close()
	h := newHub()
	hw := cachedHardware()
	mgr := install.New(install.Config{DB: db, Dir: dir, Hub: h, Fetcher: install.NewDownloader(),
		Estimator: &variantEstimator{a: newAnalyzer(h, db, hw)}, Bench: newBenchmarker(db, dir.Root, *ef, hw),
		Logger: logger})
	if resumed, err := mgr.Recover(ctx, true); err != nil {
		logger.Warn("recovering unfinished installs failed", "err", err)
	} else if len(resumed) > 0 {
		logger.Info("resumed unfinished installs", "models", resumed)
	}
	// rows a CLI process beside this server leaves stale (killed, or a full
	// disk refusing its last write) are noticed while the server runs
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	mgr.WatchStale(watchCtx, 10*time.Second)
	batches := batch.NewManager(db, dir.Root, jobStarter(db, dir.Root, *ef), logger)
	if resumed, err := batches.Recover(ctx); err != nil {
		logger.Warn("recovering unfinished batch jobs failed", "err", err)
	} else if len(resumed) > 0 {
		logger.Info("resuming unfinished batch jobs", "jobs", resumed)
	}
	batches.Serve(ctx)
	var hosts []string
	if *allow != "" {
		hosts = strings.Split(*allow, ",")
	}
	srv, err := server.New(server.Config{Addr: *addr, Token: *token, DataDir: dir.Root, AllowedHosts: hosts},
		server.Deps{
			Analyzer:  serverAnalyzer{a: newAnalyzer(h, db, hw)},
			Installer: serverInstaller{m: mgr},
			Registry:  db,
			Hardware:  hardwareReport(hw),
			Batch:     batches,
			Logger:    logger,
		})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "fitbench %s: http://%s/add-model.html  (data: %s)\n", "serving", *addr, dir.Root)
	err = srv.ListenAndServe(ctx)
	stopWatch()
	mgr.Wait()
	batches.Wait()
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// serverAnalyzer adapts the analyzer to the API's request shape.
type serverAnalyzer struct{ a *analyze.Analyzer }

func (s serverAnalyzer) Analyze(ctx context.Context, r server.AnalyzeRequest) (any, error) {
	return s.a.Analyze(ctx, analyze.Request{Input: r.Content, Quant: r.Quant, Context: r.Ctx, Engine: r.Engine,
		Hardware: hardware.Override{GPU: r.GPU, VRAMGB: r.VRAMGB, CPUOnly: r.CPUOnly}})
}

// serverInstaller adapts the install manager to the API.
type serverInstaller struct{ m *install.Manager }

func (s serverInstaller) Install(ctx context.Context, r server.InstallRequest) (server.Job, error) {
	req, err := installRequest(r.ModelID, r.Quant, r.GGUFFile)
	if err != nil {
		return server.Job{}, err
	}
	req.Benchmark, req.Samples = r.Benchmark, r.Samples
	j, err := s.m.Start(ctx, req)
	if err != nil {
		return server.Job{}, err
	}
	return server.Job{ModelID: j.ModelID, Status: j.Status, Existing: !j.Started}, nil
}

func (s serverInstaller) Benchmark(ctx context.Context, modelID string, samples int) (server.Job, error) {
	j, err := s.m.StartBenchmark(ctx, modelID, samples)
	if err != nil {
		return server.Job{}, err
	}
	return server.Job{ModelID: j.ModelID, Status: j.Status, Existing: !j.Started}, nil
}

func (s serverInstaller) Bus() *install.Bus { return s.m.Bus() }

// Remove deletes the row and the downloaded files (DELETE /api/models/{id}).
func (s serverInstaller) Remove(ctx context.Context, modelID string) error {
	return s.m.RemoveModel(ctx, modelID, false)
}

// installRequest turns a model id, URL or pasted text plus an optional quant
// or file into an install request.
func installRequest(input, quant, file string) (install.Request, error) {
	ref, err := source.Parse(input)
	if err != nil {
		return install.Request{}, err
	}
	req := install.Request{Repo: ref.Repo, Revision: ref.Revision, Quant: ref.Quant, File: ref.File}
	if quant != "" || file != "" {
		req.Quant, req.File = quant, file
	}
	return req, nil
}

func hardwareReport(hw func(context.Context) (hardware.Hardware, error)) func(context.Context) (any, error) {
	return func(ctx context.Context) (any, error) {
		h, err := hw(ctx)
		if err != nil {
			return nil, err
		}
		t, notes, err := hardware.Resolve(h, hardware.Override{})
		if err != nil {
			return nil, err
		}
		// The page shows these notes: its phrasing, no command-line flags.
		return map[string]any{"detected": h, "target": t, "notes": hardware.PageNotes(notes)}, nil
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fitbench/fitbench/internal/batch"
	"github.com/fitbench/fitbench/internal/datadir"
	"github.com/fitbench/fitbench/internal/engine"
	"github.com/fitbench/fitbench/internal/registry"
)

func init() {
	register(command{
		name:    "batch",
		summary: "run an OpenAI Batch API file through an installed model (resumable, with progress)",
		usage: `fitbench batch run MODEL_ID INPUT.jsonl [--output FILE] [--errors FILE] [--concurrency N]
                 [--max-tokens N] [--ctx N] [--parallel N] [--timeout 5m] [--retries 3]
                 [--engine auto|ollama|llamacpp|vllm|openai] [--base-url URL --model NAME] [--json]
fitbench batch run INPUT.jsonl --engine openai --base-url URL --model NAME   (any OpenAI-compatible server)
fitbench batch list [--json]
fitbench batch show ID [--json]
fitbench batch cancel ID
fitbench batch resume ID [--json]

Every command takes --home DIR. INPUT lines are OpenAI Batch API requests:
{"custom_id": "…", "method": "POST", "url": "/v1/chat/completions" or "/v1/completions", "body": {…}}.
Answers go to the output file, failures (with the line number and reason) to the error file,
both in the Batch API's output format (default: <data>/batch/ID/output.jsonl and errors.jsonl).
The engine starts with the model's benchmark settings. A job killed at any moment resumes
with "fitbench batch resume ID": every line ends up exactly once in one of the two files.`,
		run: runBatch,
	})
}

func runBatch(ctx context.Context, e env) error {
	if len(e.args) == 0 {
		return fmt.Errorf("%w: give a subcommand: run, list, show, cancel or resume", errUsage)
	}
	sub, rest := e.args[0], env{args: e.args[1:], stdin: e.stdin, stdout: e.stdout, stderr: e.stderr}
	switch sub {
	case "run":
		return batchRun(ctx, rest)
	case "resume":
		return batchResume(ctx, rest)
	case "list", "ls":
		return batchList(ctx, rest)
	case "show":
		return batchShow(ctx, rest)
	case "cancel":
		return batchCancel(ctx, rest)
	case "-h", "--help", "help":
		fmt.Fprintln(e.stdout, commands["batch"].usage)
		return nil
	}
	return fmt.Errorf("%w: unknown batch subcommand %q (want run, list, show, cancel or resume)", errUsage, sub)
}

// batchRun creates a job from the input file and runs it in the foreground.
func batchRun(ctx context.Context, e env) error {
	fs := newFlagSet("batch", e)
	output := fs.String("output", "", "output file (default <data>/batch/ID/output.jsonl)")
	errorsPath := fs.String("errors", "", "error file (default <data>/batch/ID/errors.jsonl)")
	conc := fs.Int("concurrency", 0, "requests in flight (default: the engine's parallel slots)")
	maxTokens := fs.Int("max-tokens", 0, "cap every request's max_tokens (default: as each line says)")
	ctxLen := fs.Int("ctx", 0, "context per request for the size check (default: the engine's)")
	parallel := fs.Int("parallel", 0, "engine parallel slots (default: as the benchmark)")
	timeout := fs.Duration("timeout", 5*time.Minute, "per-request timeout")
	retries := fs.Int("retries", 3, "retries of a request that got no answer, 429 or 5xx")
	engineName := fs.String("engine", "auto", "engine: auto, ollama, llamacpp, vllm, openai")
	baseURL := fs.String("base-url", "", "openai engine: the server's base URL (…/v1)")
	model := fs.String("model", "", "openai engine: the model name to request")
	asJSON := fs.Bool("json", false, "print the finished job as JSON")
	home := homeFlag(fs)
	args, err := parseFlags(fs, e.args)
	if err != nil {
		return err
	}
	var modelID, input string
	switch {
	case len(args) == 2:
		modelID, input = args[0], args[1]
	case len(args) == 1 && *engineName == "openai":
		input = args[0]
	default:
		return fmt.Errorf("%w: give MODEL_ID and INPUT.jsonl (or INPUT.jsonl with --engine openai --base-url URL --model NAME)", errUsage)
	}
	if *engineName == "openai" && *baseURL == "" {
		return fmt.Errorf("%w: --engine openai needs --base-url", errUsage)
	}
	if *retries < 0 || *conc < 0 || *maxTokens < 0 {
		return fmt.Errorf("%w: --retries, --concurrency and --max-tokens must not be negative", errUsage)
	}
	dir, db, err := openRegistry(*home)
	if err != nil {
		return err
	}
	defer db.Close()
	if modelID != "" {
		m, err := db.GetModel(ctx, modelID)
		if err != nil {
			return err
		}
		modelID = m.ModelID
	}
	retr := *retries
	if retr == 0 {
		retr = -1 // Options: 0 means the default
	}
	s := batch.Settings{Engine: *engineName, BaseURL: *baseURL, Model: *model, Concurrency: *conc,
		MaxTokens: *maxTokens, Ctx: *ctxLen, Parallel: *parallel, RequestTimeoutS: timeout.Seconds(), Retries: retr}
	job, err := batch.Create(ctx, db, batch.CreateOptions{DataDir: dir.Root, ModelID: modelID, Input: input,
		Output: *output, Errors: *errorsPath, Settings: s})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "batch job %d: %d requests from %s\n", job.ID, job.TotalLines, job.InputPath)
	return runJobForeground(ctx, e, dir, db, job.ID, *asJSON)
}

func batchResume(ctx context.Context, e env) error {
	dir, db, j, asJSON, err := openJobCmd(ctx, e, "print the finished job as JSON")
	if err != nil {
		return err
	}
	defer db.Close()
	id := j.ID
	if j.State == registry.BatchCompleted {
		fmt.Fprintf(e.stderr, "batch job %d is already completed\n", id)
		return printJob(e.stdout, dir.Root, j, *asJSON)
	}
	return runJobForeground(ctx, e, dir, db, id, *asJSON)
}

// runJobForeground runs the job here with a progress bar on stderr. Ctrl-C
// cancels it (resumable); SIGKILL leaves it running, also resumable.
func runJobForeground(ctx context.Context, e env, dir datadir.Dir, db *registry.DB, id int64, asJSON bool) error {
	bar := newBatchBar(e.stderr)
	j, err := batch.RunJob(ctx, db, dir.Root, id, jobStarter(db, dir.Root, engineFlags{name: "auto"}), bar.print)
	bar.end()
	if errors.Is(err, batch.ErrInterrupted) {
		_ = db.SetBatchState(context.WithoutCancel(ctx), id, registry.BatchCancelled, "interrupted")
		return fmt.Errorf("batch job %d interrupted; continue it with: fitbench batch resume %d", id, id)
	}
	if errors.Is(err, batch.ErrLocked) {
		return fmt.Errorf("%w (it finishes there; follow it with fitbench batch show %d)", err, id)
	}
	if err != nil {
		if j != nil {
			return fmt.Errorf("batch job %d failed: %w; continue it with: fitbench batch resume %d", id, err, id)
		}
		return err
	}
	if err := printJob(e.stdout, dir.Root, j, asJSON); err != nil {
		return err
	}
	if j.State != registry.BatchCompleted {
		return fmt.Errorf("batch job %d is %s", id, j.State)
	}
	return nil
}

// jobStarter starts a job's engine: the endpoint it names, or the installed
// model with the settings of its benchmark (same engine choice, context,
// offload plan and log/model directories as `fitbench bench`).
func jobStarter(db *registry.DB, dataDir string, def engineFlags) batch.StartFunc {
	hw := cachedHardware()
	return func(ctx context.Context, job *registry.BatchJob, s batch.Settings) (engine.Instance, error) {
		if s.Engine == "" { // jobs from the web page run on the server's --engine
			s.Engine = def.name
			if s.BaseURL == "" {
				s.BaseURL, s.Model = def.baseURL, def.model
			}
		}
		if s.Engine == "openai" {
			o := &engine.OpenAI{BaseURL: s.BaseURL, Model: s.Model, Parallel: s.Concurrency}
			return o.Start(ctx, engine.Settings{ModelID: job.ModelID})
		}
		if job.ModelID == "" {
			return nil, errors.New("the job names no installed model and no --engine openai endpoint")
		}
		m, err := db.GetModel(ctx, job.ModelID)
		if err != nil {
			return nil, err
		}
		cfg := benchConfig{engine: s.Engine, baseURL: s.BaseURL, model: s.Model, parallel: s.Parallel, dataDir: dataDir}
		return cfg.benchmarker(db, hw).Start(ctx, m)
	}
}

// openJobCmd parses a job subcommand's flags (--home, and --json when
// jsonUsage is set) and its one job id, opens the registry and reads the job.
// The caller closes db.
func openJobCmd(ctx context.Context, e env, jsonUsage string) (datadir.Dir, *registry.DB, *registry.BatchJob, *bool, error) {
	fs := newFlagSet("batch", e)
	asJSON := new(bool)
	if jsonUsage != "" {
		asJSON = fs.Bool("json", false, jsonUsage)
	}
	home := homeFlag(fs)
	args, err := parseFlags(fs, e.args)
	if err != nil {
		return datadir.Dir{}, nil, nil, nil, err
	}
	dir, db, id, err := openJob(*home, args)
	if err != nil {
		return datadir.Dir{}, nil, nil, nil, err
	}
	j, err := db.GetBatchJob(ctx, id)
	if err != nil {
		db.Close()
		return datadir.Dir{}, nil, nil, nil, err
	}
	return dir, db, j, asJSON, nil
}

func openJob(home string, args []string) (datadir.Dir, *registry.DB, int64, error) {
	if len(args) != 1 {
		return datadir.Dir{}, nil, 0, fmt.Errorf("%w: give one batch job id (see fitbench batch list)", errUsage)
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(args[0], "#"), 10, 64)
	if err != nil || id <= 0 {
		return datadir.Dir{}, nil, 0, fmt.Errorf("%w: %q is not a batch job id", errUsage, args[0])
	}
	dir, db, err := openRegistry(home)
	return dir, db, id, err
}

func batchList(ctx context.Context, e env) error {
	fs := newFlagSet("batch", e)
	asJSON := fs.Bool("json", false, "print JSON")
	home := homeFlag(fs)
	if _, err := parseFlags(fs, e.args); err != nil {
		return err
	}
	dir, db, err := openRegistry(*home)
	if err != nil {
		return err
	}
	defer db.Close()
	jobs, err := db.ListBatchJobs(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]batchJSON, 0, len(jobs))
		for _, j := range jobs {
			out = append(out, toBatchJSON(dir.Root, j))
		}
		return writeJSON(e.stdout, out)
	}
	if len(jobs) == 0 {
		fmt.Fprintln(e.stdout, "no batch jobs yet: fitbench batch run MODEL_ID INPUT.jsonl")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tMODEL\tDONE\tFAILED\tTOTAL\tOUTPUT TOK/S\tCREATED")
	for _, j := range jobs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", j.ID, stateText(dir.Root, j), orText(j.ModelID, j.Engine),
			j.DoneLines, j.FailedLines, j.TotalLines, orDash(j.OutputTokS, "%.1f"), j.CreatedAt.Local().Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

func batchShow(ctx context.Context, e env) error {
	dir, db, j, asJSON, err := openJobCmd(ctx, e, "print JSON")
	if err != nil {
		return err
	}
	defer db.Close()
	if *asJSON {
		return writeJSON(e.stdout, toBatchJSON(dir.Root, j))
	}
	return printJob(e.stdout, dir.Root, j, false)
}

func batchCancel(ctx context.Context, e env) error {
	dir, db, j, _, err := openJobCmd(ctx, e, "")
	if err != nil {
		return err
	}
	defer db.Close()
	id := j.ID
	if j.Finished() {
		return fmt.Errorf("batch job %d is already %s", id, j.State)
	}
	if err := db.RequestBatchCancel(ctx, id); err != nil {
		return err
	}
	if !batch.Held(dir.Root, id) {
		// No process runs it (it was killed): cancel it here.
		if err := db.SetBatchState(ctx, id, registry.BatchCancelled, ""); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "batch job %d cancelled\n", id)
		return nil
	}
	// The process running it reads the flag within a second; wait for it.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if j, err = db.GetBatchJob(ctx, id); err == nil && j.Finished() {
			fmt.Fprintf(e.stdout, "batch job %d %s: %d done, %d failed, %d pending\n", id, j.State, j.DoneLines, j.FailedLines,
				j.TotalLines-j.DoneLines-j.FailedLines)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("batch job %d was asked to stop but is still running after 30 s", id)
}

// batchJSON is a job as list/show --json print it: the row plus its progress.
type batchJSON struct {
	*registry.BatchJob
	Progress batch.Snapshot `json:"progress"`
	// Interrupted: the registry says running but no process runs it (killed).
	Interrupted bool `json:"interrupted,omitempty"`
}

func toBatchJSON(dataDir string, j *registry.BatchJob) batchJSON {
	return batchJSON{BatchJob: j, Progress: batch.SnapshotOf(j),
		Interrupted: j.State == registry.BatchRunning && !batch.Held(dataDir, j.ID)}
}

func stateText(dataDir string, j *registry.BatchJob) string {
	if j.State == registry.BatchRunning && !batch.Held(dataDir, j.ID) {
		return "interrupted"
	}
	return j.State
}

func orText(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func printJob(w io.Writer, dataDir string, j *registry.BatchJob, asJSON bool) error {
	if asJSON {
		return writeJSON(w, toBatchJSON(dataDir, j))
	}
	state := stateText(dataDir, j)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("Batch job", fmt.Sprintf("%d (%s)", j.ID, state))
	row("Model", orText(j.ModelID, "-")+"  on "+orText(j.Engine, "-"))
	row("Lines", fmt.Sprintf("%d done, %d failed, %d pending of %d", j.DoneLines, j.FailedLines,
		max(j.TotalLines-j.DoneLines-j.FailedLines, 0), j.TotalLines))
	row("Tokens", fmt.Sprintf("%d in, %d out", j.PromptTokens, j.OutputTokens))
	row("Throughput", fmt.Sprintf("%s output tok/s, %s lines/s over %.1f s (measured)", orDash(j.OutputTokS, "%.1f"),
		orDash(j.LinesPerS, "%.2f"), j.RunSeconds))
	row("Input", j.InputPath)
	row("Output", j.OutputPath)
	row("Errors", j.ErrorPath)
	if j.Error != "" {
		row("Error", j.Error)
	}
	if state == "interrupted" || j.State == registry.BatchCancelled || j.State == registry.BatchFailed {
		row("Resume", fmt.Sprintf("fitbench batch resume %d", j.ID))
	}
	return tw.Flush()
}

// batchBar draws the job's progress: a redrawn bar on a terminal, a line at
// most every 2 s otherwise.
type batchBar struct {
	w    io.Writer
	tty  bool
	last time.Time
	drew bool
}

func newBatchBar(w io.Writer) *batchBar {
	b := &batchBar{w: w}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			b.tty = true
		}
	}
	return b
}

func (b *batchBar) print(s batch.Snapshot) {
	every := 2 * time.Second
	if b.tty {
		every = 100 * time.Millisecond
	}
	if !s.Final() && time.Since(b.last) < every {
		return
	}
	b.last = time.Now()
	line := fmt.Sprintf("%-9s %s %5.1f%%  %d done, %d failed of %d", s.State, bar(s.Progress, 24), s.Progress, s.Done, s.Failed, s.Total)
	if s.LinesPerS > 0 {
		line += fmt.Sprintf("  %.1f lines/s  %.0f tok/s", s.LinesPerS, s.OutputTokS)
		if s.ETASeconds > 0 && !s.Final() {
			line += "  ETA " + (time.Duration(s.ETASeconds) * time.Second).String()
		}
	}
	if s.Error != "" {
		line += "  " + s.Error
	}
	if b.tty {
		fmt.Fprintf(b.w, "\r\033[K%s", line)
		b.drew = true
	} else {
		fmt.Fprintln(b.w, line)
	}
}

func (b *batchBar) end() {
	if b.tty && b.drew {
		fmt.Fprintln(b.w)
	}
}

package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fitbench/fitbench/internal/engine"
	"github.com/fitbench/fitbench/internal/registry"
)

// ErrCancelled is the cause a job's context is cancelled with when the user
// cancels it (in-process, or through the registry flag from another process).
var ErrCancelled = errors.New("batch job cancelled")

// ErrInterrupted is returned when the caller's context ended (Ctrl-C, server
// shutdown): the job stays "running" in the registry, to be resumed.
var ErrInterrupted = errors.New("batch job interrupted")

// Options tune one run. Zero values take the defaults noted.
type Options struct {
	Concurrency    int           // default: the instance's parallel slots
	RequestTimeout time.Duration // per request, default 5 minutes
	Retries        int           // retries after a failed attempt (no answer, 429, 5xx); default 3; -1 none
	Backoff        time.Duration // wait before the first retry, doubling; default 500 ms
	CtxTokens      int           // context each request gets; 0: from the engine's flags (ContextPerRequest)
	MaxTokens      int           // cap on each request's max_tokens; 0: none
	// MaxConsecutiveFailures ends the run (failed, resumable) when this many
	// requests in a row got no answer after their retries; default 10.
	MaxConsecutiveFailures int
	PollInterval           time.Duration // how often the registry's cancel flag is read; default 500 ms
	Progress               func(Snapshot)
	Client                 *http.Client
}

func (o Options) withDefaults(inst engine.Instance) Options {
	if o.Concurrency <= 0 {
		o.Concurrency = max(inst.Parallel(), 1)
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 5 * time.Minute
	}
	if o.Retries == 0 {
		o.Retries = 3
	} else if o.Retries < 0 {
		o.Retries = 0
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.CtxTokens <= 0 {
		o.CtxTokens = ContextPerRequest(inst)
	}
	if o.MaxConsecutiveFailures <= 0 {
		o.MaxConsecutiveFailures = 10
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 500 * time.Millisecond
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	return o
}

// result is one finished line on its way to the files.
type result struct {
	line         int
	record       []byte // the JSON line
	toErrors     bool   // the error file (else the output file)
	noAnswer     bool   // no HTTP answer after the retries: held until the engine proves alive
	answered     bool   // the engine answered (any status)
	promptTokens int
	outputTokens int
	promptBytes  int
}

type run struct {
	db      *registry.DB
	job     *registry.BatchJob
	inst    engine.Instance
	o       Options
	send    sender
	in      *os.File
	started time.Time
	cancel  context.CancelCauseFunc

	mu      sync.Mutex
	session struct{ lines, outTokens int64 }
	// bytesPerToken is measured on answered lines, for the context check.
	bpt atomic.Uint64
}

// Run runs the job's pending lines on inst until none is left, the job is
// cancelled, or the engine stops answering; it records the final state and
// returns the job as stored. The caller holds the job's Lock and owns inst.
func Run(ctx context.Context, db *registry.DB, jobID int64, inst engine.Instance, o Options) (*registry.BatchJob, error) {
	job, err := db.GetBatchJob(ctx, jobID)
	if err != nil {
		return nil, err
	}
	if job.State == registry.BatchCompleted {
		return job, nil
	}
	o = o.withDefaults(inst)
	r := &run{db: db, job: job, inst: inst, o: o, send: newSender(inst, o.Client)}
	r.bpt.Store(math.Float64bits(0))
	fail := func(err error) (*registry.BatchJob, error) {
		_ = db.SetBatchState(context.WithoutCancel(ctx), jobID, registry.BatchFailed, err.Error())
		j, _ := db.GetBatchJob(context.WithoutCancel(ctx), jobID)
		r.emit(j)
		return j, err
	}
	settings := ParseSettings(job)
	settings.Flags = inst.Flags()
	settings.Concurrency = o.Concurrency
	if settings.Ctx == 0 {
		settings.Ctx = o.CtxTokens
	}
	sj, _ := json.Marshal(settings)
	if err := db.SetBatchEngine(ctx, jobID, inst.Engine(), sj); err != nil {
		return nil, err
	}
	if err := db.SetBatchState(ctx, jobID, registry.BatchRunning, ""); err != nil {
		return nil, err
	}
	if r.in, err = os.Open(job.InputPath); err != nil {
		return fail(fmt.Errorf("open the input file: %w", err))
	}
	defer r.in.Close()
	out, err := openAppender(job.OutputPath, job.OutBytes)
	if err != nil {
		return fail(err)
	}
	defer out.close()
	errs, err := openAppender(job.ErrorPath, job.ErrBytes)
	if err != nil {
		return fail(err)
	}
	defer errs.close()
	pending, err := db.PendingBatchLines(ctx, jobID)
	if err != nil {
		return fail(err)
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.cancel = cancel
	go r.watch(runCtx)
	r.started = time.Now()
	if j, err := db.GetBatchJob(ctx, jobID); err == nil {
		r.emit(j)
	}

	lines := make(chan registry.BatchLine)
	results := make(chan result, 4*o.Concurrency)
	var wg sync.WaitGroup
	for w := 0; w < o.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l := range lines {
				// The registry's cancel flag is read before every line, not
				// only by the watcher's ticker: once `batch cancel` has
				// committed, no worker starts another line, however late a
				// busy machine runs the ticker.
				if r.cancelRequested(runCtx) {
					continue
				}
				res, ok := r.process(runCtx, l)
				if !ok {
					continue // cancelled mid-request: the line stays pending
				}
				results <- res
			}
		}()
	}
	committed := make(chan error, 1)
	go func() { committed <- r.commitLoop(runCtx, results, out, errs) }()
feed:
	for _, l := range pending {
		select {
		case lines <- l:
		case <-runCtx.Done():
			break feed
		}
	}
	close(lines)
	wg.Wait()
	close(results)
	commitErr := <-committed
	elapsed := time.Since(r.started)

	bg := context.WithoutCancel(ctx)
	final, _ := db.GetBatchJob(bg, jobID)
	if final != nil {
		secs := final.RunSeconds + elapsed.Seconds()
		var tokS, lps float64
		if secs > 0 {
			tokS = float64(final.OutputTokens) / secs
			lps = float64(final.DoneLines+final.FailedLines) / secs
		}
		_ = db.SetBatchThroughput(bg, jobID, secs, tokS, lps)
	}
	cause := context.Cause(runCtx)
	switch {
	case commitErr != nil:
		return fail(commitErr)
	case errors.Is(cause, ErrCancelled):
		_ = db.SetBatchState(bg, jobID, registry.BatchCancelled, "")
	case ctx.Err() != nil:
		j, _ := db.GetBatchJob(bg, jobID)
		r.emit(j)
		return j, ErrInterrupted
	case cause != nil && !errors.Is(cause, context.Canceled):
		return fail(cause)
	default:
		left, err := db.PendingBatchLines(bg, jobID)
		if err != nil {
			return fail(err)
		}
		if len(left) > 0 {
			return fail(fmt.Errorf("%d lines were not finished", len(left)))
		}
		_ = db.SetBatchState(bg, jobID, registry.BatchCompleted, "")
	}
	j, err := db.GetBatchJob(bg, jobID)
	r.emit(j)
	return j, err
}

// watch ends the run when the engine process dies or the registry says the
// job was cancelled (by `fitbench batch cancel` in another process).
func (r *run) watch(ctx context.Context) {
	t := time.NewTicker(r.o.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.inst.Done():
			r.cancel(fmt.Errorf("the engine exited mid-job: %v (resume the job once the engine runs again)", r.inst.Err()))
			return
		case <-t.C:
			if j, err := r.db.GetBatchJob(ctx, r.job.ID); err == nil && j.CancelRequested {
				r.cancel(ErrCancelled)
				return
			}
		}
	}
}

// cancelRequested reports (and acts on) a cancel asked through the registry.
func (r *run) cancelRequested(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	if j, err := r.db.GetBatchJob(ctx, r.job.ID); err == nil && j.CancelRequested {
		r.cancel(ErrCancelled)
		return true
	}
	return false
}

// process reads, checks and sends one line. ok is false when the run was
// cancelled before the line finished.
func (r *run) process(ctx context.Context, l registry.BatchLine) (result, bool) {
	res := result{line: l.LineNo}
	id := l.CustomID
	errLine := func(le *LineError) (result, bool) {
		res.toErrors = true
		var cid *string
		if le.CustomID != "" {
			cid = &le.CustomID
		}
		res.record = mustJSON(OutputLine{ID: newID("batch_req_"), CustomID: cid,
			Error: &OutputError{Code: le.Code, Message: le.Msg, Line: l.LineNo}})
		return res, true
	}
	if l.Length > MaxLineBytes {
		return errLine(lineErr(l.LineNo, id, CodeLineTooLong, "the line is %d bytes, more than the %d MB a line may hold", l.Length, MaxLineBytes>>20))
	}
	buf := make([]byte, l.Length)
	n, err := r.in.ReadAt(buf, l.Offset)
	if n != l.Length || LineHash(buf) != l.Hash {
		reason := "its bytes differ from when the job started"
		if n != l.Length {
			reason = fmt.Sprintf("the file no longer holds it (%v)", err)
		}
		return errLine(lineErr(l.LineNo, id, CodeInputChanged, "the input file changed while the job runs: %s; the line was not sent", reason))
	}
	req, le := ParseRequest(buf, l.LineNo)
	if le != nil {
		return errLine(le)
	}
	if le := contextCheck(req, r.o.CtxTokens, math.Float64frombits(r.bpt.Load()), r.o.MaxTokens); le != nil {
		return errLine(le)
	}
	var a answer
	attempts := 0
	for {
		attempts++
		rctx, cancel := context.WithTimeout(ctx, r.o.RequestTimeout)
		a = r.send.send(rctx, req, r.o.MaxTokens)
		timedOut := errors.Is(rctx.Err(), context.DeadlineExceeded)
		cancel()
		if ctx.Err() != nil {
			return res, false
		}
		if timedOut && a.err != nil {
			a.err = fmt.Errorf("%w after %s", context.DeadlineExceeded, r.o.RequestTimeout)
		}
		retry := a.err != nil || a.status == http.StatusTooManyRequests || a.status >= 500
		if !retry || attempts > r.o.Retries {
			break
		}
		wait := r.o.Backoff << (attempts - 1)
		wait = min(wait, 10*time.Second)
		select {
		case <-ctx.Done():
			return res, false
		case <-time.After(wait):
		}
	}
	cid := req.CustomID
	if a.err != nil {
		code := CodeEngineError
		if errors.Is(a.err, context.DeadlineExceeded) {
			code = CodeTimeout
		}
		res, _ = errLine(&LineError{Line: l.LineNo, CustomID: cid, Code: code,
			Msg: fmt.Sprintf("line %d: no answer from the engine after %d attempts: %v", l.LineNo, attempts, a.err)})
		res.noAnswer = true
		return res, true
	}
	rec := OutputLine{ID: newID("batch_req_"), CustomID: &cid,
		Response: &OutputResponse{StatusCode: a.status, RequestID: newID("req_"), Body: a.body}}
	res.record = mustJSON(rec)
	res.answered = true
	res.toErrors = a.status/100 != 2
	if !res.toErrors {
		res.promptTokens, res.outputTokens, res.promptBytes = a.promptTokens, a.outputTokens, req.PromptBytes
	}
	return res, true
}

// commitLoop writes finished lines in groups: whatever has arrived is
// appended to its file, fsynced, and committed in one registry transaction
// with the files' new lengths. Lines that got no answer are held back until
// a later line is answered (the engine is alive, so those lines really
// failed); when too many in a row get none, the run ends and they stay
// pending for a resume.
func (r *run) commitLoop(ctx context.Context, results <-chan result, out, errs *appender) error {
	var held []result
	var promptBytes, promptTokens int64
	for {
		first, ok := <-results
		if !ok {
			break
		}
		group := []result{first}
	drain:
		for len(group) < 256 {
			select {
			case x, ok := <-results:
				if !ok {
					break drain
				}
				group = append(group, x)
			default:
				break drain
			}
		}
		var toCommit []result
		for _, x := range group {
			if x.noAnswer {
				held = append(held, x)
				continue
			}
			if x.answered { // the engine answers: the held lines really failed
				toCommit, held = append(toCommit, held...), nil
			}
			toCommit = append(toCommit, x)
		}
		if len(held) >= r.o.MaxConsecutiveFailures {
			r.cancel(fmt.Errorf("the engine stopped answering: %d requests in a row got no answer; last: %s", len(held), errorOf(held[len(held)-1])))
			held = nil
		}
		if err := r.commit(ctx, toCommit, out, errs); err != nil {
			r.cancel(err)
			for range results { // let the workers finish
			}
			return err
		}
		for _, x := range toCommit {
			if x.promptTokens > 0 {
				promptBytes += int64(x.promptBytes)
				promptTokens += int64(x.promptTokens)
			}
		}
		if promptTokens > 0 {
			r.bpt.Store(math.Float64bits(float64(promptBytes) / float64(promptTokens)))
		}
	}
	if ctx.Err() == nil { // every line was tried: the held ones failed
		return r.commit(ctx, held, out, errs)
	}
	return nil
}

func errorOf(x result) string {
	var o OutputLine
	if json.Unmarshal(x.record, &o) == nil && o.Error != nil {
		return o.Error.Message
	}
	return ""
}

func (r *run) commit(ctx context.Context, rs []result, out, errs *appender) error {
	if len(rs) == 0 {
		return nil
	}
	var outs, errLines [][]byte
	lrs := make([]registry.LineResult, 0, len(rs))
	for _, x := range rs {
		if x.toErrors {
			errLines = append(errLines, x.record)
		} else {
			outs = append(outs, x.record)
		}
		lrs = append(lrs, registry.LineResult{LineNo: x.line, Failed: x.toErrors, PromptTokens: x.promptTokens, OutputTokens: x.outputTokens})
	}
	if err := out.write(outs); err != nil {
		return err
	}
	if err := errs.write(errLines); err != nil {
		return err
	}
	// The commit must happen even when the run is being cancelled: the bytes
	// are on disk and the lines are finished.
	if err := r.db.CommitBatchLines(context.WithoutCancel(ctx), r.job.ID, lrs, out.size, errs.size); err != nil {
		return fmt.Errorf("recording finished lines: %w", err)
	}
	r.mu.Lock()
	r.session.lines += int64(len(rs))
	for _, x := range rs {
		r.session.outTokens += int64(x.outputTokens)
	}
	r.mu.Unlock()
	if j, err := r.db.GetBatchJob(context.WithoutCancel(ctx), r.job.ID); err == nil {
		r.emit(j)
	}
	return nil
}

// emit sends a snapshot of j with this session's rates.
func (r *run) emit(j *registry.BatchJob) {
	if j == nil || r.o.Progress == nil {
		return
	}
	s := SnapshotOf(j)
	if !r.started.IsZero() && !j.Finished() {
		el := time.Since(r.started).Seconds()
		r.mu.Lock()
		lines, tok := r.session.lines, r.session.outTokens
		r.mu.Unlock()
		s.ElapsedS = el
		if el > 0 {
			s.LinesPerS, s.OutputTokS = float64(lines)/el, float64(tok)/el
		}
		if s.LinesPerS > 0 {
			s.ETASeconds = float64(s.Pending) / s.LinesPerS
		}
	}
	r.o.Progress(s)
}

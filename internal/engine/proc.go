package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// proc is an engine process fitbench started. It runs in its own process group so
// that children (Ollama's runner) die with it, and its output goes to a log file
// that the memory parser reads.
type proc struct {
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	done    chan struct{}
	err     error // set before done is closed
	stopped sync.Once
	unwatch func() bool
}

// startProc starts bin with args and extra env; output goes to logPath. The process
// is killed when ctx is cancelled.
func startProc(ctx context.Context, bin string, args, env []string, logPath string) (*proc, error) {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, fmt.Errorf("engine log directory: %w", err)
	}
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("engine log file: %w", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = lf
	cmd.Stderr = lf
	setProcGroup(cmd)
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &proc{cmd: cmd, logPath: logPath, logFile: lf, done: make(chan struct{})}
	go func() {
		werr := cmd.Wait()
		if werr == nil {
			werr = errors.New("exited with status 0")
		}
		p.err = fmt.Errorf("%s exited: %w", filepath.Base(bin), werr)
		lf.Close()
		close(p.done)
	}()
	p.unwatch = context.AfterFunc(ctx, func() { p.signal(syscall.SIGKILL) })
	return p, nil
}

// Pid is the process id (for tests that kill the engine on purpose).
func (p *proc) Pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM, waits up to 10 seconds (or until ctx ends), then SIGKILL.
func (p *proc) stop(ctx context.Context) error {
	p.stopped.Do(func() {
		p.unwatch()
		p.signal(syscall.SIGTERM)
		t := time.NewTimer(10 * time.Second)
		defer t.Stop()
		select {
		case <-p.done:
		case <-t.C:
		case <-ctx.Done():
		}
		p.signal(syscall.SIGKILL)
		<-p.done
	})
	return nil
}

// readLog returns up to the last 8 MiB of the log.
func (p *proc) readLog() (string, error) { return readTail(p.logPath, 8<<20) }

func readTail(path string, max int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if st.Size() > max {
		if _, err := f.Seek(st.Size()-max, io.SeekStart); err != nil {
			return "", err
		}
	}
	b, err := io.ReadAll(f)
	return string(b), err
}

// logTail is the last lines of the log, for error messages.
func (p *proc) logTail() string {
	s, _ := readTail(p.logPath, 2048)
	return s
}

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls url until it answers 200, the process exits, or ctx ends.
// Engines answer 503 while the model loads.
func waitReady(ctx context.Context, url string, p *proc) error {
	client := &http.Client{Timeout: 5 * time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := "no answer"
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = "status " + strconv.Itoa(resp.StatusCode)
		} else {
			last = err.Error()
		}
		var done <-chan struct{}
		if p != nil {
			done = p.done
		}
		select {
		case <-done:
			return fmt.Errorf("%w; log tail:\n%s", p.err, p.logTail())
		case <-ctx.Done():
			return fmt.Errorf("engine not ready at %s (%s): %w", url, last, ctx.Err())
		case <-tick.C:
		}
	}
}

// prepareSpawn is what every engine fitbench spawns needs first: its binary
// (explicit, else command on PATH — or a NotAvailableError naming how to
// install it), a model file, and a free loopback port.
func prepareSpawn(explicit, command, engine, hint string, s Settings) (bin string, port int, err error) {
	bin = explicit
	if bin == "" {
		if bin, err = exec.LookPath(command); err != nil {
			return "", 0, &NotAvailableError{Engine: engine, Msg: command + " is not on PATH", Hint: hint, Err: err}
		}
	}
	if s.ModelPath == "" {
		return "", 0, fmt.Errorf("%s: no model file given", engine)
	}
	port, err = freePort()
	return bin, port, err
}

// spawnAndWait starts a server engine with its log in s.LogDir (default a
// temporary directory), waits until GET /health answers 200 within the start
// timeout, and returns the process, its base URL and the HTTP client to use.
func spawnAndWait(ctx context.Context, engine, logName, bin string, args []string, port int, s Settings,
	client *http.Client) (*proc, string, *http.Client, error) {
	dir := s.LogDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "fitbench-"+engine+"-"); err != nil {
			return nil, "", nil, fmt.Errorf("%s log directory: %w", engine, err)
		}
	}
	p, err := startProc(ctx, bin, args, nil, filepath.Join(dir, fmt.Sprintf("%s-%d.log", logName, port)))
	if err != nil {
		return nil, "", nil, err
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	sctx, cancel := context.WithTimeout(ctx, s.startTimeout())
	defer cancel()
	if err := waitReady(sctx, base+"/health", p); err != nil {
		p.stop(context.Background())
		return nil, "", nil, &LoadError{Engine: engine, Model: s.ModelPath, Err: err}
	}
	if client == nil {
		client = &http.Client{}
	}
	return p, base, client, nil
}

package download

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sync"
)

// Manager makes concurrent requests for the same destination share one
// download: the second caller joins the first and gets its result. Within a
// process, keep one Manager; across processes a lock file next to the
// destination serialises them (the second then finds the finished file).
type Manager struct {
	mu    sync.Mutex
	calls map[string]*call
}

// NewManager returns an empty Manager.
func NewManager() *Manager { return &Manager{calls: map[string]*call{}} }

// call is one in-flight download and the callers waiting on it. It runs on
// its own context, cancelled only when every waiter has given up, so one
// caller's cancellation does not break another's download.
type call struct {
	spec   FileSpec
	prog   *fileProgress
	done   chan struct{}
	err    error
	refs   int
	cancel context.CancelFunc
}

var hexSHA = regexp.MustCompile(`^[0-9a-f]{64}$`)

func validate(s FileSpec) error {
	switch {
	case s.Dest == "" || !filepath.IsAbs(s.Dest):
		return fmt.Errorf("download: destination %q must be an absolute path (use SafeJoin)", s.Dest)
	case s.Size < 0:
		return fmt.Errorf("download: %s: negative size %d", s.Dest, s.Size)
	case s.SHA256 != "" && !hexSHA.MatchString(s.SHA256):
		return fmt.Errorf("download: %s: expected sha256 %q is not 64 lowercase hex digits", s.Dest, s.SHA256)
	case s.Resolve == nil:
		return fmt.Errorf("download: %s: no Resolve function", s.Dest)
	}
	return nil
}

// Fetch downloads every file of specs (the shards of one variant) as one
// unit, one file after the other, each in parallel parts, reporting combined
// progress. Files already complete and verified at their destination are
// not fetched again. On error the partial state is kept for a later resume
// (except after a checksum failure, which deletes the corrupt copy).
func (m *Manager) Fetch(ctx context.Context, specs []FileSpec, opts Options) error {
	opts = opts.withDefaults()
	specs = append([]FileSpec(nil), specs...) // normalised below; the caller's slice is not touched
	var total int64
	for i := range specs {
		if err := validate(specs[i]); err != nil {
			return err
		}
		specs[i].Dest = filepath.Clean(specs[i].Dest)
		if specs[i].Name == "" {
			specs[i].Name = filepath.Base(specs[i].Dest)
		}
		total += specs[i].Size
	}
	if err := checkSpaceAll(specs, &opts); err != nil {
		return err
	}
	rep := newReporter(opts.OnProgress, total, opts.Interval)
	for _, s := range specs {
		c, err := m.join(s, opts)
		if err != nil {
			rep.close(false)
			return err
		}
		rep.setFile(c.prog, s.Name)
		if err := m.wait(ctx, c); err != nil {
			rep.close(false)
			return err
		}
		rep.fileDone(s.Size)
	}
	rep.close(true)
	return nil
}

// checkSpaceAll checks, before any byte is written, that each directory has
// room for every byte still to fetch there (resumed bytes excluded).
func checkSpaceAll(specs []FileSpec, opts *Options) error {
	need := map[string]int64{}
	for _, s := range specs {
		need[filepath.Dir(s.Dest)] += remainingBytes(s)
	}
	for dir, n := range need {
		probe := dir
		for !exists(probe) && filepath.Dir(probe) != probe {
			probe = filepath.Dir(probe) // the directory may not exist yet
		}
		if err := checkSpace(probe, n, opts); err != nil {
			return err
		}
	}
	return nil
}

// join attaches to the in-flight download of s.Dest or starts one.
func (m *Manager) join(s FileSpec, opts Options) (*call, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.calls[s.Dest]; ok {
		if c.spec.Size != s.Size || c.spec.SHA256 != s.SHA256 {
			return nil, fmt.Errorf("download: %s is already being downloaded with a different size or sha256", s.Dest)
		}
		c.refs++
		return c, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &call{spec: s, prog: newFileProgress(), done: make(chan struct{}), refs: 1, cancel: cancel}
	m.calls[s.Dest] = c
	go func() {
		c.err = fetchFile(ctx, s, opts, c.prog)
		cancel()
		m.mu.Lock()
		delete(m.calls, s.Dest)
		m.mu.Unlock()
		close(c.done)
	}()
	return c, nil
}

// wait returns the download's result, or ctx's error if the caller gives up
// first; the last caller to give up cancels the download.
func (m *Manager) wait(ctx context.Context, c *call) error {
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
	}
	m.mu.Lock()
	c.refs--
	last := c.refs == 0
	if last {
		c.cancel()
	}
	m.mu.Unlock()
	if last {
		<-c.done // the state file is saved before we return
		if c.err != nil && !errors.Is(c.err, context.Canceled) {
			return c.err
		}
	}
	return ctx.Err()
}

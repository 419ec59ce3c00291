package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/localhub"
)

// medium is a ~12.5 MB F16 model: one download chunk, and larger than the
// header read, so byte faults can target the download alone.
var medium = synth.Spec{Name: "fitbench-medium", Layers: 2, Embd: 512, Heads: 8, KVHeads: 2, FF: 1024, Vocab: 2048,
	Ctx: 4096, Seed: 3, WeightType: gguf.TypeF16}

// large is a ~95 MB F16 model: several chunks over several connections.
var large = synth.Spec{Name: "fitbench-large", Layers: 2, Embd: 1024, Heads: 16, KVHeads: 4, FF: 4096, Vocab: 8192,
	Ctx: 4096, Seed: 5, WeightType: gguf.TypeF16}

// headerGets is how many CDN GETs reading id's header costs (what the install
// pipeline's estimate does before the download), measured with an analysis.
func (f *fixture) headerGets(id string) int {
	f.t.Helper()
	before := f.hub.Counts()[localhub.CountCDNGet]
	f.ok("", "analyze", id, "--cpu-only")
	return int(f.hub.Counts()[localhub.CountCDNGet] - before)
}

// skipHeaderReads queues harmless faults (a flip past the end of the file)
// that the install's header reads consume, so the next queued fault hits the
// download itself.
func (f *fixture) skipHeaderReads(path string, n int) {
	if n > 0 {
		f.hub.Inject(localhub.Fault{Kind: "flip", Path: path, After: 1 << 40, Count: n})
	}
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func rowOf(rows []listRow, id string) listRow {
	for _, r := range rows {
		if r["model_id"] == id {
			return r
		}
	}
	return nil
}

// TestInstallSurvivesSIGKILL kills a real install mid-download and runs it
// again: it resumes, fetching only what the state file had not recorded (plus
// the chunks that were in flight), verifies, and keeps one registry row.
func TestInstallSurvivesSIGKILL(t *testing.T) {
	f := newFixture(t, localhub.Options{BandwidthPerConn: 6 << 20})
	src := f.model("testorg/Large-GGUF", "Large-F16", large)[0]
	size := fileSize(t, src)
	id := "testorg/Large-GGUF:F16"
	const parts = 2
	dest := filepath.Join(f.home, "models", "testorg", "Large-GGUF", "Large-F16.gguf")

	cmd := exec.Command(binPath, "install", id, "--no-bench", "--parts", "2")
	cmd.Env = f.environ()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Kill once the state file records a good share of the file.
	var done int64
	for done < size/3 {
		select {
		case err := <-exited:
			t.Fatalf("install finished before it could be killed (%v):\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		done = stateDone(dest)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	done = stateDone(dest) // what the dead process left on disk
	chunk := stateChunk(dest)
	if done <= 0 || done >= size || chunk <= 0 {
		t.Fatalf("state after kill: done %d of %d, chunk %d", done, size, chunk)
	}
	// nobody holds the job lock now: list shows the row as the interrupted
	// download it is, with how to resume it, not as a download still running
	if r := rowOf(f.list(), id); r == nil || r["status"] != "failed" || !strings.Contains(fmt.Sprint(r["status_reason"]), "to resume") {
		t.Errorf("after SIGKILL the row is %v", r)
	}

	before := f.hub.Counts()[localhub.CountCDNBytes]
	r := f.ok("", "install", id, "--no-bench", "--parts", "2")
	fetched := f.hub.Counts()[localhub.CountCDNBytes] - before
	if !strings.Contains(r.stdout, "untested") {
		t.Errorf("second run: %s", r)
	}
	if fileSHA256(t, dest) != fileSHA256(t, src) {
		t.Fatal("the resumed file differs from the source")
	}
	limit := (size - done) + parts*chunk
	t.Logf("size %d, recorded done %d, second run fetched %d (limit %d)", size, done, fetched, limit)
	if fetched > limit {
		t.Errorf("second run fetched %d bytes, more than the %d missing plus %d in flight", fetched, size-done, parts*chunk)
	}
	if fetched >= size {
		t.Errorf("second run fetched the whole file again (%d bytes)", fetched)
	}
	rows := f.list()
	if len(rows) != 1 || rows[0]["status"] != "untested" {
		t.Errorf("rows after resume: %v", rows)
	}
	for _, suffix := range []string{".partial", ".partial.json"} {
		if _, err := os.Stat(dest + suffix); !os.IsNotExist(err) {
			t.Errorf("%s left behind", filepath.Base(dest+suffix))
		}
	}
}

type state struct {
	ChunkSize int64 `json:"chunk_size"`
	Chunks    []struct {
		Done int64 `json:"done"`
	} `json:"chunks"`
}

func readState(dest string) state {
	var st state
	if b, err := os.ReadFile(dest + ".partial.json"); err == nil {
		_ = json.Unmarshal(b, &st)
	}
	return st
}

func stateDone(dest string) int64 {
	var n int64
	for _, c := range readState(dest).Chunks {
		n += c.Done
	}
	return n
}

func stateChunk(dest string) int64 { return readState(dest).ChunkSize }

// TestInstallFlippedByte: a corrupted byte is caught by the sha256 check, the
// model is not registered as downloaded, nothing lands in models/, and the
// next install fetches a good copy.
func TestInstallFlippedByte(t *testing.T) {
	f := newFixture(t, localhub.Options{})
	src := f.model("testorg/Flip-GGUF", "Flip-F16", medium)[0]
	size := fileSize(t, src)
	id := "testorg/Flip-GGUF:F16"
	dest := filepath.Join(f.home, "models", "testorg", "Flip-GGUF", "Flip-F16.gguf")
	f.skipHeaderReads("/Flip-GGUF/", f.headerGets(id))
	f.hub.Inject(localhub.Fault{Kind: "flip", Path: "/Flip-GGUF/", After: size - 1000})
	r := f.run("", "install", id, "--no-bench")
	if r.code == 0 || !strings.Contains(r.stderr, "checksum failed") {
		t.Fatalf("install of a corrupted download: %s", r)
	}
	row := rowOf(f.list(), id)
	if row == nil || row["status"] != "failed" {
		t.Errorf("row after a checksum failure: %v", row)
	}
	for _, p := range []string{dest, dest + ".partial"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s exists after a checksum failure", p)
		}
	}
	r = f.ok("", "install", id, "--no-bench")
	if fileSHA256(t, dest) != fileSHA256(t, src) {
		t.Fatal("retry did not fetch a good copy")
	}
	if rows := f.list(); len(rows) != 1 || rows[0]["status"] != "untested" {
		t.Errorf("rows after retry: %v", rows)
	}
}

// TestInstallRecoversNetworkFaults: a connection dropped mid-part, a 200 to a
// range request, and a signed URL that expired between attempts all end in a
// verified file.
func TestInstallRecoversNetworkFaults(t *testing.T) {
	cases := []struct {
		name   string
		faults func(size int64) []localhub.Fault
	}{
		{"drop", func(size int64) []localhub.Fault {
			return []localhub.Fault{{Kind: "drop", After: size / 2}}
		}},
		{"ignore-range", func(size int64) []localhub.Fault {
			// The first attempt is cut mid-way so the retry asks for a range;
			// the server then ignores Range and sends the whole file.
			return []localhub.Fault{{Kind: "drop", After: size / 3}, {Kind: "ignore-range"}}
		}},
		{"expire", func(size int64) []localhub.Fault {
			return []localhub.Fault{{Kind: "drop", After: size / 3}, {Kind: "expire"}}
		}},
		{"500-then-drop", func(size int64) []localhub.Fault {
			return []localhub.Fault{{Kind: "500"}, {Kind: "drop", After: size / 4}, {Kind: "drop", After: size / 2}}
		}},
	}
	f := newFixture(t, localhub.Options{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			repo := "testorg/Net-" + c.name + "-GGUF"
			src := f.model(repo, "Net-F16", medium)[0]
			size := fileSize(t, src)
			id := repo + ":F16"
			path := "/Net-" + c.name + "-GGUF/"
			f.skipHeaderReads(path, f.headerGets(id))
			for _, ft := range c.faults(size) {
				ft.Path = path
				f.hub.Inject(ft)
			}
			f.ok("", "install", id, "--no-bench")
			dest := filepath.Join(f.home, "models", filepath.FromSlash(repo), "Net-F16.gguf")
			if fileSHA256(t, dest) != fileSHA256(t, src) {
				t.Fatal("file differs from the source")
			}
			if r := rowOf(f.list(), id); r == nil || r["status"] != "untested" {
				t.Errorf("row: %v", r)
			}
		})
	}
}

// TestTwoCLIInstallsAtOnce: two processes installing the same model share one
// download (the file lock serialises them; the second finds the verified
// file) and one registry row.
func TestTwoCLIInstallsAtOnce(t *testing.T) {
	f := newFixture(t, localhub.Options{BandwidthPerConn: 4 << 20})
	src := f.model("testorg/Twice-GGUF", "Twice-F16", medium)[0]
	size := fileSize(t, src)
	id := "testorg/Twice-GGUF:F16"
	before := f.hub.Counts()[localhub.CountCDNBytes]
	f.ok("", "analyze", id, "--cpu-only")
	header := f.hub.Counts()[localhub.CountCDNBytes] - before
	before += header
	var wg sync.WaitGroup
	results := make([]result, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = f.run("", "install", id, "--no-bench")
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.code != 0 {
			t.Errorf("install %d: %s", i, r)
		}
	}
	fetched := f.hub.Counts()[localhub.CountCDNBytes] - before
	if fetched > size+2*header+1<<20 {
		t.Errorf("two installs fetched %d bytes; the file is %d (+%d per header read)", fetched, size, header)
	}
	rows := f.list()
	if len(rows) != 1 || rows[0]["status"] != "untested" {
		t.Errorf("rows: %v", rows)
	}
	dest := filepath.Join(f.home, "models", "testorg", "Twice-GGUF", "Twice-F16.gguf")
	if fileSHA256(t, dest) != fileSHA256(t, src) {
		t.Fatal("file differs from the source")
	}
}

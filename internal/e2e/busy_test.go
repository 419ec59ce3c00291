package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/localhub"
)

// TestBusyAcrossProcesses (issue 14.4): while a CLI install downloads a model,
// another process may not delete it: `fitbench rm` and DELETE
// /api/models/{id} of a server started meanwhile refuse (before the fix both
// answered success, deleted the row and the .partial, and the CLI failed at
// the rename after downloading everything). The server's start-up recovery
// must not take the live CLI job for an interrupted one (mark it failed, or
// start a second copy of the download). The CLI install then completes.
func TestBusyAcrossProcesses(t *testing.T) {
	root := t.TempDir()
	spec := synth.Spec{Name: "busy", Layers: 2, Embd: 512, Heads: 8, KVHeads: 2, FF: 1024, Vocab: 2048,
		Ctx: 4096, Seed: 3, WeightType: gguf.TypeF16}
	src := writeRepo(t, root, "testorg", "Busy-GGUF", spec, gguf.TypeF16)[0]
	st, _ := os.Stat(src)
	hub := startHub(t, localhub.Options{Root: root, BandwidthPerConn: 1 << 20}) // ≈ 12 s for the file
	home := t.TempDir()
	env := append(os.Environ(), "HF_ENDPOINT="+hub.URL(), "HF_HOME="+home+"/hf", "HF_TOKEN=", "FITBENCH_HOME="+home)
	const id = "testorg/Busy-GGUF:F16"

	cli := exec.Command(fitbenchBin, "install", id, "--no-bench", "--parts", "1")
	cli.Env = env
	var cliOut syncBuffer
	cli.Stdout, cli.Stderr = &cliOut, &cliOut
	if err := cli.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cli.Wait() }()
	t.Cleanup(func() { cli.Process.Kill() })

	fitbench := func(args ...string) (string, error) {
		c := exec.Command(fitbenchBin, args...)
		c.Env = env
		var out bytes.Buffer
		c.Stdout, c.Stderr = &out, &out
		err := c.Run()
		return out.String(), err
	}
	listRow := func() map[string]any {
		out, err := fitbench("list", "--json")
		if err != nil {
			t.Fatalf("list: %v %s", err, out)
		}
		var rows []map[string]any
		json.Unmarshal([]byte(out), &rows)
		for _, r := range rows {
			if r["model_id"] == id {
				return r
			}
		}
		return nil
	}
	deadline := time.Now().Add(30 * time.Second)
	for r := listRow(); r == nil || r["status"] != "downloading" || hub.Counts()[localhub.CountCDNBytes] < 2<<20; r = listRow() {
		if time.Now().After(deadline) {
			t.Fatalf("the CLI install never got to downloading: %v\n%s", r, cliOut.Tail(2000))
		}
		time.Sleep(100 * time.Millisecond)
	}

	if out, err := fitbench("rm", id); err == nil || !strings.Contains(out, "another fitbench process") {
		t.Errorf("rm during another process's install: err %v, output %q", err, out)
	}

	srv := startServe(t, hub.URL(), "FITBENCH_HOME="+home)
	r := listRow()
	if r == nil || r["status"] != "downloading" {
		t.Errorf("after serve's start-up recovery the live install's row is %v", r)
	}
	req, _ := http.NewRequest(http.MethodDelete, fmt.Sprintf("%s/api/models/%v", srv.URL, r["id"]), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || !strings.Contains(fmt.Sprint(body["error"]), "another fitbench process") {
		t.Errorf("DELETE during another process's install: %d %v", resp.StatusCode, body)
	}

	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("CLI install: %v\n%s", err, cliOut.Tail(3000))
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("CLI install did not finish\n%s", cliOut.Tail(3000))
	}
	if r := listRow(); r == nil || r["status"] != "untested" {
		t.Errorf("row after the install: %v", r)
	}
	// One copy of the file crossed the wire (plus header reads): the server did
	// not start a second download of the CLI's job.
	if got := hub.Counts()[localhub.CountCDNBytes]; got > st.Size()*3/2 {
		t.Errorf("CDN sent %d bytes for a %d-byte file: a second download ran", got, st.Size())
	}
	for _, line := range srv.errorsIn() {
		t.Errorf("server logged an error: %s", line)
	}
}

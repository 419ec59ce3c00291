package hub

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fitbench/fitbench/internal/gguf"
	"github.com/fitbench/fitbench/internal/gguf/synth"
	"github.com/fitbench/fitbench/internal/localhub"
)

const goodToken = "hf_SECRETtoken1234567890"

// fixture is a real localhub serving a temp directory of generated repos.
type fixture struct {
	root string
	hub  *localhub.Hub
}

// newFixture lays out the repos every test uses and starts localhub on it:
//
//	org/model-GGUF: model-Q4_K_M.gguf, model-Q8_0.gguf, mmproj-model-F16.gguf,
//	  model.imatrix.gguf, README.md, Q6_K/model-Q6_K-0000{1,2}-of-00002.gguf,
//	  UD-Q4_K_XL/model-UD-Q4_K_XL-0000{1,2,3}-of-00003.gguf
//	org/gated-GGUF (.gated), org/private-GGUF (.private): model-Q4_0.gguf
func newFixture(t *testing.T, opts localhub.Options) *fixture {
	t.Helper()
	root := t.TempDir()
	repo := filepath.Join(root, "org", "model-GGUF")
	gen := func(dir, base string, spec synth.Spec) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := synth.Write(dir, base, spec); err != nil {
			t.Fatalf("synth %s: %v", base, err)
		}
	}
	gen(repo, "model-Q4_K_M", synth.Spec{Seed: 1})
	gen(repo, "model-Q8_0", synth.Spec{Seed: 2, WeightType: gguf.TypeQ8_0})
	gen(repo, "mmproj-model-F16", synth.Spec{Seed: 3})
	gen(repo, "model.imatrix", synth.Spec{Seed: 4})
	gen(filepath.Join(repo, "Q6_K"), "model-Q6_K", synth.Spec{Seed: 5, Shards: 2, Layers: 3})
	gen(filepath.Join(repo, "UD-Q4_K_XL"), "model-UD-Q4_K_XL", synth.Spec{Seed: 6, Shards: 3, Layers: 4})
	writeFile(t, filepath.Join(repo, "README.md"), "# model\n")
	for _, name := range []string{"gated-GGUF", "private-GGUF"} {
		gen(filepath.Join(root, "org", name), "model-Q4_0", synth.Spec{Seed: 7, WeightType: gguf.TypeQ4_0})
	}
	writeFile(t, filepath.Join(root, "org", "gated-GGUF", ".gated"), "manual")
	writeFile(t, filepath.Join(root, "org", "private-GGUF", ".private"), "")

	opts.Root = root
	if opts.Tokens == nil {
		opts.Tokens = []string{goodToken}
	}
	h, err := localhub.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return &fixture{root: root, hub: h}
}

// client returns a client for the fixture with fast retries.
func (f *fixture) client(token string) *Client {
	return New(Config{Endpoint: f.hub.URL(), Token: token, RetryBase: time.Millisecond, MaxRetryWait: 5 * time.Second})
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func osMkdirAll(dir string) error { return os.MkdirAll(dir, 0o755) }

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fitbench/fitbench/internal/registry"
)

// loadRow is one endpoint under load.
type loadRow struct {
	name      string
	latencies []time.Duration
	elapsed   time.Duration
	errors    int
	bodyBytes int
}

// loadBench registers c.models models in a fresh registry, serves it, and
// hammers GET /healthz (baseline) and GET /api/models with c.clients clients.
func loadBench(ctx context.Context, c config, dir string) ([]loadRow, error) {
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return nil, err
	}
	if err := seedRegistry(ctx, filepath.Join(home, "registry.db"), c.models); err != nil {
		return nil, err
	}
	// No analysis happens here; the Hub address only has to be syntactically valid.
	srv, err := startServe(ctx, c.bin, home, "http://127.0.0.1:9")
	if err != nil {
		return nil, err
	}
	defer srv.stop()

	var list struct {
		Models []json.RawMessage `json:"models"`
	}
	size, err := getJSON(ctx, srv.URL+"/api/models", &list)
	if err != nil {
		return nil, err
	}
	if len(list.Models) != c.models {
		return nil, fmt.Errorf("GET /api/models returned %d models, want %d", len(list.Models), c.models)
	}
	// The one-client row separates the cost of one answer from queueing.
	var rows []loadRow
	for _, ep := range []struct {
		path    string
		clients int
	}{{"/healthz", c.clients}, {"/api/models", c.clients}, {"/api/models", 1}} {
		r := hammer(ctx, srv.URL+ep.path, ep.clients, c.duration)
		r.name = fmt.Sprintf("GET %s, %d client(s)", ep.path, ep.clients)
		if ep.path == "/api/models" {
			r.bodyBytes = size
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// seedRegistry writes n realistic rows (a mix of statuses, measured and not).
func seedRegistry(ctx context.Context, path string, n int) error {
	db, err := registry.Open(path)
	if err != nil {
		return err
	}
	defer db.Close()
	quants := []string{"Q4_K_M", "Q5_K_M", "Q8_0", "Q4_0", "F16"}
	for i := 0; i < n; i++ {
		q := quants[i%len(quants)]
		repo := fmt.Sprintf("org%02d/Model-%04d-7B-Instruct-GGUF", i%37, i)
		m := &registry.Model{ModelID: repo + ":" + q, Name: fmt.Sprintf("Model %d 7B Instruct %s", i, q),
			Repo: repo, Revision: "main", CommitSHA: fmt.Sprintf("%040x", i), QuantizationType: q,
			LocalPath: fmt.Sprintf("/data/models/%s/model-%s.gguf", repo, q), SizeBytes: 4_370_000_000 + int64(i)*1000,
			SizeGB: 4.37, EstimatedMemoryGB: 5.9, ParamCount: 7_240_000_000, Architecture: "llama", ContextLength: 32768,
			QualityStars: 1 + i%5, EstimatedThroughput: 40 + float64(i%50), TotalLayers: 33, GPULayers: 33,
			Files:  []registry.File{{Path: fmt.Sprintf("model-%s.gguf", q), SizeBytes: 4_370_000_000, SHA256: fmt.Sprintf("%064x", i)}},
			Status: registry.StatusUntested}
		if i%2 == 0 {
			m.Status, m.ThroughputTokensPerSec, m.OutputTokS, m.TotalTokS, m.Engine = registry.StatusTested, 35+float64(i%40), 35+float64(i%40), 120, "ollama"
		}
		if _, err := db.UpsertModel(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// hammer runs clients loops of GET url for d and records every latency.
func hammer(ctx context.Context, url string, clients int, d time.Duration) loadRow {
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var mu sync.Mutex
	var row loadRow
	var wg sync.WaitGroup
	start := time.Now()
	stop := start.Add(d)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			errs := 0
			for time.Now().Before(stop) && ctx.Err() == nil {
				t := time.Now()
				if err := getDiscard(ctx, client, url); err != nil {
					errs++
					continue
				}
				lat = append(lat, time.Since(t))
			}
			mu.Lock()
			row.latencies = append(row.latencies, lat...)
			row.errors += errs
			mu.Unlock()
		}()
	}
	wg.Wait()
	row.elapsed = time.Since(start)
	return row
}

func getDiscard(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

// getJSON decodes url's answer into v and returns the body size.
func getJSON(ctx context.Context, url string, v any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	return len(b), json.Unmarshal(b, v)
}

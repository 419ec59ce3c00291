package server

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSlowBodiesAreCut (issue 14.6): connections that send a request body
// at a byte a second were all held open. Each is now answered 408 and
// closed when the body deadline passes, while a normal request still works.
func TestSlowBodiesAreCut(t *testing.T) {
	e := newEnv(t, time.Millisecond, Config{BodyTimeout: 300 * time.Millisecond})
	addr := strings.TrimPrefix(e.http.URL, "http://")
	const conns = 20
	var wg sync.WaitGroup
	statuses := make([]string, conns)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				statuses[i] = err.Error()
				return
			}
			defer c.Close()
			c.Write([]byte("POST /api/models/analyze HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"))
			stop := make(chan struct{})
			go func() { // trickle one byte every 100 ms until the server gives up
				for {
					select {
					case <-stop:
						return
					case <-time.After(100 * time.Millisecond):
						if _, err := c.Write([]byte(" ")); err != nil {
							return
						}
					}
				}
			}()
			defer close(stop)
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				statuses[i] = err.Error()
				return
			}
			resp.Body.Close()
			statuses[i] = resp.Status
		}()
	}
	wg.Wait()
	for i, st := range statuses {
		if !strings.HasPrefix(st, "408") {
			t.Errorf("slow connection %d: %s, want 408", i, st)
		}
	}
	resp, err := http.Post(e.http.URL+"/api/models/analyze", "application/json", strings.NewReader(`{"content":"org/Model-8B-GGUF"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a normal analyze after the slow ones: %s", resp.Status)
	}
}

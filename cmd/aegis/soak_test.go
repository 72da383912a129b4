package main

// Issue 16: a bounded loopback soak. `aegis serve` on PostgreSQL takes mixed reads
// and writes from several clients for AEGIS_SOAK_SECONDS (a few seconds in `make
// test`, five minutes in `make soak`): no answer is a 5xx, and the server's memory,
// goroutines and open files do not grow.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core/store"
)

// EnvSoakSeconds sets how long TestSoak loads the server (default 4 s; make soak: 300).
const EnvSoakSeconds = "AEGIS_SOAK_SECONDS"

// soakSample is the server's state at one moment.
type soakSample struct {
	at         time.Duration
	goroutines float64 // go_goroutines
	heap       float64 // go_memstats_heap_inuse_bytes
	rss        float64 // VmRSS of /proc/PID/status, bytes
	fds        int     // entries of /proc/PID/fd
}

// sampleServer reads the server process's goroutines and heap from /metrics (over a
// connection of its own, closed after, so sampling holds nothing open) and its
// resident memory and open files from /proc.
func sampleServer(t *testing.T, base string, pid int, at time.Duration) soakSample {
	t.Helper()
	s := soakSample{at: at}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Minute}
	resp, err := c.Get(base + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		f, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil {
			continue
		}
		switch name {
		case "go_goroutines":
			s.goroutines = f
		case "go_memstats_heap_inuse_bytes":
			s.heap = f
		}
	}
	resp.Body.Close()
	if s.goroutines == 0 || s.heap == 0 {
		t.Fatal("/metrics has no go_goroutines or go_memstats_heap_inuse_bytes")
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("the server's /proc status: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			s.rss = kb * 1024
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("the server's /proc fds: %v", err)
	}
	s.fds = len(fds)
	return s
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// soakOp is one kind of request a soak client sends, with the status it must get.
type soakOp struct {
	name string
	run  func(c *soakClient) int
	want int
}

// soakClient is one signed-in client with the tests it created (only it edits them,
// so its edits never conflict).
type soakClient struct {
	hc    *httpClient
	id    int
	n     int
	tests []soakTest
	last  []byte // the last answer's body
}

type soakTest struct {
	id      string
	version int
}

func (c *soakClient) jsonDo(method, path string, body any, out any) int {
	code, b := c.hc.do(method, path, body)
	c.last = b
	if out != nil && code < 300 {
		_ = json.Unmarshal(b, out)
	}
	return code
}

var soakOps = []soakOp{
	{"create test", func(c *soakClient) int {
		var te struct {
			ID      string `json:"id"`
			Version int    `json:"version"`
		}
		code := c.jsonDo(http.MethodPost, "/api/v1/tests", map[string]any{"title": fmt.Sprintf("soak c%d n%d", c.id, c.n), "technique_id": "T1059"}, &te)
		if code == http.StatusCreated {
			c.tests = append(c.tests, soakTest{te.ID, te.Version})
		}
		return code
	}, http.StatusCreated},
	{"edit test", func(c *soakClient) int {
		if len(c.tests) == 0 {
			return http.StatusOK
		}
		te := &c.tests[c.n%len(c.tests)]
		var out struct {
			Version int `json:"version"`
		}
		code := c.jsonDo(http.MethodPatch, "/api/v1/tests/"+te.id, map[string]any{"version": te.version, "title": fmt.Sprintf("soak c%d rev %d", c.id, c.n)}, &out)
		if code == http.StatusOK {
			te.version = out.Version
		}
		return code
	}, http.StatusOK},
	{"read test", func(c *soakClient) int {
		if len(c.tests) == 0 {
			return http.StatusOK
		}
		return c.jsonDo(http.MethodGet, "/api/v1/tests/"+c.tests[c.n%len(c.tests)].id, nil, nil)
	}, http.StatusOK},
	{"list tests", func(c *soakClient) int { return c.jsonDo(http.MethodGet, "/api/v1/tests?limit=20", nil, nil) }, http.StatusOK},
	{"search templates", func(c *soakClient) int {
		return c.jsonDo(http.MethodGet, "/api/v1/templates?search=soak+"+strconv.Itoa(c.n%7), nil, nil)
	}, http.StatusOK},
	{"create template", func(c *soakClient) int {
		return c.jsonDo(http.MethodPost, "/api/v1/templates", map[string]any{"name": fmt.Sprintf("soak template c%d n%d", c.id, c.n),
			"technique_ids": []string{"T1059"}, "platforms": []string{"linux"}, "command": "id"}, nil)
	}, http.StatusCreated},
	{"techniques", func(c *soakClient) int { return c.jsonDo(http.MethodGet, "/api/v1/techniques?limit=50", nil, nil) }, http.StatusOK},
	{"campaigns", func(c *soakClient) int { return c.jsonDo(http.MethodGet, "/api/v1/campaigns", nil, nil) }, http.StatusOK},
	{"dashboard", func(c *soakClient) int { return c.jsonDo(http.MethodGet, "/api/v1/dashboard", nil, nil) }, http.StatusOK},
	{"me", func(c *soakClient) int { return c.jsonDo(http.MethodGet, "/api/v1/auth/me", nil, nil) }, http.StatusOK},
	{"notifications", func(c *soakClient) int { return c.jsonDo(http.MethodGet, "/api/v1/notifications", nil, nil) }, http.StatusOK},
}

// TestSoak loads a real `aegis serve` (a child process) on PostgreSQL with eight
// clients sending a mix of reads and writes for AEGIS_SOAK_SECONDS, sampling the
// server about 30 times. It fails on any 5xx (or any other unexpected status); on
// growth of the heap or resident memory from the first third of the samples to the
// last beyond 50% + 16 MiB; on more goroutines or open files than before the load
// (+10 and +5) once the clients have closed their connections.
func TestSoak(t *testing.T) {
	seconds := 4
	if v := os.Getenv(EnvSoakSeconds); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a number of seconds", EnvSoakSeconds, v)
		}
		seconds = n
	}
	duration := time.Duration(seconds) * time.Second
	e := newFaultEnv(t, store.Postgres, "")
	srv := startServerProcess(t, e.cfg, faultAuditKey)
	pid := srv.cmd.Process.Pid

	const clients = 8
	cs := make([]*soakClient, clients)
	for i := range cs {
		cs[i] = &soakClient{hc: signIn(t, srv.Base, "red", faultPassword), id: i}
	}
	// Warm up: every client sends every kind of request at once, so lazily built
	// state (caches, the database pool at its working size) is there before the
	// baseline is taken.
	var warm sync.WaitGroup
	for _, c := range cs {
		warm.Add(1)
		go func() {
			defer warm.Done()
			for range 3 {
				for _, op := range soakOps {
					op.run(c)
				}
			}
		}()
	}
	warm.Wait()
	for _, c := range cs {
		c.hc.c.CloseIdleConnections()
	}
	idle := settle(t, srv.Base, pid, 0)

	var (
		requests, failures atomic.Int64
		mu                 sync.Mutex
		firstFailures      []string
		wg                 sync.WaitGroup
	)
	start := time.Now()
	stop := make(chan struct{})
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				op := soakOps[(c.n*7+c.id)%len(soakOps)]
				code := op.run(c)
				c.n++
				requests.Add(1)
				if code != op.want {
					failures.Add(1)
					mu.Lock()
					if len(firstFailures) < 10 {
						firstFailures = append(firstFailures, fmt.Sprintf("%s by client %d: %d %.200s", op.name, c.id, code, c.last))
					}
					mu.Unlock()
				}
			}
		}()
	}
	every := min(max(duration/30, 100*time.Millisecond), 10*time.Second)
	var samples []soakSample
	for time.Since(start) < duration {
		time.Sleep(every)
		samples = append(samples, sampleServer(t, srv.Base, pid, time.Since(start)))
	}
	close(stop)
	wg.Wait()
	elapsed := time.Since(start)
	for _, c := range cs {
		c.hc.c.CloseIdleConnections()
	}
	after := settle(t, srv.Base, pid, idle.goroutines+10)

	t.Logf("%d requests in %s (%.0f/s), %d samples; before the load: %.0f goroutines, %d fds, heap %.1f MiB, RSS %.1f MiB; after: %.0f goroutines, %d fds, heap %.1f MiB, RSS %.1f MiB",
		requests.Load(), elapsed.Round(time.Millisecond), float64(requests.Load())/elapsed.Seconds(), len(samples),
		idle.goroutines, idle.fds, idle.heap/(1<<20), idle.rss/(1<<20), after.goroutines, after.fds, after.heap/(1<<20), after.rss/(1<<20))
	if n := failures.Load(); n > 0 {
		t.Errorf("%d of %d requests got an unexpected status, first: %s", n, requests.Load(), strings.Join(firstFailures, "; "))
	}
	if requests.Load() < int64(seconds) {
		t.Fatalf("only %d requests in %s", requests.Load(), elapsed)
	}
	if len(samples) >= 3 {
		third := len(samples) / 3
		for _, m := range []struct {
			name string
			get  func(soakSample) float64
		}{{"heap in use", func(s soakSample) float64 { return s.heap }}, {"resident memory", func(s soakSample) float64 { return s.rss }}} {
			var first, last []float64
			for i, s := range samples {
				if i < third {
					first = append(first, m.get(s))
				} else if i >= len(samples)-third {
					last = append(last, m.get(s))
				}
			}
			a, b := median(first), median(last)
			t.Logf("%s: median %.1f MiB in the first third, %.1f MiB in the last", m.name, a/(1<<20), b/(1<<20))
			if b > a*1.5+16<<20 {
				t.Errorf("%s grew from %.1f MiB to %.1f MiB during the soak", m.name, a/(1<<20), b/(1<<20))
			}
		}
	}
	if after.goroutines > idle.goroutines+10 {
		t.Errorf("goroutines: %.0f before the load, %.0f after it (the clients' connections closed)", idle.goroutines, after.goroutines)
	}
	if after.fds > idle.fds+5 {
		t.Errorf("open files: %d before the load, %d after it (the clients' connections closed)", idle.fds, after.fds)
	}
}

// settle samples the idle server until its goroutines are at most limit (0: until two
// samples in a row agree) or 10 s have passed, and returns the last sample: closed
// client connections take a moment to end their server goroutines.
func settle(t *testing.T, base string, pid int, limit float64) soakSample {
	t.Helper()
	var last soakSample
	for i := 0; i < 100; i++ {
		s := sampleServer(t, base, pid, 0)
		if limit > 0 && s.goroutines <= limit || limit == 0 && i > 0 && s.goroutines == last.goroutines {
			return s
		}
		last = s
		time.Sleep(100 * time.Millisecond)
	}
	return last
}

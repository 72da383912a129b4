package main

// Issue 16, defect 1: PostgreSQL under concurrent writes answered 500. Twenty clients
// creating templates and detection rules at once failed 40–50% of their requests, and
// an import running meanwhile died with "deadlock detected (SQLSTATE 40P01)" in the
// template ↔ rule association.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/api"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

// EnvConcurrentWritersSeconds sets how long TestConcurrentWritersOnPostgres writes:
// a few seconds by default; the acceptance is 30.
const EnvConcurrentWritersSeconds = "AEGIS_CONCURRENCY_SECONDS"

// httpClient is one signed-in client of a running server.
type httpClient struct {
	base string
	c    *http.Client
	csrf string
}

func signIn(t *testing.T, base, username, pw string) *httpClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &httpClient{base: base, c: &http.Client{Jar: jar, Timeout: 2 * time.Minute}}
	code, body := hc.do(http.MethodPost, "/api/v1/auth/login", map[string]string{"username": username, "password": pw})
	if code != http.StatusOK {
		t.Fatalf("sign in %s: %d %s", username, code, body)
	}
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	json.Unmarshal(body, &out)
	hc.csrf = out.CSRF
	return hc
}

func (h *httpClient) do(method, path string, body any) (int, []byte) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, h.base+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if h.csrf != "" {
		req.Header.Set(api.CSRFHeader, h.csrf)
	}
	resp, err := h.c.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// startServer runs aegis serve with cfg until the test ends and returns its base URL.
func startServer(t *testing.T, cfg string) string {
	t.Helper()
	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncBuffer{}
	cmd := newRootCmd(strings.NewReader(""), io.Discard, stderr)
	cmd.SetArgs([]string{"--config", cfg, "serve", "--listen", addr})
	var serveErr error
	exited := make(chan struct{})
	go func() {
		serveErr = cmd.ExecuteContext(ctx)
		close(exited)
	}()
	t.Cleanup(func() {
		cancel()
		<-exited
		if serveErr != nil {
			t.Errorf("serve: %v", serveErr)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", tail(stderr.String(), 60))
		}
	})
	base := "http://" + addr
	waitReady(t, base, exited, func() string {
		select {
		case <-exited:
			return fmt.Sprintf("%v\n%s", serveErr, stderr.String())
		default:
			return stderr.String()
		}
	})
	return base
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// Twenty clients create templates and detection rules on one technique and platform
// (so every write changes the template ↔ rule links) against a running server on
// PostgreSQL, while a Sigma import runs: no answer is a 5xx, every acknowledged write
// is there afterwards, and the import succeeds. A few seconds by default; set
// AEGIS_CONCURRENCY_SECONDS=30 for the acceptance run.
func TestConcurrentWritersOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the sigma plugin and writes for seconds on PostgreSQL; skipped under -short")
	}
	seconds := 4
	if v := os.Getenv(EnvConcurrentWritersSeconds); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("%s=%q: want a number of seconds", EnvConcurrentWritersSeconds, v)
		}
		seconds = n
	}
	sigmaRules := filepath.Join(upstreamDir(t), "sigma", "rules", "windows", "powershell")
	if _, err := os.Stat(sigmaRules); err != nil {
		t.Skipf("upstream Sigma rules not found (set AEGIS_UPSTREAM_DIR): %v", err)
	}

	bin := filepath.Join(t.TempDir(), "bin")
	sdktest.BuildPluginTo(t, "../../plugins/sigma", bin)
	e := newFaultEnv(t, store.Postgres, fmt.Sprintf("plugin_dir = %q\nplugin \"sigma\" {\n  timeout = \"10m\"\n}\n", bin))
	cfg, st, pw := e.cfg, e.st, faultPassword
	base := startServer(t, cfg)

	// The import runs beside the writers, as another process would (its own pool).
	importDone := make(chan error, 1)
	var importOut string
	go func() {
		out, err := runErr(t, "", "--config", cfg, "import", "sigma", "--source", sigmaRules)
		importOut = out
		importDone <- err
	}()

	type ack struct{ kind, id string }
	var (
		mu       sync.Mutex
		acked    []ack
		failures []string
		statuses = map[int]int{}
	)
	stop := time.Now().Add(time.Duration(seconds) * time.Second)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		user, path := "red", "/api/v1/templates"
		if i%2 == 1 {
			user, path = "blue", "/api/v1/detection-rules"
		}
		hc := signIn(t, base, user, pw)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for n := 0; time.Now().Before(stop); n++ {
				name := fmt.Sprintf("writer %d item %d", i, n)
				body := map[string]any{"name": name, "platforms": []string{"windows"}, "command": "powershell -enc AAAA",
					"technique_ids": []string{"T1059.001", fmt.Sprintf("T1%03d", 100+n%50)}}
				if path == "/api/v1/detection-rules" {
					body = map[string]any{"title": name, "level": "high", "query": "process.name:powershell.exe",
						"log_source":    map[string]any{"product": "windows", "category": "process_creation"},
						"technique_ids": []string{"T1059.001", fmt.Sprintf("T1%03d", 100+n%50)}}
				}
				code, resp := hc.do(http.MethodPost, path, body)
				mu.Lock()
				statuses[code]++
				switch {
				case code == http.StatusCreated:
					var out struct {
						ID string `json:"id"`
					}
					json.Unmarshal(resp, &out)
					acked = append(acked, ack{path, out.ID})
				case code >= 500 || code == 0:
					failures = append(failures, fmt.Sprintf("%s %s: %d %s", path, name, code, resp))
				case code != http.StatusConflict:
					failures = append(failures, fmt.Sprintf("%s %s: unexpected %d %s", path, name, code, resp))
				}
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	var importErr error
	select {
	case importErr = <-importDone:
	case <-time.After(5 * time.Minute):
		t.Fatal("the import did not finish within 5 minutes")
	}
	t.Logf("%d s, 20 writers: statuses %v, %d writes acknowledged", seconds, statuses, len(acked))
	if len(failures) > 0 {
		t.Errorf("%d failed requests; first ones:\n%s", len(failures), strings.Join(failures[:min(5, len(failures))], "\n"))
	}
	if importErr != nil {
		t.Errorf("the import beside the writers failed: %v\n%s", importErr, tail(importOut, 20))
	}
	if len(acked) < 20 {
		t.Fatalf("only %d writes acknowledged in %d s", len(acked), seconds)
	}

	// Every acknowledged write is there.
	lost := 0
	for _, a := range acked {
		table := "test_templates"
		if a.kind == "/api/v1/detection-rules" {
			table = "detection_rules"
		}
		var n int
		if err := st.DB().Get(&n, `SELECT COUNT(*) FROM `+table+` WHERE id = $1`, a.id); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged writes are missing", lost, len(acked))
	}
	// The template ↔ rule links are derived when read from what the writes left: the
	// same as a full association of the catalog, and not none.
	if links := storetest.CheckAssociations(t, st); links == 0 {
		t.Error("the writes left no template ↔ rule link")
	}
}

// upstreamDir is AEGIS_UPSTREAM_DIR, or the shared checkout beside the repository.
func upstreamDir(t *testing.T) string {
	if d := os.Getenv("AEGIS_UPSTREAM_DIR"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared", "upstream")
}

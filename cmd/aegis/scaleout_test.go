package main

// Issue 16, scale-out: several `aegis serve` instances on one PostgreSQL and one S3
// bucket behind a load balancer (docs/DEPLOYMENT.md).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/blobstore/blobtest"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

// Two instances share PostgreSQL and an S3 bucket. A write on one is read on the other,
// a session and an API token made on one work on the other, evidence uploaded to one
// downloads from the other. Each scheduled job runs once per tick between them (no
// tick twice, none missed), and when the instance running a job (a scheduled Sigma
// import) is SIGKILLed, the other runs it at the next tick and the killed run is
// marked interrupted.
func TestScaleOut(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the sigma plugin and runs two servers with scheduled imports; skipped under -short")
	}
	rules := filepath.Join(upstreamDir(t), "sigma", "rules", "windows")
	if _, err := os.Stat(rules); err != nil {
		t.Skipf("upstream Sigma rules not found (set AEGIS_UPSTREAM_DIR): %v", err)
	}
	g := blobtest.NewVersityGW(t)
	bin := filepath.Join(t.TempDir(), "bin")
	sdktest.BuildPluginTo(t, "../../plugins/sigma", bin)
	const cleanupEvery, importEvery = 2 * time.Second, 3 * time.Second
	e := newFaultEnv(t, store.Postgres, s3Evidence(g, g.NewBucket(t))+fmt.Sprintf(`scheduler {
  enabled = true
  notification_cleanup = "@every %s"
}
plugin_dir = %q
plugin "sigma" {
  source = %q
  schedule = "@every %s"
  timeout = "10m"
}
`, cleanupEvery, bin, rules, importEvery))
	a := startServerProcess(t, e.cfg, faultAuditKey)
	b := startServerProcess(t, e.cfg, faultAuditKey)

	// A session made on a is a session on b (the cookie jar sends it to both: cookies
	// ignore the port), and so is its CSRF token.
	onA := signIn(t, a.Base, "red", faultPassword)
	onB := &httpClient{base: b.Base, c: onA.c, csrf: onA.csrf}
	te := startedTest(t, onA, "made on a")
	code, body := onB.do(http.MethodGet, "/api/v1/tests/"+te.ID, nil)
	if code != http.StatusOK || !strings.Contains(string(body), "made on a") {
		t.Fatalf("read on b what a wrote, with a's session: %d %s", code, body)
	}
	if code, body = onB.do(http.MethodPatch, "/api/v1/tests/"+te.ID, map[string]any{"version": te.Version, "title": "edited on b"}); code != http.StatusOK {
		t.Fatalf("a write on b with a's session: %d %s", code, body)
	}
	// An API token made on b works on a.
	code, body = onB.do(http.MethodPost, "/api/v1/tokens", map[string]any{"name": "ci", "scope": core.ScopeReadWrite})
	var tok struct {
		Token string `json:"token"`
	}
	if json.Unmarshal(body, &tok); code != http.StatusCreated || tok.Token == "" {
		t.Fatalf("token on b: %d %s", code, body)
	}
	req, _ := http.NewRequest(http.MethodGet, a.Base+"/api/v1/tests/"+te.ID, nil)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("b's token on a: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	// Evidence uploaded to a downloads from b (one bucket).
	code, body = upload(onA, te.ID, 1<<20, 0, nil)
	var ev core.Evidence
	if json.Unmarshal(body, &ev); code != http.StatusCreated {
		t.Fatalf("upload to a: %d %s", code, body)
	}
	resp, err := onB.c.Get(b.Base + "/api/v1/evidence/" + ev.ID + "/content")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || int64(len(got)) != ev.SizeBytes || !bytes.HasPrefix(got, []byte("4624 ")) {
		t.Fatalf("download from b: %d, %d bytes of %d", resp.StatusCode, len(got), ev.SizeBytes)
	}

	// The instance that runs the scheduled import is killed in the middle of it.
	type jobRun struct {
		Tick     time.Time `db:"tick_at"`
		Instance string    `db:"instance"`
		Outcome  string    `db:"outcome"`
	}
	pidOf := func(instance string) int {
		n, _ := strconv.Atoi(instance[strings.LastIndexByte(instance, ':')+1:])
		return n
	}
	var holder jobRun
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		var runs []jobRun
		if err := e.st.DB().Select(&runs, `SELECT tick_at, instance, outcome FROM job_runs WHERE job = 'import:sigma' AND outcome = 'running'`); err != nil {
			t.Fatal(err)
		}
		// Killed once the import's own run is written too, in the middle of its work.
		if len(runs) > 0 && count(t, e.st, `SELECT COUNT(*) FROM import_runs WHERE outcome = 'running'`) > 0 {
			holder = runs[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no scheduled import ran within a minute")
		}
	}
	killed, survivor := a, b
	if pidOf(holder.Instance) == b.cmd.Process.Pid {
		killed, survivor = b, a
	} else if pidOf(holder.Instance) != a.cmd.Process.Pid {
		t.Fatalf("the import runs on %s, neither instance", holder.Instance)
	}
	killed.Kill()
	killedAt := time.Now()
	var next jobRun
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var runs []jobRun
		if err := e.st.DB().Select(&runs, `SELECT tick_at, instance, outcome FROM job_runs WHERE job = 'import:sigma' AND tick_at > $1 ORDER BY tick_at`,
			holder.Tick); err != nil {
			t.Fatal(err)
		}
		if len(runs) > 0 {
			next = runs[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no instance ran the scheduled import in the 30 s after its holder was killed")
		}
	}
	t.Logf("import:sigma: tick %s on %s killed at %s; next run: tick %s on %s", holder.Tick.Format("15:04:05"), holder.Instance,
		killedAt.Format("15:04:05.000"), next.Tick.Format("15:04:05"), next.Instance)
	if pidOf(next.Instance) != survivor.cmd.Process.Pid {
		t.Errorf("the next run is on %s, not on the surviving instance", next.Instance)
	}
	if !next.Tick.Before(killedAt.Add(importEvery)) {
		t.Errorf("the survivor took over at tick %s, later than the first tick after the kill (%s)", next.Tick, killedAt)
	}
	// The survivor's import marks the killed one interrupted (it holds the plugin's lock).
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if count(t, e.st, `SELECT COUNT(*) FROM import_runs WHERE outcome = 'running' AND started_at < $1`, killedAt) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the killed instance's import run is still running a minute later")
		}
	}
	if count(t, e.st, `SELECT COUNT(*) FROM audit_logs WHERE action = 'import.interrupted'`) != 1 {
		t.Error("the killed instance's import run was not interrupted exactly once")
	}

	// Every cleanup tick ran once, none twice, none missed, while both served and after.
	var ticks []struct {
		Tick time.Time `db:"tick_at"`
		N    int       `db:"n"`
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if err := e.st.DB().Select(&ticks, `SELECT tick_at, COUNT(*) AS n FROM job_runs WHERE job = 'notification_cleanup' GROUP BY tick_at ORDER BY tick_at`); err != nil {
			t.Fatal(err)
		}
		if len(ticks) >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d cleanup ticks ran", len(ticks))
		}
	}
	for i, tk := range ticks {
		if tk.N != 1 {
			t.Errorf("cleanup tick %s ran %d times", tk.Tick, tk.N)
		}
		if i > 0 && tk.Tick.Sub(ticks[i-1].Tick) != cleanupEvery {
			t.Errorf("cleanup ticks %s and %s: a tick was missed", ticks[i-1].Tick, tk.Tick)
		}
	}
	verifyChains(t, signIn(t, survivor.Base, "boss", faultPassword))
}

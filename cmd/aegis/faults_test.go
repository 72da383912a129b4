package main

// Issue 16: the server SIGKILLed during a burst of writes and during an import it runs,
// then started again on the same database (docs/RELIABILITY.md, "Processes that die").

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

const faultPassword = "a long enough passphrase"

// faultAuditKey anchors the audit chain of the servers these tests start, so a
// restart after a kill is checked against the signed chain, not the bare hashes.
var faultAuditKey = EnvAuditKey + "=fault-tests-audit-key-0123456789"

// faultEnv is a migrated database of one driver with a configuration for it and three
// accounts (admin, red lead, blue lead), all with faultPassword.
type faultEnv struct {
	dir, cfg, driver, dsn string
	st                    *store.Store
}

// newFaultEnv writes dir/aegis.hcl for a fresh database of driver (evidence on disk,
// scheduler off unless extra turns it on) with extra HCL appended, migrates it and
// creates the accounts.
func newFaultEnv(t *testing.T, driver, extra string) *faultEnv {
	t.Helper()
	e := &faultEnv{dir: t.TempDir(), driver: driver, dsn: storetest.DSN(t, driver)}
	e.cfg = writeServerConfig(t, e.dir, driver, e.dsn, extra)
	run(t, "", "--config", e.cfg, "migrate", "up")
	st, err := store.Open(context.Background(), store.Options{Driver: driver, DSN: e.dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.st = st
	// Accounts made by an administrator must change their password first: these are
	// made in the store, as if they had.
	apitest.CreateUser(t, st, "boss", core.RoleAdmin, faultPassword)
	apitest.CreateUser(t, st, "red", core.RoleRedLead, faultPassword)
	apitest.CreateUser(t, st, "blue", core.RoleBlueLead, faultPassword)
	// Tests name a technique of the catalog.
	if err := st.Update(context.Background(), func(tx core.Tx) error {
		_, err := tx.EnsureTechnique(context.Background(), "T1059")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return e
}

// writeServerConfig writes dir/aegis.hcl for a server on driver and dsn with evidence
// under dir, warnings-only logs and the scheduler off (unless extra has a log or
// scheduler block), extra appended.
func writeServerConfig(t *testing.T, dir, driver, dsn, extra string) string {
	t.Helper()
	cfg := filepath.Join(dir, "aegis.hcl")
	hcl := fmt.Sprintf("database {\n  driver = %q\n  dsn = %q\n  max_open_conns = 10\n}\n", driver, dsn)
	if !strings.Contains(extra, "evidence {") {
		hcl += "evidence {\n  path = \"data/evidence\"\n}\n"
	}
	if !strings.Contains(extra, "scheduler {") {
		hcl += "scheduler {\n  enabled = false\n}\n"
	}
	if !strings.Contains(extra, "log {") {
		hcl += "log {\n  level = \"warn\"\n}\n"
	}
	hcl += extra
	if err := os.WriteFile(cfg, []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// count runs a COUNT(*) query on the store.
func count(t *testing.T, st *store.Store, q string, args ...any) int {
	t.Helper()
	var n int
	if err := st.DB().Get(&n, st.DB().Rebind(q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// startedTest creates a test of T1059 titled title as hc and starts it (red
// executing: evidence and worklogs may be added), failing the test otherwise.
func startedTest(t *testing.T, hc *httpClient, title string) core.Test {
	t.Helper()
	code, body := hc.do(http.MethodPost, "/api/v1/tests", map[string]any{"title": title, "technique_id": "T1059"})
	var te core.Test
	if json.Unmarshal(body, &te); code != http.StatusCreated {
		t.Fatalf("create test %q: %d %s", title, code, body)
	}
	code, body = hc.do(http.MethodPost, "/api/v1/tests/"+te.ID+"/start", map[string]any{"version": te.Version})
	if json.Unmarshal(body, &te); code != http.StatusOK {
		t.Fatalf("start test %q: %d %s", title, code, body)
	}
	return te
}

// verifyChains asks the server to walk the audit chain (which must hold entries) and
// the worklog chain; both must be intact.
func verifyChains(t *testing.T, admin *httpClient) {
	t.Helper()
	for _, path := range []string{"/api/v1/audit/verify", "/api/v1/worklogs/verify"} {
		code, body := admin.do(http.MethodGet, path, nil)
		var v struct {
			OK      bool `json:"ok"`
			Checked int  `json:"checked"`
		}
		json.Unmarshal(body, &v)
		if code != http.StatusOK || !v.OK || v.Checked == 0 && path == "/api/v1/audit/verify" {
			t.Errorf("%s after the restart: %d %s", path, code, body)
		}
	}
}

// The server is SIGKILLed while eight clients create tests, edit them and log work on
// them; started again on the same database, every write that was answered 2xx before
// the kill is there (an edit: its revision or a later one), the audit and worklog
// chains verify, and the server takes writes again.
func TestServerKilledDuringWriteBurst(t *testing.T) {
	for _, driver := range []string{store.SQLite, store.Postgres} {
		t.Run(driver, func(t *testing.T) {
			e := newFaultEnv(t, driver, "")
			srv := startServerProcess(t, e.cfg, faultAuditKey)

			var (
				mu       sync.Mutex
				tests    []string           // acknowledged creations
				revs     = map[string]int{} // test → last acknowledged title revision
				worklogs []string
				failures []string
				acks     = make(chan struct{}, 1<<16)
			)
			ack := func(f func()) {
				mu.Lock()
				f()
				mu.Unlock()
				acks <- struct{}{}
			}
			fail := func(what string, code int, body []byte) {
				mu.Lock()
				failures = append(failures, fmt.Sprintf("%s: %d %s", what, code, body))
				mu.Unlock()
			}
			var wg sync.WaitGroup
			stopped := make(chan struct{}) // every client returned (all failed)
			for c := 0; c < 8; c++ {
				hc := signIn(t, srv.Base, "red", faultPassword)
				wg.Add(1)
				go func(c int) {
					defer wg.Done()
					var id string
					var version int
					for n := 0; ; n++ {
						if n%6 == 0 { // a new test, started, every few rounds
							code, body := hc.do(http.MethodPost, "/api/v1/tests", map[string]any{"title": fmt.Sprintf("c%d rev 0", c), "technique_id": "T1059"})
							if code == 0 {
								return // the server is gone
							}
							var te core.Test
							if json.Unmarshal(body, &te); code != http.StatusCreated || te.ID == "" {
								fail("create", code, body)
								return
							}
							ack(func() { tests = append(tests, te.ID) })
							if code, body = hc.do(http.MethodPost, "/api/v1/tests/"+te.ID+"/start", map[string]any{"version": te.Version}); code == 0 {
								return
							}
							if json.Unmarshal(body, &te); code != http.StatusOK {
								fail("start", code, body)
								return
							}
							id, version = te.ID, te.Version
						}
						code, body := hc.do(http.MethodPatch, "/api/v1/tests/"+id, map[string]any{"version": version, "title": fmt.Sprintf("c%d rev %d", c, n+1)})
						if code == 0 {
							return
						}
						var te core.Test
						if json.Unmarshal(body, &te); code != http.StatusOK {
							fail("edit", code, body)
							return
						}
						version = te.Version
						ack(func() { revs[id] = n + 1 })
						code, body = hc.do(http.MethodPost, "/api/v1/tests/"+id+"/worklogs", map[string]any{"minutes": 1, "note": fmt.Sprintf("c%d n%d", c, n)})
						if code == 0 {
							return
						}
						var w core.Worklog
						if json.Unmarshal(body, &w); code != http.StatusCreated || w.ID == "" {
							fail("worklog", code, body)
							return
						}
						ack(func() { worklogs = append(worklogs, w.ID) })
					}
				}(c)
			}
			go func() { wg.Wait(); close(stopped) }()
			// Kill in the middle of the burst: once 120 writes were answered.
			for i := 0; i < 120; i++ {
				select {
				case <-acks:
				case <-stopped:
					t.Fatalf("every client stopped after %d writes; failures: %v", i, failures)
				case <-time.After(30 * time.Second):
					t.Fatalf("only %d writes answered in 30 s; failures: %v", i, failures)
				}
			}
			srv.Kill()
			wg.Wait()
			if len(failures) > 0 {
				t.Fatalf("writes failed before the kill:\n%s", strings.Join(failures[:min(5, len(failures))], "\n"))
			}
			t.Logf("killed after %d tests, %d edited, %d worklogs acknowledged", len(tests), len(revs), len(worklogs))

			srv = startServerProcess(t, e.cfg, faultAuditKey)
			for _, id := range tests {
				if count(t, e.st, `SELECT COUNT(*) FROM tests WHERE id = ?`, id) != 1 {
					t.Errorf("acknowledged test %s is missing", id)
				}
			}
			for id, rev := range revs {
				var title string
				if err := e.st.DB().Get(&title, e.st.DB().Rebind(`SELECT title FROM tests WHERE id = ?`), id); err != nil {
					t.Fatalf("test %s: %v", id, err)
				}
				got, _ := strconv.Atoi(title[strings.LastIndexByte(title, ' ')+1:])
				if got < rev {
					t.Errorf("test %s: title %q, but revision %d was acknowledged", id, title, rev)
				}
			}
			for _, id := range worklogs {
				if count(t, e.st, `SELECT COUNT(*) FROM worklogs WHERE id = ?`, id) != 1 {
					t.Errorf("acknowledged worklog %s is missing", id)
				}
			}
			verifyChains(t, signIn(t, srv.Base, "boss", faultPassword))

			// The restarted server takes writes again.
			hc := signIn(t, srv.Base, "red", faultPassword)
			if code, body := hc.do(http.MethodPost, "/api/v1/tests", map[string]any{"title": "after the restart", "technique_id": "T1059"}); code != http.StatusCreated {
				t.Errorf("a write after the restart: %d %s", code, body)
			}
		})
	}
}

// The server is SIGKILLed while it runs an import started through the API, in the
// phase where it writes the records. Started again, it marks the run interrupted
// (failed, "interrupted: …", audited) instead of leaving it running; the records are
// all there or none (the run's error says which); and the plugin imports again, to
// the same catalog a whole import gives.
func TestServerKilledDuringImport(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the sigma plugin and imports Sigma rules; skipped under -short")
	}
	rules := filepath.Join(upstreamDir(t), "sigma", "rules", "windows")
	if _, err := os.Stat(rules); err != nil {
		t.Skipf("upstream Sigma rules not found (set AEGIS_UPSTREAM_DIR): %v", err)
	}
	bin := filepath.Join(t.TempDir(), "bin")
	sdktest.BuildPluginTo(t, "../../plugins/sigma", bin)
	for _, driver := range []string{store.SQLite, store.Postgres} {
		t.Run(driver, func(t *testing.T) {
			e := newFaultEnv(t, driver, fmt.Sprintf("plugin_dir = %q\nplugin \"sigma\" {\n  source = %q\n  timeout = \"10m\"\n}\n", bin, rules))
			srv := startServerProcess(t, e.cfg, faultAuditKey)
			admin := signIn(t, srv.Base, "boss", faultPassword)
			start := func() string {
				t.Helper()
				code, body := admin.do(http.MethodPost, "/api/v1/imports", map[string]any{"plugin": "sigma"})
				var run core.ImportRun
				if json.Unmarshal(body, &run); code != http.StatusAccepted || run.ID == "" {
					t.Fatalf("start the import: %d %s", code, body)
				}
				return run.ID
			}
			type runView struct {
				core.ImportRun
				Progress *core.ImportProgress `json:"progress"`
			}
			get := func(id string) runView {
				t.Helper()
				var v runView
				code, body := admin.do(http.MethodGet, "/api/v1/imports/"+id, nil)
				if json.Unmarshal(body, &v); code != http.StatusOK {
					t.Fatalf("import run %s: %d %s", id, code, body)
				}
				return v
			}

			id := start()
			phase := ""
			for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(5 * time.Millisecond) {
				v := get(id)
				if v.Outcome != core.RunRunning {
					t.Fatalf("the import ended (%s %s) before it was seen writing its records", v.Outcome, v.Error)
				}
				if v.Progress != nil && v.Progress.Phase == "applying" && v.Progress.Done > 0 {
					phase = fmt.Sprintf("%s %d/%d", v.Progress.Phase, v.Progress.Done, v.Progress.Total)
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the import never reached its write phase: %+v", v)
				}
			}
			srv.Kill()
			rulesAfterKill := count(t, e.st, `SELECT COUNT(*) FROM detection_rules`)

			srv = startServerProcess(t, e.cfg, faultAuditKey)
			admin = signIn(t, srv.Base, "boss", faultPassword)
			var killed runView
			for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				// PostgreSQL ends the killed server's lock once it sees its socket close;
				// the server sweeps at start and every minute.
				if killed = get(id); killed.Outcome != core.RunRunning || time.Now().After(deadline) {
					break
				}
			}
			t.Logf("killed while %s: %d rules stored; the run: %s", phase, rulesAfterKill, killed.Error)
			if killed.Outcome != core.RunFailed || !strings.HasPrefix(killed.Error, "interrupted:") || killed.FinishedAt == nil {
				t.Fatalf("the killed import's run after the restart: %s %q", killed.Outcome, killed.Error)
			}
			if count(t, e.st, `SELECT COUNT(*) FROM audit_logs WHERE action = 'import.interrupted' AND entity_id = ?`, id) != 1 {
				t.Errorf("the interruption of run %s is not audited", id)
			}

			// The plugin imports again; its run is complete.
			again := start()
			var v runView
			for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
				if v = get(again); v.Outcome != core.RunRunning {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the import after the restart did not finish within 3 minutes")
				}
			}
			whole := count(t, e.st, `SELECT COUNT(*) FROM detection_rules`)
			if v.Outcome != core.RunSucceeded || whole == 0 {
				t.Fatalf("the import after the restart: %s %s, %d rules", v.Outcome, v.Error, whole)
			}
			// All or nothing: the killed run stored every rule or none, as it says.
			stored := strings.Contains(killed.Error, "had been stored")
			if want := map[bool]int{false: 0, true: whole}[stored]; rulesAfterKill != want {
				t.Errorf("the killed run says its records were stored: %v, but %d of %d rules were there", stored, rulesAfterKill, whole)
			}
			if stored && v.Added != 0 || !stored && v.Added != whole {
				t.Errorf("the import after the restart added %d rules (%d in all; the killed run stored: %v)", v.Added, whole, stored)
			}
			verifyChains(t, admin)
		})
	}
}

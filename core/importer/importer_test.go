package importer_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/core/importer"
	"github.com/aegis-sec/aegis/core/pluginhost"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
	"github.com/aegis-sec/aegis/internal/testplugins"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

var ctx = context.Background()

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// binary builds a test or first-party plugin once per test binary run.
func binary(t testing.TB, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[name]; ok {
		return p
	}
	var p string
	switch name {
	case "misbehave", "v2only":
		p = testplugins.Build(&keep{t}, name)
	default:
		dir, err := os.MkdirTemp("", "aegis-plugin-")
		if err != nil {
			t.Fatal(err)
		}
		p = sdktest.BuildPluginTo(t, "../../plugins/"+name, dir)
	}
	built[name] = p
	return p
}

// keep gives testplugins.Build a temp dir that outlives the first test using it.
type keep struct{ testing.TB }

func (k *keep) TempDir() string {
	d, err := os.MkdirTemp("", "aegis-testplugin-")
	if err != nil {
		k.Fatal(err)
	}
	return d
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, p := range built {
		os.RemoveAll(filepath.Dir(p))
	}
	os.Exit(code)
}

func plugin(name, path string, timeout time.Duration, cfg string) config.Plugin {
	return config.Plugin{Name: name, Path: path, Enabled: true, Timeout: timeout, Config: json.RawMessage(cfg),
		Source: "misbehave://test", Range: "aegis.hcl:1"}
}

func runner(t *testing.T, s *store.Store, plugins ...config.Plugin) *importer.Runner {
	cfg := config.Default()
	cfg.Plugins = plugins
	log := hclog.New(&hclog.LoggerOptions{Output: &testWriter{t}, Level: hclog.Debug})
	return &importer.Runner{Store: s, Host: pluginhost.New(cfg, log), Log: log}
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// catalog dumps everything but the bookkeeping of runs, which every run writes.
func catalog(t *testing.T, s *store.Store) map[string][]string {
	return storetest.Dump(t, s, "import_runs", "audit_logs", "plugins", "import_files")
}

func TestImportThenReimportChangesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := runner(t, s, plugin("mis", binary(t, "misbehave"), time.Minute, `{"mode":"ok","n":5}`))
		var phases []string
		run, err := r.Run(ctx, importer.Options{Plugin: "mis", Progress: func(p importer.Progress) {
			if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
				phases = append(phases, p.Phase)
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		if run.Added != 5 || run.Outcome != core.RunSucceeded || run.ImporterType != "misbehave" {
			t.Fatalf("first run: %+v", run)
		}
		if strings.Join(phases, ",") != "starting,importing,applying,indexing,done" {
			t.Errorf("progress phases %v", phases)
		}
		s.View(ctx, func(tx core.Tx) error {
			te, err := tx.TechniqueByExternalID(ctx, "T9003")
			if err != nil || te.Name != "Test technique 3" || !te.Known || te.Source != "mis" {
				t.Errorf("imported technique: %+v %v", te, err)
			}
			return nil
		})
		before := catalog(t, s)
		auditBefore := storetest.Dump(t, s)["audit_logs"]

		run, err = r.Run(ctx, importer.Options{Plugin: "mis"})
		if err != nil {
			t.Fatal(err)
		}
		if run.Unchanged != 5 || run.Added+run.Updated+run.Deprecated != 0 {
			t.Fatalf("second run: %+v", run)
		}
		if d := storetest.Diff(before, catalog(t, s)); d != "" {
			t.Fatalf("an unchanged re-import wrote rows:\n%s", d)
		}
		// The run itself is audited, once, even when it changed nothing.
		if got := storetest.Dump(t, s)["audit_logs"]; len(got) != len(auditBefore)+1 {
			t.Errorf("an unchanged re-import wrote %d audit entries, want 1", len(got)-len(auditBefore))
		}
		s.View(ctx, func(tx core.Tx) error {
			list, _, _ := tx.ListAudit(ctx, core.AuditFilter{Action: "import.run"})
			if len(list) != 2 || list[0].EntityID != run.ID {
				t.Errorf("import.run entries: %d", len(list))
			}
			return nil
		})

		s.View(ctx, func(tx core.Tx) error {
			runs, total, err := tx.ListImportRuns(ctx, core.ImportRunFilter{Plugin: "mis"})
			if err != nil || total != 2 || runs[0].Unchanged != 5 || runs[1].Added != 5 {
				t.Errorf("runs: %d %v", total, err)
			}
			ps, _ := tx.ListPlugins(ctx)
			if len(ps) != 1 || ps[0].Version != "1.0.0" || ps[0].ProtocolVersion != 1 || strings.Join(ps[0].Kinds, ",") != "exporter,importer" || len(ps[0].SHA256) != 64 {
				t.Errorf("plugin row: %+v", ps)
			}
			return nil
		})
	})
}

func TestFailedRunsLeaveTheStoreAsItWas(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		bin := binary(t, "misbehave")
		seed := runner(t, s, plugin("mis", bin, time.Minute, `{"mode":"ok","n":3}`))
		if _, err := seed.Run(ctx, importer.Options{Plugin: "mis"}); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			mode, cfg string
			timeout   time.Duration
			want      string
		}{
			{"crash", `{"mode":"crash_after","n":4}`, time.Minute, "crashed"},
			{"hang", `{"mode":"hang","n":2}`, 2 * time.Second, "did not finish within its timeout of 2s"},
			{"invalid", `{"mode":"invalid_record","n":4}`, time.Minute, "invalid record"},
			{"panic", `{"mode":"panic","n":4}`, time.Minute, "panic"},
			{"error", `{"mode":"error_diag","n":4}`, time.Minute, "failing on purpose"},
		}
		for _, c := range cases {
			t.Run(c.mode, func(t *testing.T) {
				before := catalog(t, s)
				r := runner(t, s, plugin("mis", bin, c.timeout, c.cfg))
				start := time.Now()
				run, err := r.Run(ctx, importer.Options{Plugin: "mis"})
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("got %v, want an error containing %q", err, c.want)
				}
				if run.Outcome != core.RunFailed || !strings.Contains(run.Error, c.want) || run.FinishedAt == nil {
					t.Fatalf("run row: %+v", run)
				}
				if d := storetest.Diff(before, catalog(t, s)); d != "" {
					t.Fatalf("a failed run changed the store:\n%s", d)
				}
				// The warning the plugin sent before it failed is kept with the run.
				if c.mode != "error" && (run.WarningCount < 1 || !strings.Contains(string(run.Warnings), "warning before the failure")) {
					t.Errorf("the failed run lost the plugin's warning: %d warnings %s", run.WarningCount, run.Warnings)
				}
				if c.mode == "hang" && time.Since(start) > 20*time.Second {
					t.Errorf("the hanging plugin held the run for %s", time.Since(start))
				}
				if n := testplugins.ProcessesOf(bin); n > 0 {
					t.Errorf("%d plugin process(es) outlived the run", n)
				}
				s.View(ctx, func(tx core.Tx) error {
					got, _ := tx.ImportRunByID(ctx, run.ID)
					if got.Outcome != core.RunFailed || got.Error == "" {
						t.Errorf("stored run: %+v", got)
					}
					if list, _, _ := tx.ListAudit(ctx, core.AuditFilter{Action: "import.failed", EntityID: run.ID}); len(list) != 1 {
						t.Errorf("the failed run is not audited")
					}
					return nil
				})
			})
		}
	})
}

func TestChecksumAndProtocol(t *testing.T) {
	s := storetest.Open(t, store.SQLite)
	bin := binary(t, "misbehave")
	sum, err := pluginhost.FileSHA256(bin)
	if err != nil {
		t.Fatal(err)
	}
	wrong := plugin("mis", bin, time.Minute, `{"mode":"ok","n":1}`)
	wrong.SHA256 = strings.Repeat("ab", 32)
	_, err = runner(t, s, wrong).Run(ctx, importer.Options{Plugin: "mis"})
	if err == nil || !strings.Contains(err.Error(), "checksum mismatch") || !strings.Contains(err.Error(), sum) || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("wrong sha256: %v", err)
	}
	if n := testplugins.ProcessesOf(bin); n > 0 {
		t.Fatal("a plugin with a wrong checksum was started")
	}
	right := wrong
	right.SHA256 = sum
	if run, err := runner(t, s, right).Run(ctx, importer.Options{Plugin: "mis"}); err != nil || run.Added != 1 {
		t.Fatalf("right sha256: %v", err)
	}

	v2 := plugin("v2", binary(t, "v2only"), time.Minute, `{}`)
	_, err = runner(t, s, v2).Run(ctx, importer.Options{Plugin: "v2"})
	if err == nil || !strings.Contains(err.Error(), "the plugin speaks protocol version 2") || !strings.Contains(err.Error(), "this Aegis speaks protocol version(s) 1") {
		t.Fatalf("version mismatch: %v", err)
	}

	disabled := plugin("off", bin, time.Minute, `{}`)
	disabled.Enabled = false
	if _, err := runner(t, s, disabled).Run(ctx, importer.Options{Plugin: "off"}); err == nil || !strings.Contains(err.Error(), "disabled") {
		t.Fatalf("disabled plugin: %v", err)
	}
	if _, err := runner(t, s).Run(ctx, importer.Options{Plugin: "nope"}); err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Fatalf("unconfigured plugin: %v", err)
	}
}

func writeCSV(t *testing.T, dir string, rows ...string) {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	body := "id,name,description,technique_ids,platforms,executor,command,cleanup\n" + strings.Join(rows, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "templates.csv"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

type templateState struct {
	ExternalID string `db:"external_id"`
	Deprecated bool   `db:"deprecated"`
	Name       string `db:"name"`
}

func templates(t *testing.T, s *store.Store) map[string]templateState {
	t.Helper()
	var rows []templateState
	if err := s.DB().Select(&rows, `SELECT external_id, deprecated, name FROM test_templates`); err != nil {
		t.Fatal(err)
	}
	m := map[string]templateState{}
	for _, r := range rows {
		m[r.ExternalID] = r
	}
	return m
}

// The CSV example plugin end to end through the host: change detection, and
// deprecation scoped to the source location it came from.
func TestCSVPluginEndToEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		root := t.TempDir()
		a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
		writeCSV(t, a,
			`A-1,Encoded PowerShell,,T1059.001,Windows,powershell,powershell -enc AAA,`,
			`A-2,Cron job,,T1053.003,Linux,sh,crontab -l,`,
			`A-3,Brand-new technique,,T1685,Windows,cmd,whoami,`)
		writeCSV(t, b, `B-1,From folder b,,T1059,Windows,cmd,dir,`)
		r := runner(t, s, config.Plugin{Name: "acme", Path: binary(t, "csvimport"), Enabled: true, Timeout: time.Minute,
			Config: json.RawMessage(`{}`), Range: "aegis.hcl:1"})

		run, err := r.Run(ctx, importer.Options{Plugin: "acme", Source: a})
		if err != nil || run.Added != 3 {
			t.Fatalf("import a: %+v %v", run, err)
		}
		if run, err = r.Run(ctx, importer.Options{Plugin: "acme", Source: b}); err != nil || run.Added != 1 || run.Deprecated != 0 {
			t.Fatalf("import b: %+v %v", run, err)
		}
		// The technique id Atomic and Sigma already use but this store has no release
		// for is kept, as unknown to the release.
		s.View(ctx, func(tx core.Tx) error {
			te, err := tx.TechniqueByExternalID(ctx, "T1685")
			if err != nil || te.Known {
				t.Errorf("T1685: %+v %v", te, err)
			}
			sub, _ := tx.TechniqueByExternalID(ctx, "T1059.001")
			if sub == nil || sub.ParentID == nil {
				t.Errorf("placeholder sub-technique without parent: %+v", sub)
			}
			return nil
		})

		// Change one row and drop another in folder a.
		writeCSV(t, a,
			`A-1,Encoded PowerShell (v2),,T1059.001,Windows,powershell,powershell -enc BBB,`,
			`A-3,Brand-new technique,,T1685,Windows,cmd,whoami,`)
		before := templates(t, s)
		run, err = r.Run(ctx, importer.Options{Plugin: "acme", Source: a})
		if err != nil || run.Updated != 1 || run.Unchanged != 1 || run.Deprecated != 1 || run.Added != 0 {
			t.Fatalf("re-import a: %+v %v", run, err)
		}
		after := templates(t, s)
		if !after["A-2"].Deprecated || after["A-1"].Name != "Encoded PowerShell (v2)" || after["A-3"] != before["A-3"] {
			t.Errorf("after re-import of a: %+v", after)
		}
		if after["B-1"].Deprecated {
			t.Error("importing folder a deprecated a record of folder b")
		}

		// A dry run reports what would change and writes nothing.
		writeCSV(t, a, `A-1,Renamed again,,T1059.001,Windows,powershell,x,`)
		snapshot := catalog(t, s)
		run, err = r.Run(ctx, importer.Options{Plugin: "acme", Source: a, DryRun: true})
		if err != nil || run.Updated != 1 || run.Deprecated != 1 || !run.DryRun {
			t.Fatalf("dry run: %+v %v", run, err)
		}
		if d := storetest.Diff(snapshot, catalog(t, s)); d != "" {
			t.Fatalf("dry run wrote:\n%s", d)
		}

		// A row that comes back is no longer deprecated.
		writeCSV(t, a,
			`A-1,Encoded PowerShell (v2),,T1059.001,Windows,powershell,powershell -enc BBB,`,
			`A-2,Cron job,,T1053.003,Linux,sh,crontab -l,`,
			`A-3,Brand-new technique,,T1685,Windows,cmd,whoami,`)
		if run, err = r.Run(ctx, importer.Options{Plugin: "acme", Source: a}); err != nil || run.Updated != 1 {
			t.Fatalf("revive: %+v %v", run, err)
		}
		if templates(t, s)["A-2"].Deprecated {
			t.Error("a record that came back is still deprecated")
		}
	})
}

func TestWarningsAreKeptWithPositions(t *testing.T) {
	s := storetest.Open(t, store.SQLite)
	dir := t.TempDir()
	writeCSV(t, dir, `W-1,Fine,,T1059,Windows,cmd,dir,`, `W-2,,,T1059,Windows,cmd,dir,`)
	r := runner(t, s, config.Plugin{Name: "acme", Path: binary(t, "csvimport"), Enabled: true, Timeout: time.Minute,
		Config: json.RawMessage(`{}`), Range: "aegis.hcl:1"})
	run, err := r.Run(ctx, importer.Options{Plugin: "acme", Source: dir})
	if err != nil {
		t.Fatal(err)
	}
	var ws []core.ImportWarning
	json.Unmarshal(run.Warnings, &ws)
	if run.Added != 1 || run.WarningCount == 0 || len(ws) == 0 || ws[0].Line != 3 || !strings.HasSuffix(ws[0].File, "templates.csv") {
		t.Fatalf("run %+v warnings %+v", run, ws)
	}
}

// Every record kind is stored, with its links, through a real plugin process.
func TestEveryKindIsStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := runner(t, s, plugin("mis", binary(t, "misbehave"), time.Minute, `{"mode":"all_kinds"}`))
		run, err := r.Run(ctx, importer.Options{Plugin: "mis"})
		if err != nil {
			t.Fatal(err)
		}
		if run.Added != 11 {
			t.Fatalf("added %d of 11 records: %+v", run.Added, run)
		}
		count := func(q string, args ...any) int {
			var n int
			if err := s.DB().Get(&n, s.DB().Rebind(q), args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return n
		}
		checks := []struct {
			q    string
			want int
		}{
			{`SELECT COUNT(*) FROM technique_tactics tt JOIN techniques te ON te.id = tt.technique_id WHERE te.external_id = 'T1078'`, 1},
			{`SELECT COUNT(*) FROM technique_mitigations tm JOIN mitigations m ON m.id = tm.mitigation_id WHERE m.external_id = 'M1032' AND tm.description = 'MFA'`, 1},
			{`SELECT COUNT(*) FROM threat_actor_techniques x JOIN threat_actors a ON a.id = x.threat_actor_id WHERE a.external_id = 'G0016'`, 2},
			{`SELECT COUNT(*) FROM techniques WHERE external_id = 'T1685' AND known = FALSE`, 1},
			{`SELECT COUNT(*) FROM campaign_profiles WHERE external_id = 'C0024' AND kind = 'attack_campaign'`, 1},
			{`SELECT COUNT(*) FROM defensive_technique_mappings m JOIN defensive_techniques d ON d.id = m.defensive_technique_id WHERE d.external_id = 'D3-MFA' AND m.via = 'UserAccount'`, 1},
			{`SELECT COUNT(*) FROM compliance_control_mappings m JOIN compliance_controls c ON c.id = m.control_id JOIN compliance_frameworks f ON f.id = c.framework_id WHERE f.external_id = 'fw-1' AND c.external_id = 'AC-2' AND m.mapping_type = 'mitigates'`, 1},
			{`SELECT COUNT(*) FROM intel_items WHERE title = 'APT29 uses T1078'`, 1},
			{`SELECT COUNT(*) FROM test_template_techniques`, 1},
			{`SELECT COUNT(*) FROM detection_rule_techniques`, 1},
			// Fields with no place of their own used to be dropped without a word.
			{`SELECT COUNT(*) FROM test_templates WHERE external_id = 'tt-1' AND author = 'Purple Team' AND template_modified = '2026-03-01' AND dependency_executor = 'powershell'`, 1},
			{`SELECT COUNT(*) FROM detection_rules WHERE external_id = 'r-1' AND severity = 'moderate' AND level = 'medium'`, 1},
			{`SELECT COUNT(*) FROM import_records WHERE source = 'mis'`, 11},
		}
		for _, c := range checks {
			if got := count(c.q); got != c.want {
				t.Errorf("%s = %d, want %d", c.q, got, c.want)
			}
		}
		// Search finds the run's rule by its title and by its query once the run is
		// done (PostgreSQL writes the documents after the commit, migration 0250).
		s.View(ctx, func(tx core.Tx) error {
			for _, q := range []string{"unusual logon", "4624"} {
				list, _, err := tx.ListDetectionRules(ctx, core.RuleFilter{Search: q})
				if err != nil || len(list) != 1 || list[0].ExternalID != "r-1" {
					t.Errorf("search %q right after the import: %d rules, %v", q, len(list), err)
				}
			}
			return nil
		})
		before := catalog(t, s)
		run, err = r.Run(ctx, importer.Options{Plugin: "mis"})
		if err != nil || run.Unchanged != 11 {
			t.Fatalf("re-import: %+v %v", run, err)
		}
		if d := storetest.Diff(before, catalog(t, s)); d != "" {
			t.Fatalf("re-import wrote:\n%s", d)
		}
	})
}

// A plugin's config block is checked by the plugin itself: before an import, and when
// the plugins are listed.
func TestBadConfigBlock(t *testing.T) {
	s := storetest.Open(t, store.SQLite)
	r := runner(t, s, plugin("mis", binary(t, "misbehave"), time.Minute, `{"mode":"bogus","n":1}`))
	before := catalog(t, s)
	_, err := r.Run(ctx, importer.Options{Plugin: "mis"})
	if err == nil || !strings.Contains(err.Error(), "config.mode") || !strings.Contains(err.Error(), `unknown mode "bogus"`) || !strings.Contains(err.Error(), "aegis.hcl:1") {
		t.Fatalf("got %v", err)
	}
	if d := storetest.Diff(before, catalog(t, s)); d != "" {
		t.Fatalf("a run with a bad config wrote:\n%s", d)
	}
	list, err := importer.Discover(ctx, s, r.Host, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Status != "error" || !strings.Contains(list[0].LastError, "config.mode") || list[0].Version != "1.0.0" {
		t.Fatalf("plugin list: %+v", list)
	}
}

// A run whose source yields nothing fails with the reason and changes nothing: it is a
// wrong path or a format the plugin does not read, and applying it would deprecate
// everything imported before.
func TestRunThatYieldsNothingFails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := runner(t, s, plugin("mis", binary(t, "misbehave"), time.Minute, `{"mode":"ok","n":3}`))
		if _, err := r.Run(ctx, importer.Options{Plugin: "mis"}); err != nil {
			t.Fatal(err)
		}
		before := catalog(t, s)
		r = runner(t, s, plugin("mis", binary(t, "misbehave"), time.Minute, `{"mode":"ok","n":0}`))
		run, err := r.Run(ctx, importer.Options{Plugin: "mis"})
		if err == nil || !strings.Contains(err.Error(), "yielded no records") {
			t.Fatalf("empty run: err %v", err)
		}
		if run.Outcome != core.RunFailed || run.Deprecated != 0 || !strings.Contains(run.Error, "yielded no records") {
			t.Errorf("empty run row: %+v", run)
		}
		if d := storetest.Diff(before, catalog(t, s)); d != "" {
			t.Errorf("an empty run changed the catalog:\n%s", d)
		}
	})
}

// Two imports of one plugin never overlap: the second, from another runner (another
// host process or instance in real life), is refused with the running one named, and
// runs once the first has ended.
func TestImportsOfOnePluginDoNotOverlap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		bin := binary(t, "misbehave")
		slow := runner(t, s, plugin("mis", bin, 3*time.Second, `{"mode":"hang","n":1}`))
		done := make(chan error, 1)
		started := make(chan string, 1)
		go func() {
			_, err := slow.Run(ctx, importer.Options{Plugin: "mis", OnCreated: func(r *core.ImportRun) { started <- r.ID }})
			done <- err
		}()
		first := <-started
		second := runner(t, s, plugin("mis", bin, time.Minute, `{"mode":"ok","n":2}`))
		run, err := second.Run(ctx, importer.Options{Plugin: "mis"})
		if err == nil || run != nil || !strings.Contains(err.Error(), "another import of mis is running (run "+first) {
			t.Fatalf("second import while the first runs: %v, %+v", err, run)
		}
		var ce *core.Error
		if !errors.As(err, &ce) || ce.Code != core.ECONFLICT {
			t.Errorf("error %T is not a conflict", err)
		}
		if err := <-done; err == nil {
			t.Fatal("the hanging import succeeded")
		}
		if run, err := second.Run(ctx, importer.Options{Plugin: "mis"}); err != nil || run.Outcome != core.RunSucceeded {
			t.Fatalf("after the first ended: %v", err)
		}

		if s.Dialect() != store.SQLite {
			return
		}
		// SQLite: the lock row of another live process (`aegis serve` beside this
		// `aegis import`) refuses; one of a process that died is taken over.
		host, _ := os.Hostname()
		for _, c := range []struct {
			pid     int
			refused bool
		}{{os.Getppid(), true}, {1 << 22, false}} {
			if _, err := s.DB().Exec(`INSERT INTO import_locks (plugin, holder, acquired_at) VALUES ('mis', ?, ?)`,
				host+":"+strconv.Itoa(c.pid), time.Now()); err != nil {
				t.Fatal(err)
			}
			_, err := second.Run(ctx, importer.Options{Plugin: "mis"})
			if refused := err != nil && strings.Contains(err.Error(), "another import of mis is running"); refused != c.refused {
				t.Errorf("holder pid %d: err = %v, want refused %v", c.pid, err, c.refused)
			}
			s.DB().Exec(`DELETE FROM import_locks`)
		}
	})
}

// Records are identified by the plugin block's name. A block renamed in aegis.hcl (same
// binary, the old name gone, the old records still there) would import everything again
// beside the old records: the first import under the new name is refused with a message
// that names both blocks. Keeping the old block (disabled) says the new one is a second
// source, and the import goes ahead.
func TestRenamedBlockIsRefused(t *testing.T) {
	s := storetest.Open(t, store.SQLite)
	dir := t.TempDir()
	writeCSV(t, dir, `R-1,Whoami,,T1033,Windows,cmd,whoami,`)
	block := func(name string, enabled bool) config.Plugin {
		return config.Plugin{Name: name, Path: binary(t, "csvimport"), Enabled: enabled, Timeout: time.Minute,
			Config: json.RawMessage(`{}`), Source: dir, Range: "aegis.hcl:1"}
	}
	if _, err := runner(t, s, block("acme", true)).Run(ctx, importer.Options{Plugin: "acme"}); err != nil {
		t.Fatal(err)
	}
	before := catalog(t, s)
	run, err := runner(t, s, block("acme-catalog", true)).Run(ctx, importer.Options{Plugin: "acme-catalog"})
	if err == nil || !strings.Contains(err.Error(), `block "acme"`) || !strings.Contains(err.Error(), "Rename the block back") {
		t.Fatalf("import under the renamed block: %v", err)
	}
	if run == nil || run.Outcome != core.RunFailed {
		t.Fatalf("run: %+v", run)
	}
	if d := storetest.Diff(before, catalog(t, s)); d != "" {
		t.Fatalf("the refused import wrote:\n%s", d)
	}
	run, err = runner(t, s, block("acme", false), block("acme-catalog", true)).Run(ctx, importer.Options{Plugin: "acme-catalog"})
	if err != nil || run.Added != 1 {
		t.Fatalf("a second source beside a kept block: %+v %v", run, err)
	}
}

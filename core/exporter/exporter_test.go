package exporter_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/core/exporter"
	"github.com/aegis-sec/aegis/core/pluginhost"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
	"github.com/aegis-sec/aegis/internal/testplugins"
	"github.com/aegis-sec/aegis/sdk"
)

var ctx = context.Background()

var misbehaveBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "aegis-export-test-")
	if err != nil {
		panic(err)
	}
	misbehaveBin = testplugins.BuildTo(dir, "misbehave")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func runner(t *testing.T, s core.Store, timeout time.Duration, cfg string) *exporter.Runner {
	c := config.Default()
	c.Plugins = []config.Plugin{{Name: "mis", Path: misbehaveBin, Enabled: true, Timeout: timeout,
		Config: json.RawMessage(cfg), Range: "aegis.hcl:1"}}
	log := hclog.New(&hclog.LoggerOptions{Output: testWriter{t}, Level: hclog.Debug})
	return &exporter.Runner{Store: s, Host: pluginhost.New(c, log), Log: log}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// seedRules stores n active Sigma rules and one inactive one.
func seedRules(t *testing.T, s core.Store, n int) []string {
	t.Helper()
	var ids []string
	err := s.Update(ctx, func(tx core.Tx) error {
		for i := 0; i < n+1; i++ {
			r := &core.DetectionRule{Source: "sigma", ExternalID: "rule-" + string(rune('a'+i)), Format: "sigma",
				Title: "Rule " + string(rune('A'+i)), Level: "high", Raw: "title: x\n", Active: i < n}
			if err := tx.UpsertDetectionRule(ctx, r); err != nil {
				return err
			}
			if i < n {
				ids = append(ids, r.ExternalID)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func rulesScope() core.ExportScope {
	return core.ExportScope{Kind: core.ScopeRules, Rules: &core.RuleQuery{Source: "sigma"}}
}

func TestExportStoresTheArtifactWithItsRun(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ids := seedRules(t, s, 3)
		admin := &core.User{Username: "ada", Role: core.RoleAdmin, PasswordHash: "x"}
		if err := s.Update(ctx, func(tx core.Tx) error { return tx.CreateUser(ctx, admin) }); err != nil {
			t.Fatal(err)
		}
		var phases []string
		res, err := runner(t, s, time.Minute, `{"mode":"ok"}`).Run(ctx, exporter.Options{Plugin: "mis", Type: "misbehave",
			Scope: rulesScope(), TriggeredBy: "test", Actor: admin,
			Progress: func(p core.ExportProgress) {
				if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
					phases = append(phases, p.Phase)
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		run := res.Run
		if run.Outcome != core.RunSucceeded || run.Records != 3 || run.Artifacts != 1 || run.ExporterType != "misbehave" {
			t.Fatalf("run: %+v", run)
		}
		if want := []string{"resolving", "starting", "exporting", "storing"}; strings.Join(phases, ",") != strings.Join(want, ",") {
			t.Errorf("phases %v, want %v", phases, want)
		}
		a := res.Artifacts[0]
		var got []string
		sc := bufio.NewScanner(bytes.NewReader(a.Data))
		for sc.Scan() {
			var line struct{ Kind, ID string }
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Fatal(err)
			}
			if line.Kind != sdk.KindDetectionRule {
				t.Errorf("kind %q", line.Kind)
			}
			got = append(got, line.ID)
		}
		if strings.Join(got, ",") != strings.Join(ids, ",") {
			t.Errorf("exported %v, want the active rules %v", got, ids)
		}
		sum := sha256.Sum256(a.Data)
		if a.SHA256 != hex.EncodeToString(sum[:]) || run.SHA256 != a.SHA256 || run.SizeBytes != int64(len(a.Data)) {
			t.Errorf("checksums: artifact %s, run %s, size %d", a.SHA256, run.SHA256, run.SizeBytes)
		}
		svc := exporter.NewService(ctx, runner(t, s, time.Minute, `{"mode":"ok"}`))
		stored, err := svc.ExportArtifact(ctx, run.ID, "")
		if err != nil || !bytes.Equal(stored.Data, a.Data) || stored.MediaType != "application/x-ndjson" {
			t.Fatalf("stored artifact %+v, %v", stored, err)
		}
		view, err := svc.ExportRun(ctx, run.ID)
		if err != nil || view.UserID == nil || *view.UserID != admin.ID || len(view.ArtifactList) != 1 || view.ArtifactList[0].Data != nil {
			t.Fatalf("view %+v, %v", view, err)
		}
		var scope sdk.Scope
		if err := json.Unmarshal(view.Scope, &scope); err != nil || scope.Kind != "rules" || scope.Records["detection_rule"] != 3 ||
			scope.Rules["source"] != "sigma" || scope.Rules["status"] != "active" {
			t.Errorf("stored scope %s (%v)", view.Scope, err)
		}
		s.View(ctx, func(tx core.Tx) error {
			list, _, _ := tx.ListAudit(ctx, core.AuditFilter{Action: "export.succeeded", EntityID: run.ID})
			if len(list) != 1 || list[0].ActorName != "ada" {
				t.Errorf("audit: %+v", list)
			}
			return nil
		})
	})
}

func TestFailedExportsStoreNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		seedRules(t, s, 2)
		cases := []struct {
			mode    string
			timeout time.Duration
			want    string
		}{
			{"export_crash", time.Minute, "crashed"},
			{"export_hang", 2 * time.Second, "did not finish within its timeout of 2s"},
			{"export_panic", time.Minute, "panic"},
			{"export_error", time.Minute, "failing on purpose"},
			{"export_bad_name", time.Minute, "must be a bare file name"},
			{"export_bad_json", time.Minute, "not valid JSON"},
			{"export_none", time.Minute, "produced no artifact"},
		}
		for _, c := range cases {
			t.Run(c.mode, func(t *testing.T) {
				start := time.Now()
				res, err := runner(t, s, c.timeout, `{"mode":"`+c.mode+`"}`).Run(ctx, exporter.Options{Plugin: "mis",
					Type: "misbehave", Scope: rulesScope()})
				if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "nothing was exported") {
					t.Fatalf("got %v, want an error containing %q", err, c.want)
				}
				if res.Run.Outcome != core.RunFailed || !strings.Contains(res.Run.Error, c.want) || res.Artifacts != nil {
					t.Fatalf("run: %+v", res.Run)
				}
				if time.Since(start) > 20*time.Second {
					t.Errorf("the run took %s", time.Since(start))
				}
				s.View(ctx, func(tx core.Tx) error {
					got, _ := tx.ExportRunByID(ctx, res.Run.ID)
					arts, _ := tx.ExportArtifacts(ctx, res.Run.ID, true)
					if got.Outcome != core.RunFailed || got.Error == "" || got.FinishedAt == nil || len(arts) != 0 || got.SizeBytes != 0 {
						t.Errorf("stored run %+v with %d artifacts", got, len(arts))
					}
					if list, _, _ := tx.ListAudit(ctx, core.AuditFilter{Action: "export.failed", EntityID: res.Run.ID}); len(list) != 1 {
						t.Errorf("the failed run is not audited")
					}
					return nil
				})
				svc := exporter.NewService(ctx, runner(t, s, time.Minute, `{}`))
				if _, err := svc.ExportArtifact(ctx, res.Run.ID, ""); core.ErrorCode(err) != core.ENOTFOUND {
					t.Errorf("artifact of a failed run: %v", err)
				}
				if n := testplugins.ProcessesOf(misbehaveBin); n > 0 {
					t.Errorf("%d plugin process(es) outlived the run", n)
				}
			})
		}
	})
}

func TestServiceRunsInTheBackground(t *testing.T) {
	s := storetest.Open(t, "sqlite")
	seedRules(t, s, 2)
	svc := exporter.NewService(ctx, runner(t, s, time.Minute, `{"mode":"export_two"}`))
	run, err := svc.StartExport(ctx, core.ExportRequest{Plugin: "mis", Type: "misbehave", Scope: rulesScope()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if run.Outcome != core.RunRunning || run.TriggeredBy != "api" {
		t.Fatalf("started run %+v", run)
	}
	svc.Wait()
	view, err := svc.ExportRun(ctx, run.ID)
	if err != nil || view.Outcome != core.RunSucceeded || len(view.ArtifactList) != 2 || view.Progress != nil {
		t.Fatalf("finished run %+v, %v", view, err)
	}
	if _, err := svc.ExportArtifact(ctx, run.ID, ""); core.ErrorCode(err) != core.EINVALID {
		t.Errorf("unnamed artifact of a two-artifact run: %v", err)
	}
	a, err := svc.ExportArtifact(ctx, run.ID, "scope.json")
	if err != nil || !strings.Contains(string(a.Data), `"kind":"rules"`) {
		t.Fatalf("scope.json: %v %s", err, a.Data)
	}
	list, total, err := svc.ListExportRuns(ctx, core.ExportRunFilter{Plugin: "mis"})
	if err != nil || total != 1 || list[0].ID != run.ID {
		t.Fatalf("list: %d %v", total, err)
	}
	for _, bad := range []core.ExportRequest{
		{Plugin: "nope", Scope: rulesScope()},
		{Plugin: "mis", Scope: core.ExportScope{Kind: "galaxy"}},
		{Plugin: "mis", Scope: core.ExportScope{Kind: core.ScopeDiff, ID: "b"}},
	} {
		if _, err := svc.StartExport(ctx, bad, nil); core.ErrorCode(err) != core.EINVALID {
			t.Errorf("%+v: got %v, want an invalid-request error", bad, err)
		}
	}
}

func TestParseExportScope(t *testing.T) {
	for in, want := range map[string]string{
		"":                                 "organisation",
		"org":                              "organisation",
		"tactic:TA0002":                    "tactic:TA0002",
		"diff:a..b":                        "diff:a..b",
		"rules:source=sigma,level=high":    "rules",
		"actor:G0016":                      "actor:G0016",
		"snapshot:0192e5a3-0000-7000-8000": "snapshot:0192e5a3-0000-7000-8000",
	} {
		sc, err := core.ParseExportScope(in)
		if err != nil || sc.String() != want {
			t.Errorf("%q: %v %v, want %s", in, sc, err, want)
		}
	}
	sc, _ := core.ParseExportScope("rules:source=sigma,level=high")
	if sc.Rules.Source != "sigma" || sc.Rules.Level != "high" {
		t.Errorf("rules filter %+v", sc.Rules)
	}
	for _, bad := range []string{"diff:a", "tactic", "rules:nope=1", "rules:x", "galaxy:1", "organisation:x"} {
		if _, err := core.ParseExportScope(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

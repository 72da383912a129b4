package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

// buildCSVPlugin builds the example plugin into dir/bin, where the default plugin path
// of a config in dir finds it.
func buildCSVPlugin(t *testing.T, dir string) string {
	t.Helper()
	return sdktest.BuildPluginTo(t, "../../plugins/csvimport", filepath.Join(dir, "bin"))
}

func TestPluginsListAndImport(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir)
	bin := buildCSVPlugin(t, dir)
	// A second binary in the plugin directory that no block names: listed, never run.
	stray := filepath.Join(dir, "bin", "aegis-plugin-stray")
	data, _ := os.ReadFile(bin)
	os.WriteFile(stray, data, 0o755)
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "templates.csv"), []byte("id,name,description,technique_ids,platforms,executor,command,cleanup\n"+
		"X-1,Whoami,,T1033,Windows,cmd,whoami,\nX-2,Id,,T1033,Linux,sh,id,\n"), 0o644)
	f, _ := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("plugin \"csvimport\" {\n  source = \"src\"\n}\nplugin \"off\" {\n  enabled = false\n}\n")
	f.Close()

	out := run(t, "", "--config", cfg, "plugins", "list")
	if !regexp.MustCompile(`csvimport\s+1\.0\.0\s+` + regexp.QuoteMeta(sdk.SDKVersion) + `\s+importer\s+` + fmt.Sprintf(`%d\.%d`, sdk.ProtocolVersion, sdk.ProtocolMinor) + `\s+detection_rule,test_template\s+ok`).MatchString(out) {
		t.Fatalf("plugins list:\n%s", out)
	}
	if !regexp.MustCompile(`off\s+-\s+-\s+-\s+disabled`).MatchString(out) || !regexp.MustCompile(`stray\s+.*not configured`).MatchString(out) {
		t.Fatalf("plugins list lacks the disabled or unconfigured plugin:\n%s", out)
	}
	var rows []core.PluginStatus
	if err := json.Unmarshal([]byte(run(t, "", "--config", cfg, "plugins", "list", "--json")), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].Name != "csvimport" || rows[0].ProtocolVersion != 1 || rows[0].SDKVersion != sdk.SDKVersion || rows[0].ProtocolMinor != sdk.ProtocolMinor || rows[0].Kinds[0] != "importer" || len(rows[0].SHA256) != 64 {
		t.Fatalf("json rows: %+v", rows)
	}

	out = run(t, "", "--config", cfg, "import", "csvimport")
	if !strings.Contains(out, "added 2, updated 0, unchanged 0") {
		t.Fatalf("import:\n%s", out)
	}
	out = run(t, "", "--config", cfg, "import", "csvimport", "--dry-run")
	if !strings.Contains(out, "dry run, nothing written") || !strings.Contains(out, "unchanged 2") {
		t.Fatalf("dry run:\n%s", out)
	}
	if _, err := runErr(t, "", "--config", cfg, "import", "csvimport", "--source", filepath.Join(dir, "missing")); err == nil {
		t.Fatal("import of a missing source succeeded")
	}
	if _, err := runErr(t, "", "--config", cfg, "import", "stray"); err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Fatalf("unconfigured plugin ran: %v", err)
	}
}

// A plugin with a schedule is imported by the scheduler of a running server.
func TestScheduledImport(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir)
	buildCSVPlugin(t, dir)
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "templates.csv"), []byte("id,name,description,technique_ids,platforms,executor,command,cleanup\nS-1,Id,,T1033,Linux,sh,id,\n"), 0o644)
	f, _ := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("plugin \"csvimport\" {\n  source = \"src\"\n  schedule = \"@every 1s\"\n}\n")
	f.Close()

	ctx, cancel := context.WithCancel(context.Background())
	cmd := newRootCmd(strings.NewReader(""), io.Discard, io.Discard)
	cmd.SetArgs([]string{"--config", cfg, "serve", "--listen", freePort(t)})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	st := waitForRun(t, filepath.Join(dir, "data/aegis.db"), "scheduler")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st.Outcome != core.RunSucceeded || st.Added+st.Unchanged != 1 {
		t.Fatalf("scheduled run: %+v", st)
	}
}

func waitForRun(t *testing.T, dbPath, triggeredBy string) core.ImportRun {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(300 * time.Millisecond)
		s, err := store.Open(context.Background(), store.Options{Driver: store.SQLite, DSN: dbPath})
		if err != nil {
			continue
		}
		var runs []*core.ImportRun
		s.View(context.Background(), func(tx core.Tx) error {
			runs, _, err = tx.ListImportRuns(context.Background(), core.ImportRunFilter{Outcome: core.RunSucceeded})
			return err
		})
		s.Close()
		for _, r := range runs {
			if r.TriggeredBy == triggeredBy {
				return *r
			}
		}
	}
	t.Fatal("no scheduled import ran")
	return core.ImportRun{}
}

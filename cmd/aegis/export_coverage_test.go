package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/coverage"
	"github.com/aegis-sec/aegis/core/coverage/coveragetest"
	"github.com/aegis-sec/aegis/core/store"
)

// aegis export with coverage scopes, through the real navigator and report plugins.
func TestExportCoverageScopes(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir)
	for _, p := range []string{"navigator", "report"} {
		build := exec.Command("go", "build", "-o", filepath.Join(dir, "bin", "aegis-plugin-"+p), "./plugins/"+p)
		build.Dir = "../.."
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", p, err, out)
		}
	}
	f, _ := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("plugin \"navigator\" {}\nplugin \"report\" {}\n")
	f.Close()
	run(t, "", "--config", cfg, "migrate", "up")
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Driver: "sqlite", DSN: filepath.Join(dir, "data", "aegis.db")})
	if err != nil {
		t.Fatal(err)
	}
	fx := coveragetest.Seed(t, st)
	fx.User.Role = core.RoleBlueLead
	svc := coverage.New(st, nil)
	a, err1 := svc.CreateSnapshot(ctx, fx.User, "a")
	b, err2 := svc.CreateSnapshot(ctx, fx.User, "b")
	st.Close()
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}

	out := filepath.Join(dir, "g0002.json")
	stdout := run(t, "", "--config", cfg, "export", "navigator", "--scope", "actor:G0002", "--out", out)
	if !strings.Contains(stdout, "export navigator (layer) of actor:G0002: 3 records") {
		t.Errorf("stdout: %s", stdout)
	}
	var layer struct {
		Name       string
		Techniques []struct{ TechniqueID string }
	}
	data, _ := os.ReadFile(out)
	if err := json.Unmarshal(data, &layer); err != nil || !strings.Contains(layer.Name, "G0002") || len(layer.Techniques) != 3 {
		t.Errorf("layer %s: %v", data, err)
	}
	diff := filepath.Join(dir, "diff.json")
	run(t, "", "--config", cfg, "export", "navigator", "--scope", "diff:"+a.ID+".."+b.ID, "--out", diff)
	var layers []json.RawMessage
	data, _ = os.ReadFile(diff)
	if err := json.Unmarshal(data, &layers); err != nil || len(layers) != 3 {
		t.Errorf("diff: %d layers, %v", len(layers), err)
	}
	csvOut := filepath.Join(dir, "tactic.csv")
	run(t, "", "--config", cfg, "export", "report", "--type", "csv", "--scope", "tactic:TA0006", "--out", csvOut)
	data, _ = os.ReadFile(csvOut)
	if lines := strings.Split(strings.TrimSpace(string(data)), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[1], "T1003,OS Credential Dumping") {
		t.Errorf("tactic csv:\n%s", data)
	}
	if _, err := runErr(t, "", "--config", cfg, "export", "navigator", "--scope", "actor:G9999", "--out", out); err == nil ||
		!strings.Contains(err.Error(), "G9999") {
		t.Errorf("unknown actor: %v", err)
	}
	if _, err := runErr(t, "", "--config", cfg, "export", "report", "--type", "html", "--scope", "rules", "--out", out); err == nil ||
		!strings.Contains(err.Error(), "needs a coverage scope") {
		t.Errorf("report over rules: %v", err)
	}
}

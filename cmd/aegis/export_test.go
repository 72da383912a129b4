package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/internal/testplugins"
)

func TestExportCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir)
	bin := testplugins.Build(t, "misbehave")
	f, _ := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`plugin "mis" {
  path = "` + bin + `"
  config {
    mode = "ok"
  }
}
plugin "two" {
  path = "` + bin + `"
  config {
    mode = "export_two"
  }
}
plugin "crashing" {
  path = "` + bin + `"
  config {
    mode = "export_crash"
  }
}
`)
	f.Close()
	run(t, "", "--config", cfg, "migrate", "up")
	st, err := store.Open(context.Background(), store.Options{Driver: "sqlite", DSN: filepath.Join(dir, "data", "aegis.db")})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(context.Background(), func(tx core.Tx) error {
		for _, id := range []string{"r-1", "r-2"} {
			level := map[string]string{"r-1": "high", "r-2": "low"}[id]
			if err := tx.UpsertDetectionRule(context.Background(), &core.DetectionRule{Source: "sigma", ExternalID: id, Format: "sigma",
				Title: "Rule " + id, Level: level, Raw: "title: x\n", Active: true}); err != nil {
				return err
			}
		}
		return nil
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "high.jsonl")
	stdout := run(t, "", "--config", cfg, "export", "mis", "--type", "misbehave", "--scope", "rules:level=high", "--out", out)
	if !regexp.MustCompile(`export mis \(misbehave\) of rules: 1 records, \d+ bytes .* sha256 [0-9a-f]{64}`).MatchString(stdout) {
		t.Fatalf("export output:\n%s", stdout)
	}
	data, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(data), `"id":"r-1"`) || strings.Contains(string(data), "r-2") {
		t.Fatalf("artifact %q %v", data, err)
	}

	// Two artifacts go into the folder --out.
	folder := filepath.Join(dir, "two")
	run(t, "", "--config", cfg, "export", "two", "--type", "misbehave", "--scope", "rules", "--out", folder)
	for _, name := range []string{"records.jsonl", "scope.json"} {
		if _, err := os.Stat(filepath.Join(folder, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	// A crashing exporter writes nothing and says which run failed.
	crashed := filepath.Join(dir, "crashed.jsonl")
	msg, err := runErr(t, "", "--config", cfg, "export", "crashing", "--type", "misbehave", "--scope", "rules", "--out", crashed)
	if err == nil || !strings.Contains(err.Error(), "crashed") || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("crashing export: %v\n%s", err, msg)
	}
	if _, err := os.Stat(crashed); !os.IsNotExist(err) {
		t.Errorf("a failed export left %s: %v", crashed, err)
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, ".*")); len(tmp) != 0 {
		t.Errorf("temporary files left behind: %v", tmp)
	}
	if _, err := runErr(t, "", "--config", cfg, "export", "mis", "--scope", "galaxy", "--out", out); err == nil ||
		!strings.Contains(err.Error(), "unknown scope") {
		t.Errorf("bad scope: %v", err)
	}
	if _, err := runErr(t, "", "--config", cfg, "export", "mis", "--type", "misbehave"); err == nil || !strings.Contains(err.Error(), "--out") {
		t.Errorf("missing --out: %v", err)
	}
}

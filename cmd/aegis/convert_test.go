package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// aegis convert runs the real converter plugin through the host, without a database.
func TestConvertCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir)
	bin := filepath.Join(dir, "bin", "aegis-plugin-kql")
	build := exec.Command("go", "build", "-o", bin, "./plugins/kql")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	f, _ := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("plugin \"kql\" {}\n")
	f.Close()
	rules := "../../plugins/internal/sigmaquery/testdata/rules"
	out := run(t, "", "--config", cfg, "convert", "kql", rules, filepath.Join(rules, "002_map_and.yml"))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	files, _ := filepath.Glob(filepath.Join(rules, "*.yml"))
	if len(lines) != len(files)+1 {
		t.Fatalf("%d lines for %d files:\n%s", len(lines), len(files)+1, out)
	}
	var first, last struct {
		File, ID, Unsupported string
		Queries               []string
	}
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[len(lines)-1]), &last)
	if !strings.HasSuffix(first.File, "001_map_single.yml") || len(first.Queries) != 1 ||
		first.Queries[0] != `Image =~ "C:\\Windows\\System32\\cmd.exe"` {
		t.Errorf("first line: %s", lines[0])
	}
	if last.ID != "00000000-0000-4000-8000-000000000002" || last.Queries[0] != `Image endswith "\\whoami.exe" and User =~ "SYSTEM"` {
		t.Errorf("last line: %s", lines[len(lines)-1])
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "aegis.db")); !os.IsNotExist(err) {
		t.Errorf("convert touched the database: %v", err)
	}
	if _, err := runErr(t, "", "--config", cfg, "convert", "splunk", rules); err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Errorf("unconfigured backend: %v", err)
	}
	if _, err := runErr(t, "", "--config", cfg, "convert", "kql", filepath.Join(dir, "nothing-here")); err == nil {
		t.Error("a missing path converted")
	}
	// plugins list (which opens the database) shows the converter as an exporter.
	if list := run(t, "", "--config", cfg, "plugins", "list"); !regexp.MustCompile(`kql\s+1\.0\.0\s+\S+\s+exporter\s+1\.\d+\s+detection_rule\s+ok`).MatchString(list) {
		t.Errorf("plugins list does not show the exporter:\n%s", list)
	}
}

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"gopkg.in/yaml.v3"

	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/core/importer"
	"github.com/aegis-sec/aegis/core/pluginhost"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// lolbasEnv is the recommended aegis.hcl setup: one binary, two plugin
// blocks, "lolbas" for the LOLBAS source and "gtfobins" for the GTFOBins one.
func lolbasEnv(t *testing.T) *env {
	t.Helper()
	bin := pluginBinary(t, "lolbas")
	s := storetest.Open(t, store.SQLite)
	cfg := config.Default()
	for _, name := range []string{"lolbas", "gtfobins"} {
		cfg.Plugins = append(cfg.Plugins, config.Plugin{Name: name, Path: bin, Enabled: true,
			Timeout: 10 * time.Minute, Config: json.RawMessage(`{"layout":"` + name + `"}`), Range: "test"})
	}
	log := hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: os.Stderr})
	return &env{Store: s, Runner: &importer.Runner{Store: s, Host: pluginhost.New(cfg, log), Log: log}}
}

// lolbasCounts are computed from the raw LOLBAS files, without the plugin's code.
type lolbasCounts struct {
	commands   int
	techniques map[string]bool
	perFile    map[string]int
}

func countLOLBAS(t *testing.T, dir string) lolbasCounts {
	t.Helper()
	c := lolbasCounts{techniques: map[string]bool{}, perFile: map[string]int{}}
	for _, f := range walkFiles(t, filepath.Join(dir, "yml"), ".yml") {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var entry struct {
			Commands []struct {
				MitreID string `yaml:"MitreID"`
			} `yaml:"Commands"`
		}
		if err := yaml.Unmarshal(raw, &entry); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		c.commands += len(entry.Commands)
		c.perFile[f] = len(entry.Commands)
		for _, cmd := range entry.Commands {
			for _, id := range strings.Split(cmd.MitreID, ",") {
				if id = strings.ToUpper(strings.TrimSpace(id)); id != "" {
					c.techniques[id] = true
				}
			}
		}
	}
	return c
}

// gtfoCounts are computed from the raw GTFOBins files.
type gtfoCounts struct {
	examples   int
	aliases    map[string]string // alias → the binary it names
	techniques map[string]bool   // of every function that has examples
	perFile    map[string]int
}

func countGTFOBins(t *testing.T, dir string) gtfoCounts {
	t.Helper()
	c := gtfoCounts{aliases: map[string]string{}, techniques: map[string]bool{}, perFile: map[string]int{}}
	raw, err := os.ReadFile(filepath.Join(dir, "_data", "functions.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var functions map[string]struct {
		Mitre []string `yaml:"mitre"`
	}
	if err := yaml.Unmarshal(raw, &functions); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "_gtfobins"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(dir, "_gtfobins", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		// Front matter: the lines between the opening "---" and the "..." (or "---") that ends it.
		lines := strings.Split(string(raw), "\n")
		end := len(lines)
		for i := 1; i < len(lines); i++ {
			if lines[i] == "..." || lines[i] == "---" {
				end = i
				break
			}
		}
		var fm struct {
			Alias     string                      `yaml:"alias"`
			Functions map[string][]map[string]any `yaml:"functions"`
		}
		if err := yaml.Unmarshal([]byte(strings.Join(lines[1:end], "\n")), &fm); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		if fm.Alias != "" {
			c.aliases[e.Name()] = fm.Alias
			continue
		}
		for fn, examples := range fm.Functions {
			c.examples += len(examples)
			c.perFile[e.Name()] += len(examples)
			for _, id := range functions[fn].Mitre {
				c.techniques[id] = true
			}
		}
	}
	return c
}

func TestLOLBASUpstream(t *testing.T) {
	lolbasDir, gtfoDir := upstream(t, "lolbas"), upstream(t, "gtfobins")
	wantL, wantG := countLOLBAS(t, lolbasDir), countGTFOBins(t, gtfoDir)
	t.Logf("raw files: %d LOLBAS commands (%d techniques); %d GTFOBins examples, %d aliases (%d techniques)",
		wantL.commands, len(wantL.techniques), wantG.examples, len(wantG.aliases), len(wantG.techniques))
	if wantL.commands == 0 || wantG.examples == 0 {
		t.Fatal("no commands or examples found in the raw files")
	}
	e := lolbasEnv(t)

	start := time.Now()
	runL := e.Import(t, "lolbas", lolbasDir)
	t.Logf("LOLBAS import: %s (%d ms in the run), %d added, %d warnings", time.Since(start), runL.DurationMS, runL.Added, runL.WarningCount)
	start = time.Now()
	runG := e.Import(t, "gtfobins", gtfoDir)
	t.Logf("GTFOBins import: %s (%d ms in the run), %d added, %d warnings", time.Since(start), runG.DurationMS, runG.Added, runG.WarningCount)
	for _, w := range append(Warnings(runL), Warnings(runG)...) {
		t.Logf("warning: %s:%d %s %s", w.File, w.Line, w.ExternalID, w.Summary)
	}
	if runL.Added != wantL.commands || len(otherWarnings(runL)) != 0 {
		t.Errorf("LOLBAS run added %d with %d warnings, want %d commands", runL.Added, len(otherWarnings(runL)), wantL.commands)
	}
	if runG.Added != wantG.examples || len(otherWarnings(runG)) != 0 {
		t.Errorf("GTFOBins run added %d with %d warnings, want %d examples (aliases excluded)", runG.Added, len(otherWarnings(runG)), wantG.examples)
	}
	for _, tc := range []struct {
		source, kind  string
		n, techniques int
	}{{"lolbas", "lolbas", wantL.commands, len(wantL.techniques)}, {"gtfobins", "gtfobins", wantG.examples, len(wantG.techniques)}} {
		if n := e.Count(t, `SELECT COUNT(*) FROM test_templates WHERE source = ? AND template_type = ?`, tc.source, tc.kind); n != tc.n {
			t.Errorf("%d %s templates stored, want %d", n, tc.kind, tc.n)
		}
		if n := e.Count(t, `SELECT COUNT(DISTINCT te.external_id) FROM test_template_techniques l
			JOIN test_templates t ON t.id = l.test_template_id JOIN techniques te ON te.id = l.technique_id
			WHERE t.source = ?`, tc.source); n != tc.techniques {
			t.Errorf("%s: %d distinct techniques linked, want %d", tc.source, n, tc.techniques)
		}
	}

	// Every alias that leads to a binary with examples is listed on that
	// binary's templates, and no template is emitted under an alias name.
	var metas []string
	if err := e.Store.DB().Select(&metas, `SELECT metadata FROM test_templates WHERE source = 'gtfobins'`); err != nil {
		t.Fatal(err)
	}
	listed := map[string]string{}
	for _, m := range metas {
		var meta struct {
			Binary  string   `json:"binary"`
			Aliases []string `json:"aliases"`
		}
		if err := json.Unmarshal([]byte(m), &meta); err != nil {
			t.Fatal(err)
		}
		if _, isAlias := wantG.aliases[meta.Binary]; isAlias {
			t.Errorf("template emitted under the alias %s", meta.Binary)
		}
		for _, a := range meta.Aliases {
			listed[a] = meta.Binary
		}
	}
	for alias, target := range wantG.aliases {
		for hops := 0; hops < 5; hops++ { // rview → view → vim
			if next, ok := wantG.aliases[target]; ok {
				target = next
			}
		}
		if listed[alias] != target {
			t.Errorf("alias %s listed on %q, want %q", alias, listed[alias], target)
		}
	}

	for _, tc := range []struct{ plugin, dir string }{{"lolbas", lolbasDir}, {"gtfobins", gtfoDir}} {
		again := e.Import(t, tc.plugin, tc.dir)
		if again.Added+again.Updated+again.Deprecated != 0 || again.Unchanged == 0 {
			t.Errorf("%s re-import: added %d updated %d deprecated %d unchanged %d, want all unchanged",
				tc.plugin, again.Added, again.Updated, again.Deprecated, again.Unchanged)
		}
	}
}

// TestLOLBASChangedFile: a changed file changes exactly its records, in
// either catalog.
func TestLOLBASChangedFile(t *testing.T) {
	lolbasDir, gtfoDir := upstream(t, "lolbas"), upstream(t, "gtfobins")
	srcL, srcG := t.TempDir(), t.TempDir()
	for _, f := range []string{"yml/OSBinaries/Certutil.yml", "yml/OSBinaries/Rundll32.yml", "yml/OSLibraries/Advpack.yml"} {
		catalogCopyFile(t, filepath.Join(lolbasDir, f), filepath.Join(srcL, f))
	}
	for _, f := range []string{"_data/functions.yml", "_gtfobins/bash", "_gtfobins/ksh", "_gtfobins/less", "_gtfobins/aptitude"} {
		catalogCopyFile(t, filepath.Join(gtfoDir, f), filepath.Join(srcG, f))
	}
	wantL, wantG := countLOLBAS(t, srcL), countGTFOBins(t, srcG)
	e := lolbasEnv(t)
	if run := e.Import(t, "lolbas", srcL); run.Added != wantL.commands {
		t.Fatalf("LOLBAS added %d, want %d", run.Added, wantL.commands)
	}
	if run := e.Import(t, "gtfobins", srcG); run.Added != wantG.examples {
		t.Fatalf("GTFOBins added %d, want %d", run.Added, wantG.examples)
	}

	// The entry's description reaches every command's metadata.
	certutil := filepath.Join(srcL, "yml", "OSBinaries", "Certutil.yml")
	catalogEdit(t, certutil, "\nDescription: ", "\nDescription: Edited. ")
	run := e.Import(t, "lolbas", srcL)
	if n := wantL.perFile[certutil]; run.Updated != n || run.Added+run.Deprecated != 0 || run.Unchanged != wantL.commands-n {
		t.Errorf("after editing Certutil.yml (%d commands): added %d updated %d deprecated %d unchanged %d",
			n, run.Added, run.Updated, run.Deprecated, run.Unchanged)
	}

	// A binary's comment reaches every example's metadata; less, which
	// aptitude inherits from, keeps its functions, so aptitude is unchanged.
	less := filepath.Join(srcG, "_gtfobins", "less")
	catalogEdit(t, less, "---\n", "---\ncomment: Edited by the test.\n")
	run = e.Import(t, "gtfobins", srcG)
	if n := wantG.perFile["less"]; run.Updated != n || run.Added+run.Deprecated != 0 || run.Unchanged != wantG.examples-n {
		t.Errorf("after editing less (%d examples): added %d updated %d deprecated %d unchanged %d",
			n, run.Added, run.Updated, run.Deprecated, run.Unchanged)
	}
}

// catalogEdit replaces the first old in a file with new, and fails when there is none.
func catalogEdit(t *testing.T, file, old, new string) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(raw), old, new, 1)
	if s == string(raw) {
		t.Fatalf("%s: nothing to edit (%q)", file, old)
	}
	if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

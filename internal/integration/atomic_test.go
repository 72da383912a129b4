package integration

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// atomicCounts are computed from the raw technique files, without the plugin's code.
type atomicCounts struct {
	tests, withGUID int
	techniques      map[string]bool
	perFile         map[string]int // file → tests
}

var atomicFileRe = regexp.MustCompile(`^T\d{4}(\.\d{3})?\.yaml$`)

func countAtomic(t *testing.T, atomics string) atomicCounts {
	t.Helper()
	c := atomicCounts{techniques: map[string]bool{}, perFile: map[string]int{}}
	for _, f := range walkFiles(t, atomics, ".yaml") {
		if !atomicFileRe.MatchString(filepath.Base(f)) {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Technique string           `yaml:"attack_technique"`
			Tests     []map[string]any `yaml:"atomic_tests"`
		}
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		c.tests += len(doc.Tests)
		c.perFile[f] = len(doc.Tests)
		if len(doc.Tests) > 0 {
			c.techniques[strings.ToUpper(strings.TrimSpace(doc.Technique))] = true
		}
		for _, tt := range doc.Tests {
			if g, _ := tt["auto_generated_guid"].(string); g != "" {
				c.withGUID++
			}
		}
	}
	return c
}

func TestAtomicUpstream(t *testing.T) {
	dir := upstream(t, "atomic-red-team")
	want := countAtomic(t, filepath.Join(dir, "atomics"))
	t.Logf("raw files: %d tests, %d with a GUID, %d techniques", want.tests, want.withGUID, len(want.techniques))
	if want.tests == 0 {
		t.Fatal("no atomic tests found in the raw files")
	}

	e := newEnv(t, map[string]string{"atomic": ""})
	start := time.Now()
	run := e.Import(t, "atomic", dir)
	t.Logf("first import: %s (%d ms in the run), %d added, %d warnings", time.Since(start), run.DurationMS, run.Added, run.WarningCount)
	for _, w := range Warnings(run) {
		t.Logf("warning: %s:%d %s %s", w.File, w.Line, w.ExternalID, w.Summary)
	}
	// Every upstream test has a GUID, so every test is one record under it.
	if run.Added != want.tests || len(otherWarnings(run)) != want.tests-want.withGUID {
		t.Errorf("run added %d with %d warnings, want %d tests (%d without a GUID)", run.Added, len(otherWarnings(run)), want.tests, want.tests-want.withGUID)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM test_templates WHERE source = 'atomic' AND template_type = 'atomic'`); n != want.tests {
		t.Errorf("%d atomic templates stored, want %d", n, want.tests)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM test_templates WHERE source = 'atomic' AND external_id NOT LIKE 'atomic:%'`); n != want.withGUID {
		t.Errorf("%d templates keyed by GUID, want %d", n, want.withGUID)
	}
	if n := e.Count(t, `SELECT COUNT(DISTINCT te.external_id) FROM test_template_techniques l
		JOIN test_templates t ON t.id = l.test_template_id JOIN techniques te ON te.id = l.technique_id
		WHERE t.source = 'atomic'`); n != len(want.techniques) {
		t.Errorf("%d distinct techniques linked, want %d", n, len(want.techniques))
	}
	// Manual tests keep their steps; every other test has a command.
	if n := e.Count(t, `SELECT COUNT(*) FROM test_templates WHERE source = 'atomic' AND command = '' AND manual_steps = ''`); n != 0 {
		t.Errorf("%d templates with neither a command nor manual steps", n)
	}

	again := e.Import(t, "atomic", dir)
	if again.Added+again.Updated+again.Deprecated != 0 || again.Unchanged != want.tests {
		t.Errorf("re-import: added %d updated %d deprecated %d unchanged %d, want all %d unchanged",
			again.Added, again.Updated, again.Deprecated, again.Unchanged, want.tests)
	}
}

// TestAtomicChangedFile: a changed file changes exactly its records.
func TestAtomicChangedFile(t *testing.T) {
	dir := upstream(t, "atomic-red-team")
	src := t.TempDir()
	files := []string{"T1003.001/T1003.001.yaml", "T1059.001/T1059.001.yaml", "T1105/T1105.yaml"}
	for _, f := range files {
		catalogCopyFile(t, filepath.Join(dir, "atomics", f), filepath.Join(src, "atomics", f))
	}
	want := countAtomic(t, filepath.Join(src, "atomics"))
	e := newEnv(t, map[string]string{"atomic": ""})
	if run := e.Import(t, "atomic", src); run.Added != want.tests {
		t.Fatalf("added %d, want %d", run.Added, want.tests)
	}

	// The display name reaches every test of the file as metadata.
	changed := filepath.Join(src, "atomics", files[0])
	raw, err := os.ReadFile(changed)
	if err != nil {
		t.Fatal(err)
	}
	edited := regexp.MustCompile(`(?m)^display_name: .*$`).ReplaceAllString(string(raw), `display_name: "Edited by the test"`)
	if edited == string(raw) {
		t.Fatal("no display_name to edit")
	}
	if err := os.WriteFile(changed, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	run := e.Import(t, "atomic", src)
	if run.WarningCount != 0 {
		t.Errorf("warnings after the edit: %+v", Warnings(run))
	}
	n := want.perFile[changed]
	if run.Updated != n || run.Added != 0 || run.Deprecated != 0 || run.Unchanged != want.tests-n {
		t.Errorf("after editing %s (%d tests): added %d updated %d deprecated %d unchanged %d",
			files[0], n, run.Added, run.Updated, run.Deprecated, run.Unchanged)
	}
}

func catalogCopyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

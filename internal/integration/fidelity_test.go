package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sigmaRule(n int, technique string) string {
	return fmt.Sprintf(`title: Rule %d
id: %08d-1111-4111-8111-111111111111
status: test
level: high
logsource:
  product: windows
  category: process_creation
detection:
  sel:
    Image|endswith: '\r%d.exe'
  condition: sel
tags:
  - attack.%s
`, n, n, n, strings.ToLower(technique))
}

func writeFile(t testing.TB, p, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A file that cannot be read, or a rule the plugin skips with a warning, leaves the
// records imported from it earlier as they were; only a file that is read and no
// longer holds a record deprecates it.
func TestUnreadableFileDeprecatesNothing(t *testing.T) {
	dir := t.TempDir()
	for i := 1; i <= 5; i++ {
		writeFile(t, filepath.Join(dir, "rules", fmt.Sprintf("r%d.yml", i)), sigmaRule(i, "T1059.001"))
	}
	e := newEnv(t, map[string]string{"sigma": `{"folders":["rules"]}`})
	if run := e.Import(t, "sigma", dir); run.Added != 5 {
		t.Fatalf("first run: %+v", run)
	}
	live := func() int {
		return e.Count(t, `SELECT COUNT(*) FROM detection_rules r WHERE NOT r.deprecated
			AND EXISTS (SELECT 1 FROM detection_rule_techniques l WHERE l.detection_rule_id = r.id)`)
	}

	// r1 becomes invalid YAML that still shows its id; r2 invalid YAML without one;
	// r3 too large to read; r4 is deleted (the only one that really vanished).
	writeFile(t, filepath.Join(dir, "rules", "r1.yml"), "title: Rule 1\nid: 00000001-1111-4111-8111-111111111111\ndetection: [unclosed\n")
	writeFile(t, filepath.Join(dir, "rules", "r2.yml"), "title: [broken\n")
	writeFile(t, filepath.Join(dir, "rules", "r3.yml"), sigmaRule(3, "T1059.001")+"# "+strings.Repeat("x", 9<<20)+"\n")
	if err := os.Remove(filepath.Join(dir, "rules", "r4.yml")); err != nil {
		t.Fatal(err)
	}
	run := e.Import(t, "sigma", dir)
	if run.Deprecated != 1 {
		t.Errorf("second run deprecated %d, want 1 (only the deleted file's rule): %+v", run.Deprecated, run)
	}
	if n := live(); n != 4 {
		t.Errorf("%d live rules with their technique links, want 4 (r1, r2, r3 kept, r5 read)", n)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM detection_rules WHERE deprecated AND title = 'Rule 4'`); n != 1 {
		t.Errorf("the deleted file's rule is not deprecated")
	}
	var said bool
	for _, w := range Warnings(run) {
		if strings.Contains(w.Summary, "kept as they were") && strings.Contains(w.Summary, "3 record(s)") {
			said = true
		}
	}
	if !said {
		t.Errorf("the run does not say that 3 earlier records were kept: %+v", Warnings(run))
	}
	// Once the files are readable again and no longer hold the rules, they go.
	for _, n := range []int{1, 2, 3} {
		writeFile(t, filepath.Join(dir, "rules", fmt.Sprintf("r%d.yml", n)), "# emptied\n")
	}
	if run := e.Import(t, "sigma", dir); run.Deprecated != 3 {
		t.Errorf("third run deprecated %d, want 3", run.Deprecated)
	}
}

// CALDERA adversary profiles imported in a run of their own get the techniques of the
// abilities an earlier run stored, and only abilities no import has are called missing.
func TestCalderaProfilesResolveAgainstTheCatalog(t *testing.T) {
	// The stockpile's two folders, each a source of its own.
	fixture := filepath.Join("..", "..", "plugins", "caldera", "testdata", "ok", "data")
	abilities, adversaries := t.TempDir(), t.TempDir()
	copyTree(t, filepath.Join(fixture, "abilities"), filepath.Join(abilities, "abilities"))
	copyTree(t, filepath.Join(fixture, "adversaries"), filepath.Join(adversaries, "adversaries"))
	e := newEnv(t, map[string]string{"caldera": ""})
	if run := e.Import(t, "caldera", abilities); run.Added != 3 {
		t.Fatalf("abilities run: %+v", run)
	}
	run := e.Import(t, "caldera", adversaries)
	var techniques string
	if err := e.Store.DB().Get(&techniques, `SELECT CAST(technique_ids AS TEXT) FROM campaign_profiles
		WHERE external_id = '1a98b8e6-18ce-4617-8cc5-e65a1a9d490e'`); err != nil {
		t.Fatal(err)
	}
	if techniques != `["T1005","T1033","T1562.004"]` {
		t.Errorf("profile imported on its own has techniques %s, want those of its three stored abilities", techniques)
	}
	var missing []string
	for _, w := range Warnings(run) {
		if strings.Contains(w.Summary, "abilit") {
			missing = append(missing, w.Summary)
		}
	}
	if len(missing) != 1 || !strings.Contains(missing[0], "43b3754c-def4-4699-a673-1d85648fda6a") {
		t.Errorf("warnings about abilities: %q; want one, naming only the ability no import has", missing)
	}
	// Abilities that arrive after the profile give it their techniques too.
	f := newEnv(t, map[string]string{"caldera": ""})
	f.Import(t, "caldera", adversaries)
	f.Import(t, "caldera", abilities)
	if err := f.Store.DB().Get(&techniques, `SELECT CAST(technique_ids AS TEXT) FROM campaign_profiles
		WHERE external_id = '1a98b8e6-18ce-4617-8cc5-e65a1a9d490e'`); err != nil {
		t.Fatal(err)
	}
	if techniques != `["T1005","T1033","T1562.004"]` {
		t.Errorf("profile imported before its abilities has techniques %s after they arrive", techniques)
	}
}

func copyTree(t testing.TB, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		writeFile(t, filepath.Join(to, rel), string(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

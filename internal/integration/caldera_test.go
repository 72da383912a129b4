package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// calderaCounts are computed from the raw stockpile files, without the plugin's code.
type calderaCounts struct {
	abilities   int
	techniques  map[string]bool
	adversaries int
	ids         []string
}

func countCaldera(t *testing.T, data string) calderaCounts {
	t.Helper()
	c := calderaCounts{techniques: map[string]bool{}}
	for _, f := range walkFiles(t, filepath.Join(data, "abilities"), ".yml", ".yaml") {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var list []map[string]any
		if err := yaml.Unmarshal(raw, &list); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, a := range list {
			c.abilities++
			c.ids = append(c.ids, strings.TrimSpace(fmt.Sprint(a["id"])))
			tid, _ := a["technique_id"].(string)
			if tech, ok := a["technique"].(map[string]any); ok {
				tid, _ = tech["attack_id"].(string)
			}
			if tid = strings.ToUpper(strings.TrimSpace(tid)); tid != "" {
				c.techniques[tid] = true
			}
		}
	}
	if _, err := os.Stat(filepath.Join(data, "adversaries")); err == nil {
		c.adversaries = len(walkFiles(t, filepath.Join(data, "adversaries"), ".yml", ".yaml"))
	}
	return c
}

func TestCalderaUpstream(t *testing.T) {
	dir := upstream(t, "stockpile")
	want := countCaldera(t, filepath.Join(dir, "data"))
	t.Logf("raw files: %d abilities, %d techniques, %d adversaries", want.abilities, len(want.techniques), want.adversaries)
	if want.abilities == 0 {
		t.Fatal("no abilities found in the raw files")
	}

	e := newEnv(t, map[string]string{"caldera": ""})
	start := time.Now()
	run := e.Import(t, "caldera", dir)
	t.Logf("first import: %s (%d ms in the run), %d added, %d warnings", time.Since(start), run.DurationMS, run.Added, run.WarningCount)
	for _, w := range Warnings(run) {
		t.Logf("warning: %s:%d %s %s", w.File, w.Line, w.ExternalID, w.Summary)
	}
	if run.Added != want.abilities+want.adversaries {
		t.Errorf("added %d, want %d abilities and %d adversaries", run.Added, want.abilities, want.adversaries)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM test_templates WHERE source = 'caldera' AND template_type = 'caldera'`); n != want.abilities {
		t.Errorf("%d caldera templates stored, want %d", n, want.abilities)
	}
	if n := e.Count(t, `SELECT COUNT(DISTINCT te.external_id) FROM test_template_techniques l
		JOIN test_templates t ON t.id = l.test_template_id JOIN techniques te ON te.id = l.technique_id
		WHERE t.source = 'caldera'`); n != len(want.techniques) {
		t.Errorf("%d distinct techniques linked, want %d", n, len(want.techniques))
	}
	// Ids are stored trimmed, and every ability has at least one executor.
	if n := e.Count(t, `SELECT COUNT(*) FROM test_templates WHERE source = 'caldera' AND (external_id <> TRIM(external_id) OR executors = '[]')`); n != 0 {
		t.Errorf("%d templates with an untrimmed id or no executors", n)
	}
	if want.adversaries > 0 {
		if n := e.Count(t, `SELECT COUNT(*) FROM campaign_profiles WHERE source = 'caldera' AND kind = 'adversary_profile'`); n != want.adversaries {
			t.Errorf("%d adversary profiles stored, want %d", n, want.adversaries)
		}
	}

	again := e.Import(t, "caldera", dir)
	if again.Added+again.Updated+again.Deprecated != 0 || again.Unchanged != want.abilities+want.adversaries {
		t.Errorf("re-import: added %d updated %d deprecated %d unchanged %d, want all unchanged",
			again.Added, again.Updated, again.Deprecated, again.Unchanged)
	}
}

// TestCalderaChangedFile: a changed file changes exactly its records. The
// upstream commit ships no adversary profiles, so the test writes one that
// orders three real abilities and names one that does not exist.
func TestCalderaChangedFile(t *testing.T) {
	dir := upstream(t, "stockpile")
	src := t.TempDir()
	var files []string
	for _, tactic := range []string{"collection", "discovery", "defense-evasion"} {
		found := walkFiles(t, filepath.Join(dir, "data", "abilities", tactic), ".yml")
		if len(found) == 0 {
			t.Fatalf("no %s abilities upstream", tactic)
		}
		rel, _ := filepath.Rel(dir, found[0])
		catalogCopyFile(t, found[0], filepath.Join(src, rel))
		files = append(files, filepath.Join(src, rel))
	}
	want := countCaldera(t, filepath.Join(src, "data"))
	profile := fmt.Sprintf("id: aegis-test-profile\nname: Test profile\natomic_ordering:\n- %s\n- %s\n- 00000000-0000-0000-0000-000000000000\n- %s\n",
		want.ids[2], want.ids[0], want.ids[1])
	if err := os.MkdirAll(filepath.Join(src, "data", "adversaries"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "data", "adversaries", "aegis-test-profile.yml"), []byte(profile), 0o644); err != nil {
		t.Fatal(err)
	}

	e := newEnv(t, map[string]string{"caldera": ""})
	run := e.Import(t, "caldera", src)
	if run.Added != want.abilities+1 {
		t.Fatalf("added %d, want %d abilities and the profile", run.Added, want.abilities)
	}
	if ws := Warnings(run); len(ws) != 1 || ws[0].File != "data/adversaries/aegis-test-profile.yml" || ws[0].ExternalID != "aegis-test-profile" ||
		!strings.Contains(ws[0].Summary, "00000000-0000-0000-0000-000000000000") {
		t.Errorf("warnings = %+v, want one for the missing ability, at the profile", ws)
	}
	var ids string
	if err := e.Store.DB().Get(&ids, `SELECT template_ids FROM campaign_profiles WHERE source = 'caldera' AND external_id = 'aegis-test-profile'`); err != nil {
		t.Fatal(err)
	}
	var order []string
	if err := json.Unmarshal([]byte(ids), &order); err != nil {
		t.Fatalf("template_ids %s: %v", ids, err)
	}
	if strings.Join(order, ",") != strings.Join([]string{want.ids[2], want.ids[0], "00000000-0000-0000-0000-000000000000", want.ids[1]}, ",") {
		t.Errorf("profile order = %v", order)
	}

	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(raw), "description: ", "description: Edited. ", 1)
	if edited == string(raw) {
		t.Fatal("no description to edit")
	}
	if err := os.WriteFile(files[0], []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	run = e.Import(t, "caldera", src)
	if run.Updated != 1 || run.Added != 0 || run.Deprecated != 0 || run.Unchanged != want.abilities {
		t.Errorf("after editing one ability: added %d updated %d deprecated %d unchanged %d",
			run.Added, run.Updated, run.Deprecated, run.Unchanged)
	}
}

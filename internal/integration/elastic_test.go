package integration

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/aegis-sec/aegis/core"
)

// elasticCounts are computed from the raw rule files, without the plugin's code.
type elasticCounts struct {
	rules, deprecated, noThreat, tacticOnly int // tacticOnly: threat entries, but not one technique
	perType                                 map[string]int
	techniques                              map[string]bool
}

func countElastic(t *testing.T, dir string) elasticCounts {
	t.Helper()
	c := elasticCounts{perType: map[string]int{}, techniques: map[string]bool{}}
	for _, f := range walkFiles(t, dir, ".toml") {
		var doc struct {
			Metadata struct {
				Maturity string `toml:"maturity"`
			} `toml:"metadata"`
			Rule *struct {
				RuleID string `toml:"rule_id"`
				Type   string `toml:"type"`
				Threat []struct {
					Technique []struct {
						ID           string `toml:"id"`
						Subtechnique []struct {
							ID string `toml:"id"`
						} `toml:"subtechnique"`
					} `toml:"technique"`
				} `toml:"threat"`
			} `toml:"rule"`
		}
		if _, err := toml.DecodeFile(f, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if doc.Rule == nil || doc.Rule.RuleID == "" {
			continue
		}
		c.rules++
		c.perType[doc.Rule.Type]++
		if doc.Metadata.Maturity == "deprecated" {
			c.deprecated++
		}
		n := 0
		for _, th := range doc.Rule.Threat {
			for _, te := range th.Technique {
				c.techniques[te.ID] = true
				n++
				for _, s := range te.Subtechnique {
					c.techniques[s.ID] = true
				}
			}
		}
		switch {
		case len(doc.Rule.Threat) == 0:
			c.noThreat++
		case n == 0:
			c.tacticOnly++
		}
	}
	return c
}

func TestElasticUpstream(t *testing.T) {
	dir := upstream(t, "detection-rules")
	want := countElastic(t, dir)
	t.Logf("raw files: %d rules %v, %d deprecated, %d without threat mapping, %d tactic-only, %d distinct techniques",
		want.rules, want.perType, want.deprecated, want.noThreat, want.tacticOnly, len(want.techniques))
	if want.rules == 0 {
		t.Fatal("no Elastic rules found in the raw files")
	}

	e := newEnv(t, map[string]string{"elastic": ""})
	start := time.Now()
	run := e.Import(t, "elastic", dir)
	t.Logf("first import: %s (%d ms in the run), %d added, %d warnings", time.Since(start), run.DurationMS, run.Added, run.WarningCount)
	for _, w := range Warnings(run) {
		t.Logf("warning: %s:%d %s %s", w.File, w.Line, w.ExternalID, w.Summary)
	}
	if run.Added != want.rules || len(otherWarnings(run)) != 0 {
		t.Errorf("run added %d with %d warnings, want %d rules and no warnings", run.Added, len(otherWarnings(run)), want.rules)
	}
	for typ, n := range want.perType {
		if got := e.Count(t, `SELECT COUNT(*) FROM detection_rules WHERE source = 'elastic' AND rule_type = ?`, typ); got != n {
			t.Errorf("%s rules: %d stored, want %d", typ, got, n)
		}
	}
	counts := map[string]struct {
		q    string
		want int
	}{
		"rules":               {`SELECT COUNT(*) FROM detection_rules WHERE source = 'elastic' AND format = 'elastic'`, want.rules},
		"deprecated":          {`SELECT COUNT(*) FROM detection_rules WHERE source = 'elastic' AND deprecated`, want.deprecated},
		"no threat mapping":   {`SELECT COUNT(*) FROM detection_rules WHERE source = 'elastic' AND tactics = '[]'`, want.noThreat},
		"tactic only":         {`SELECT COUNT(*) FROM detection_rules r WHERE r.source = 'elastic' AND r.tactics <> '[]' AND NOT EXISTS (SELECT 1 FROM detection_rule_techniques l WHERE l.detection_rule_id = r.id)`, want.tacticOnly},
		"distinct techniques": {`SELECT COUNT(DISTINCT te.external_id) FROM detection_rule_techniques l JOIN detection_rules r ON r.id = l.detection_rule_id JOIN techniques te ON te.id = l.technique_id WHERE r.source = 'elastic'`, len(want.techniques)},
		"without query":       {`SELECT COUNT(*) FROM detection_rules WHERE source = 'elastic' AND query = ''`, want.perType["machine_learning"]},
		"without raw text":    {`SELECT COUNT(*) FROM detection_rules WHERE source = 'elastic' AND raw = ''`, 0},
	}
	for name, c := range counts {
		if n := e.Count(t, c.q); n != c.want {
			t.Errorf("%s: %d stored, want %d", name, n, c.want)
		}
	}

	again := e.Import(t, "elastic", dir)
	if again.Added+again.Updated+again.Deprecated != 0 || again.Unchanged != want.rules {
		t.Errorf("re-import: added %d updated %d deprecated %d unchanged %d, want all %d unchanged",
			again.Added, again.Updated, again.Deprecated, again.Unchanged, want.rules)
	}
}

// TestElasticChangedFile: a changed file changes exactly its records.
func TestElasticChangedFile(t *testing.T) {
	dir := upstream(t, "detection-rules")
	src := t.TempDir()
	files := []string{
		"rules/windows/collection_email_outlook_mailbox_via_com.toml",
		"rules/ml/ml_high_count_network_denies.toml",
		"rules/_deprecated/apm_null_user_agent.toml",
	}
	for _, f := range files {
		elasticCopy(t, filepath.Join(dir, f), filepath.Join(src, f))
	}
	want := countElastic(t, src)
	e := newEnv(t, map[string]string{"elastic": ""})
	if run := e.Import(t, "elastic", src); run.Added != want.rules || want.rules != len(files) {
		t.Fatalf("added %d, want %d", run.Added, want.rules)
	}

	changed := filepath.Join(src, files[0])
	raw, err := os.ReadFile(changed)
	if err != nil {
		t.Fatal(err)
	}
	edited := regexp.MustCompile(`(?m)^risk_score = \d+`).ReplaceAllString(string(raw), "risk_score = 99")
	if edited == string(raw) || strings.Contains(string(raw), "risk_score = 99\n") {
		t.Fatal("no risk_score to edit")
	}
	if err := os.WriteFile(changed, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	run := e.Import(t, "elastic", src)
	if run.WarningCount != 0 {
		t.Errorf("warnings after the edit: %+v", Warnings(run))
	}
	if run.Updated != 1 || run.Added != 0 || run.Deprecated != 0 || run.Unchanged != want.rules-1 {
		t.Errorf("after editing %s (1 rule): added %d updated %d deprecated %d unchanged %d",
			files[0], run.Added, run.Updated, run.Deprecated, run.Unchanged)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM detection_rules WHERE source = 'elastic' AND risk_score = 99`); n != 1 {
		t.Errorf("%d rules with the edited risk score, want 1", n)
	}
}

func elasticCopy(t *testing.T, from, to string) {
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

// Hunting queries ([hunt] files beside the rules) are stored as hunting rules: a kind
// of their own that the rule listing filters on and that is never associated with
// test templates as a detection.
func TestElasticHuntingQueries(t *testing.T) {
	e := newEnv(t, map[string]string{"elastic": ""})
	src, _ := filepath.Abs(filepath.Join("..", "..", "plugins", "elastic", "testdata", "repo"))
	run := e.Import(t, "elastic", src)
	if run.Outcome != core.RunSucceeded {
		t.Fatalf("run: %+v", run)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM detection_rules WHERE kind = 'hunting' AND external_id = '0c0b4f6a-1a3c-4d5f-8f0a-123456789abc'`); n != 1 {
		t.Errorf("hunting rules stored: %d, want 1", n)
	}
	if n := e.Count(t, `SELECT COUNT(*) FROM detection_rules WHERE kind = 'detection'`); n != 9 {
		t.Errorf("detection rules stored: %d, want 9", n)
	}
	var hunts []*core.DetectionRule
	err := e.Store.View(ctx, func(tx core.Tx) error {
		var err error
		hunts, _, err = tx.ListDetectionRules(ctx, core.RuleFilter{Kind: core.RuleKindHunting})
		return err
	})
	if err != nil || len(hunts) != 1 || hunts[0].Kind != core.RuleKindHunting || strings.Join(hunts[0].TechniqueIDs, ",") != "T1021.002,T1569.002" {
		t.Fatalf("listing kind=hunting: %v %+v", err, hunts)
	}
}

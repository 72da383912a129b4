package integration

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// sigmaCounts are computed from the raw rule files, without the plugin's code.
type sigmaCounts struct {
	rules, withTechniques, withoutTechniques int
	correlations, filters, deprecated        int
	rejected                                 int // rule-like documents the plugin must skip with a warning
	techniques                               map[string]bool
	perFile                                  map[string]int
}

var (
	sigmaUUIDRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	sigmaTechRe = regexp.MustCompile(`^attack\.t\d{4}(\.\d{3})?$`)
)

func countSigma(t *testing.T, dir string) sigmaCounts {
	t.Helper()
	c := sigmaCounts{techniques: map[string]bool{}, perFile: map[string]int{}}
	seen := map[string]bool{}
	for _, f := range walkFiles(t, dir, ".yml", ".yaml") {
		if strings.Contains(filepath.ToSlash(f), "/regression_data/") {
			continue
		}
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(fh)
		for {
			var doc map[string]any
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				// The plugin rejects the document; this simple reader cannot
				// go on past it, which the upstream data never needs.
				c.rejected++
				break
			}
			if _, ok := doc["action"]; ok {
				t.Fatalf("%s: action documents are not expected upstream; this count does not merge them", f)
			}
			_, hasCorr := doc["correlation"]
			_, hasFilter := doc["filter"]
			_, hasDet := doc["detection"]
			_, hasLog := doc["logsource"]
			if !hasCorr && !hasFilter && !hasDet && !hasLog {
				continue // not a rule
			}
			id, _ := doc["id"].(string)
			title, _ := doc["title"].(string)
			_, detOK := doc["detection"].(map[string]any)
			_, logOK := doc["logsource"].(map[string]any)
			switch {
			case !sigmaUUIDRe.MatchString(strings.TrimSpace(id)) || strings.TrimSpace(title) == "",
				!hasCorr && !hasFilter && (!detOK || !logOK),
				seen[strings.ToLower(strings.TrimSpace(id))]:
				c.rejected++
				continue
			}
			seen[strings.ToLower(strings.TrimSpace(id))] = true
			c.rules++
			c.perFile[f]++
			switch {
			case hasCorr:
				c.correlations++
			case hasFilter:
				c.filters++
			}
			if s, _ := doc["status"].(string); strings.EqualFold(s, "deprecated") {
				c.deprecated++
			}
			tags, _ := doc["tags"].([]any)
			n := 0
			for _, tag := range tags {
				s, _ := tag.(string)
				if s = strings.ToLower(strings.TrimSpace(s)); sigmaTechRe.MatchString(s) {
					c.techniques[strings.ToUpper(strings.TrimPrefix(s, "attack."))] = true
					n++
				}
			}
			if n > 0 {
				c.withTechniques++
			} else {
				c.withoutTechniques++
			}
		}
		fh.Close()
	}
	return c
}

func TestSigmaUpstream(t *testing.T) {
	dir := upstream(t, "sigma")
	want := countSigma(t, dir)
	t.Logf("raw files: %d rules (%d with technique tags, %d without), %d distinct techniques, %d correlation, %d filter, %d deprecated, %d rejected",
		want.rules, want.withTechniques, want.withoutTechniques, len(want.techniques), want.correlations, want.filters, want.deprecated, want.rejected)
	if want.rules == 0 {
		t.Fatal("no Sigma rules found in the raw files")
	}

	e := newEnv(t, map[string]string{"sigma": ""})
	start := time.Now()
	run := e.Import(t, "sigma", dir)
	t.Logf("first import: %s (%d ms in the run), %d added, %d warnings", time.Since(start), run.DurationMS, run.Added, run.WarningCount)
	for _, w := range Warnings(run) {
		t.Logf("warning: %s:%d %s %s", w.File, w.Line, w.ExternalID, w.Summary)
	}
	if run.Added != want.rules || len(otherWarnings(run)) != want.rejected {
		t.Errorf("run added %d with %d warnings, want %d rules and %d rejected", run.Added, len(otherWarnings(run)), want.rules, want.rejected)
	}
	counts := map[string]struct {
		q    string
		want int
	}{
		"rules":               {`SELECT COUNT(*) FROM detection_rules WHERE source = 'sigma' AND format = 'sigma'`, want.rules},
		"with techniques":     {`SELECT COUNT(DISTINCT l.detection_rule_id) FROM detection_rule_techniques l JOIN detection_rules r ON r.id = l.detection_rule_id WHERE r.source = 'sigma'`, want.withTechniques},
		"without techniques":  {`SELECT COUNT(*) FROM detection_rules r WHERE r.source = 'sigma' AND NOT EXISTS (SELECT 1 FROM detection_rule_techniques l WHERE l.detection_rule_id = r.id)`, want.withoutTechniques},
		"distinct techniques": {`SELECT COUNT(DISTINCT te.external_id) FROM detection_rule_techniques l JOIN detection_rules r ON r.id = l.detection_rule_id JOIN techniques te ON te.id = l.technique_id WHERE r.source = 'sigma'`, len(want.techniques)},
		"correlation rules":   {`SELECT COUNT(*) FROM detection_rules WHERE source = 'sigma' AND rule_type = 'correlation'`, want.correlations},
		"filter rules":        {`SELECT COUNT(*) FROM detection_rules WHERE source = 'sigma' AND rule_type = 'filter'`, want.filters},
		"deprecated":          {`SELECT COUNT(*) FROM detection_rules WHERE source = 'sigma' AND deprecated`, want.deprecated},
		"without raw text":    {`SELECT COUNT(*) FROM detection_rules WHERE source = 'sigma' AND (raw = '' OR detection = '{}')`, 0},
	}
	for name, c := range counts {
		if n := e.Count(t, c.q); n != c.want {
			t.Errorf("%s: %d stored, want %d", name, n, c.want)
		}
	}

	again := e.Import(t, "sigma", dir)
	if again.Added+again.Updated+again.Deprecated != 0 || again.Unchanged != want.rules {
		t.Errorf("re-import: added %d updated %d deprecated %d unchanged %d, want all %d unchanged",
			again.Added, again.Updated, again.Deprecated, again.Unchanged, want.rules)
	}
}

// TestSigmaChangedFile: a changed file changes exactly its records.
func TestSigmaChangedFile(t *testing.T) {
	dir := upstream(t, "sigma")
	src := t.TempDir()
	files := []string{
		"rules/windows/process_creation/proc_creation_win_powershell_encode.yml",
		"rules/linux/auditd/lnx_auditd_susp_c2_commands.yml",
		"rules/cloud/aws/cloudtrail/aws_cloudtrail_disable_logging.yml",
	}
	for _, f := range files {
		sigmaCopy(t, filepath.Join(dir, f), filepath.Join(src, f))
	}
	want := countSigma(t, src)
	e := newEnv(t, map[string]string{"sigma": ""})
	if run := e.Import(t, "sigma", src); run.Added != want.rules || want.rules != len(files) {
		t.Fatalf("added %d, want %d", run.Added, want.rules)
	}

	changed := filepath.Join(src, files[0])
	raw, err := os.ReadFile(changed)
	if err != nil {
		t.Fatal(err)
	}
	edited := regexp.MustCompile(`(?m)^level: \w+`).ReplaceAllString(string(raw), "level: critical")
	if edited == string(raw) {
		t.Fatal("no level to edit")
	}
	if err := os.WriteFile(changed, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	run := e.Import(t, "sigma", src)
	if run.WarningCount != 0 {
		t.Errorf("warnings after the edit: %+v", Warnings(run))
	}
	n := want.perFile[changed]
	if run.Updated != n || run.Added != 0 || run.Deprecated != 0 || run.Unchanged != want.rules-n {
		t.Errorf("after editing %s (%d rules): added %d updated %d deprecated %d unchanged %d",
			files[0], n, run.Added, run.Updated, run.Deprecated, run.Unchanged)
	}
	if c := e.Count(t, `SELECT COUNT(*) FROM detection_rules WHERE source = 'sigma' AND level = 'critical'`); c < 1 {
		t.Errorf("the edited level was not stored")
	}
}

func sigmaCopy(t *testing.T, from, to string) {
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

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/core/importer"
	"github.com/aegis-sec/aegis/core/pluginhost"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// upstreamImport is one first-party import of the acceptance run.
type upstreamImport struct{ plugin, source string }

// TestImportOrderDoesNotMatter imports every first-party source of AEGIS_UPSTREAM_DIR
// one run at a time, in two different orders, and compares every table: the database
// must be the same whichever source came first (unknown techniques created by rules
// before ATT&CK, links computed after each run, records several sources bring).
func TestImportOrderDoesNotMatter(t *testing.T) {
	if testing.Short() {
		t.Skip("imports every upstream source twice (about two minutes); run without -short")
	}
	attack := filepath.Join(upstream(t, "mitre-cti"), "enterprise-attack")
	mapex := filepath.Join(upstream(t, "mappings-explorer"), "mappings")
	imports := []upstreamImport{
		{"attack", attack},
		{"cti", attack},
		{"atomic", upstream(t, "atomic-red-team")},
		{"caldera", upstream(t, "stockpile")},
		{"lolbas", upstream(t, "lolbas")},
		{"gtfobins", upstream(t, "gtfobins")},
		{"sigma", upstream(t, "sigma")},
		{"elastic", upstream(t, "detection-rules")},
		{"d3fend", upstream(t, "d3fend")},
		{"nist", mapex},
	}
	configs := map[string]string{
		"attack": `{"release_version":"18.1"}`, "cti": "", "atomic": "", "caldera": "", "sigma": "", "elastic": "",
		"d3fend": `{"attack_source":"` + attack + `"}`, "nist": "",
		"lolbas": `{"layout":"lolbas"}`, "gtfobins": `{"layout":"gtfobins"}`,
	}
	reversed := make([]upstreamImport, len(imports))
	for i, im := range imports {
		reversed[len(imports)-1-i] = im
	}
	start := time.Now()
	first := importAll(t, configs, imports, true)
	second := importAll(t, configs, reversed, false)
	t.Logf("two orders of %d imports in %s", len(imports), time.Since(start))
	if len(first["techniques"]) == 0 || len(first["detection_rules"]) == 0 || len(first["compliance_controls"]) == 0 {
		t.Fatalf("nothing imported: %d techniques, %d rules", len(first["techniques"]), len(first["detection_rules"]))
	}
	if d := storetest.Diff(first, second); d != "" {
		if len(d) > 4000 {
			d = d[:4000] + "\n..."
		}
		t.Errorf("the database depends on the order of the imports:\n%s", d)
	}
}

// importAll imports the sources in the given order into a fresh SQLite store and dumps
// every table with its ids replaced by natural keys and its times left out.
// With checkLinks it also checks the template ↔ rule links derived when read against
// a full association (storetest.CheckAssociations, three minutes on this machine).
func importAll(t *testing.T, configs map[string]string, order []upstreamImport, checkLinks bool) map[string][]string {
	t.Helper()
	s := storetest.Open(t, store.SQLite)
	cfg := config.Default()
	for name, c := range configs {
		if c == "" {
			c = "{}"
		}
		bin := name
		if name == "gtfobins" {
			bin = "lolbas"
		}
		cfg.Plugins = append(cfg.Plugins, config.Plugin{Name: name, Path: pluginBinary(t, bin), Enabled: true,
			Timeout: 10 * time.Minute, Config: json.RawMessage(c), Range: "test"})
	}
	log := hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: os.Stderr})
	e := &env{Store: s, Runner: &importer.Runner{Store: s, Host: pluginhost.New(cfg, log), Log: log}}
	for _, im := range order {
		e.Import(t, im.plugin, im.source)
	}
	dump := normalisedDump(t, s)
	dump["template ↔ rule links (derived)"] = derivedLinks(t, s, checkLinks)
	return dump
}

// derivedLinks returns the template ↔ rule links with natural keys for the templates
// and rules; with check it first checks those derived when read against a full
// core.Associate over the real catalog (storetest.CheckAssociations).
func derivedLinks(t *testing.T, s *store.Store, check bool) []string {
	t.Helper()
	n := -1
	if check {
		start := time.Now()
		n = storetest.CheckAssociations(t, s)
		t.Logf("%d template ↔ rule links derived when read, equal to a full association (checked in %s)", n, time.Since(start))
	}
	var out []string
	err := s.Read(context.Background(), func(ctx_ core.Tx) error {
		tpls, rules, err := ctx_.(*store.Tx).AssociationInputs(context.Background())
		if err != nil {
			return err
		}
		names := map[string]string{}
		var rows []struct {
			ID  string `db:"id"`
			Key string `db:"k"`
		}
		if err := s.DB().Select(&rows, `SELECT id, source || ':' || external_id AS k FROM test_templates
			UNION ALL SELECT id, source || ':' || external_id AS k FROM detection_rules`); err != nil {
			return err
		}
		for _, r := range rows {
			names[r.ID] = r.Key
		}
		for _, l := range core.Associate(tpls, rules) {
			out = append(out, names[l.TemplateID]+" → "+names[l.RuleID]+": "+l.Reason)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n >= 0 && len(out) != n {
		t.Fatalf("%d links named, %d derived", len(out), n)
	}
	sort.Strings(out)
	return out
}

var uuidRe = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// runColumn names columns that differ between two databases of the same data: when a
// row was written, which run wrote it, and the row's own id (references to a row are
// replaced by its natural key instead).
var runColumn = regexp.MustCompile(`(^|_)(at|time)$|^(started|finished)_|_run_id$|^id$`)

// normalisedDump is every table as sorted rows of "column=value", where a reference to
// a row is replaced by its table and natural key and run columns are left out. Run bookkeeping
// (runs, audit, plugin rows, locks, the coverage generation: a count of writing
// transactions, the file states a re-import skips by) is not data and is left out.
func normalisedDump(t *testing.T, s *store.Store) map[string][]string {
	t.Helper()
	skip := map[string]bool{"schema_migrations": true, "schema_migrations_ledger": true, "import_runs": true, "audit_logs": true, "plugins": true,
		"import_locks": true, "job_runs": true, "coverage_generation": true, "import_files": true}
	var tables []string
	// The FTS5 search indexes hold the same words whatever the order, but in segments
	// that depend on it; their tables are checked through the rows they index.
	if err := s.DB().Select(&tables, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND `+storetest.NotSearchIndex("name")); err != nil {
		t.Fatal(err)
	}
	// Natural keys of every row that has an id: source and external id where the table
	// has them, the framework's key for controls.
	keys := map[string]string{}
	for _, table := range tables {
		cols := columns(t, s, table)
		if !cols["id"] {
			continue
		}
		var expr string
		switch {
		case cols["source"] && cols["external_id"] && cols["kind"]:
			expr = `source || '/' || kind || '/' || external_id`
		case cols["source"] && cols["external_id"]:
			expr = `source || '/' || external_id`
		case cols["framework_id"] && cols["external_id"]:
			expr = `(SELECT f.external_id FROM compliance_frameworks f WHERE f.id = framework_id) || '/' || external_id`
		case cols["external_id"]:
			expr = `external_id`
		default:
			continue
		}
		var rows []struct {
			ID  string `db:"id"`
			Key string `db:"k"`
		}
		if err := s.DB().Select(&rows, `SELECT id, `+expr+` AS k FROM `+table); err != nil {
			t.Fatalf("keys of %s: %v", table, err)
		}
		for _, r := range rows {
			keys[r.ID] = table + ":" + r.Key
		}
	}
	out := map[string][]string{}
	for _, table := range tables {
		if skip[table] {
			continue
		}
		rows, err := s.DB().Queryx(`SELECT * FROM ` + table)
		if err != nil {
			t.Fatal(err)
		}
		names, _ := rows.Columns()
		var lines []string
		for rows.Next() {
			vals, err := rows.SliceScan()
			if err != nil {
				t.Fatal(err)
			}
			var parts []string
			for i, v := range vals {
				if runColumn.MatchString(names[i]) {
					continue
				}
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				text := uuidRe.ReplaceAllStringFunc(fmt.Sprint(v), func(id string) string {
					if k, ok := keys[id]; ok {
						return k
					}
					return id
				})
				parts = append(parts, names[i]+"="+text)
			}
			lines = append(lines, strings.Join(parts, "|"))
		}
		rows.Close()
		sort.Strings(lines)
		out[table] = lines
	}
	return out
}

func columns(t *testing.T, s *store.Store, table string) map[string]bool {
	t.Helper()
	var rows []struct {
		Name string `db:"name"`
	}
	if err := s.DB().Select(&rows, `SELECT name FROM pragma_table_info(?)`, table); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, r := range rows {
		out[r.Name] = true
	}
	return out
}

package store_test

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// searchRules lists the external ids of the rules a search finds, in the order given.
func searchRules(t *testing.T, s *store.Store, q string) []string {
	t.Helper()
	var got []string
	s.View(ctx, func(tx core.Tx) error {
		list, total, err := tx.ListDetectionRules(ctx, core.RuleFilter{Search: q})
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		if total != len(list) {
			t.Errorf("search %q: total %d, %d rows", q, total, len(list))
		}
		for _, r := range list {
			got = append(got, r.ExternalID)
		}
		return nil
	})
	return got
}

// Full-text search (issue 16) on both databases: relevance order, word prefixes, ids
// with dots, punctuation as written, and query syntax in the box as plain text.
func TestFullTextSearch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		mustUpdate(t, s, func(tx core.Tx) error {
			for _, r := range []*core.DetectionRule{
				// "a" sorts first by title, so relevance, not the title order, puts the
				// title match above it.
				{Source: "sigma", ExternalID: "desc", Title: "A rule about processes", Description: "spots mimikatz in memory"},
				{Source: "sigma", ExternalID: "title", Title: "Mimikatz Execution"},
				{Source: "sigma", ExternalID: "sub", Title: "Sub-technique", Description: "covers T1059.001 and cmd.exe /c whoami"},
				{Source: "sigma", ExternalID: "near", Title: `NEAR AND OR NOT "quoted" (group) col:umn ^start * & | ! <-> 'x'`},
				{Source: "sigma", ExternalID: "other", Title: "T1059 001 apart", Description: "cmd exe"},
			} {
				if err := tx.UpsertDetectionRule(ctx, r); err != nil {
					return err
				}
			}
			return nil
		})
		for q, want := range map[string]string{
			"mimikatz":        "title,desc", // a title match ranks above a description match
			"MIMIK":           "title,desc", // the last word as the user types it
			"mimikatz execut": "title",
			"imikatz":         "", // words match from their beginning
			"t1059.001":       "sub",
			"T1059.00":        "sub",
			"cmd.exe":         "sub",
			"cmd exe":         "other,sub", // equal ranks: compared sorted below
			"sub-technique":   "sub",
			"/c whoami":       "sub",
			`"c whoami"`:      "sub", // a phrase is a substring, as it was with LIKE
			`"/c whoami"`:     "sub",
			"NEAR":            "near",
			"near AND or":     "near",
			"NOT":             "near",
			`"quoted"`:        "near",
			"col:umn":         "near",
			"^start":          "near",
			"(group)":         "near",
			"*":               "near",
			"<->":             "near",
			"'x'":             "near",
			"& | !":           "near",
			`"`:               "desc,title,near,sub,other", // an empty phrase is no term: by title
			"mimikatz -cmd":   "",
		} {
			got := searchRules(t, s, q)
			if q == "cmd exe" {
				sort.Strings(got)
			}
			if strings.Join(got, ",") != want {
				t.Errorf("search %q: %v, want %s", q, got, want)
			}
		}
	})
}

// The index follows every write: an upsert that changes the text, one that changes
// only a flag, a delete, and a re-import of the same rows.
func TestFullTextIndexFollowsWrites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		rule := &core.DetectionRule{Source: "sigma", ExternalID: "r1", Title: "Kerberoasting request"}
		tpl := &core.TestTemplate{Source: "atomic", ExternalID: "a1", Name: "Dump lsass with procdump", TemplateType: "atomic"}
		mustUpdate(t, s, func(tx core.Tx) error {
			if err := tx.UpsertDetectionRule(ctx, rule); err != nil {
				return err
			}
			return tx.UpsertTestTemplate(ctx, tpl)
		})
		templates := func(q string) int {
			var n int
			s.View(ctx, func(tx core.Tx) error {
				_, total, err := tx.ListTestTemplates(ctx, core.TemplateFilter{Search: q})
				if err != nil {
					t.Fatal(err)
				}
				n = total
				return nil
			})
			return n
		}
		if got := searchRules(t, s, "kerberoast"); len(got) != 1 || templates("procdump") != 1 {
			t.Fatalf("after insert: rules %v, templates %d", got, templates("procdump"))
		}
		rule.Title = "AS-REP roasting"
		tpl.Name = "Dump lsass with comsvcs"
		mustUpdate(t, s, func(tx core.Tx) error {
			if err := tx.UpsertDetectionRule(ctx, rule); err != nil {
				return err
			}
			return tx.UpsertTestTemplate(ctx, tpl)
		})
		if got := searchRules(t, s, "kerberoast"); len(got) != 0 {
			t.Errorf("the old title is still found after the update: %v", got)
		}
		if got := searchRules(t, s, "as-rep"); len(got) != 1 {
			t.Errorf("the new title is not found: %v", got)
		}
		if templates("procdump") != 0 || templates("comsvcs") != 1 {
			t.Errorf("template after the update: procdump %d, comsvcs %d", templates("procdump"), templates("comsvcs"))
		}
		// A flag change leaves the words as they are.
		mustUpdate(t, s, func(tx core.Tx) error {
			_, err := tx.SetDetectionRulesActive(ctx, []string{rule.ID}, false)
			return err
		})
		if got := searchRules(t, s, "roasting"); len(got) != 1 {
			t.Errorf("after deactivation: %v", got)
		}
		// Importing the same rule again (an upsert with nothing changed) keeps one entry.
		mustUpdate(t, s, func(tx core.Tx) error { return tx.UpsertDetectionRule(ctx, rule) })
		if got := searchRules(t, s, "roasting"); len(got) != 1 {
			t.Errorf("after a re-import: %v", got)
		}
		if _, err := s.DB().Exec(s.DB().Rebind(`DELETE FROM detection_rules WHERE id = ?`), rule.ID); err != nil {
			t.Fatal(err)
		}
		if got := searchRules(t, s, "roasting"); len(got) != 0 {
			t.Errorf("after the delete: %v", got)
		}
		if s.Dialect() == store.SQLite {
			// The FTS5 index agrees with its table (FTS5's own consistency check).
			for _, table := range []string{"detection_rules_fts", "test_templates_fts", "techniques_fts", "threat_actors_fts"} {
				if _, err := s.DB().Exec(`INSERT INTO ` + table + `(` + table + `, rank) VALUES ('integrity-check', 1)`); err != nil {
					t.Errorf("%s: %v", table, err)
				}
			}
		}
	})
}

// Migration 0301 keeps fewer FTS5 prefix indexes for detection rules (1 and 2
// characters, not 3): the rules found and their order must be what they were with
// migration 0200's, for prefixes of every length and for whole words.
func TestRuleSearchSameWithFewerPrefixIndexes(t *testing.T) {
	s := storetest.Open(t, store.SQLite)
	words := strings.Fields(`powershell power powerview download downloader dll dllhost cmd command commandline
		certutil cert credential creds mimikatz mimi lsass lsa registry reg regsvr32 schtasks scheduled task
		encoded enc base64 invoke expression iex net network netsh whoami wmi wmic process proc`)
	rng := rand.New(rand.NewPCG(3, 5))
	text := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(words[rng.IntN(len(words))] + " ")
		}
		return b.String()
	}
	mustUpdate(t, s, func(tx core.Tx) error {
		for i := range 300 {
			if err := tx.UpsertDetectionRule(ctx, &core.DetectionRule{Source: "sigma", ExternalID: fmt.Sprintf("r%03d", i),
				Title: text(3), Description: text(12), Query: text(6), Raw: text(40)}); err != nil {
				return err
			}
		}
		return nil
	})
	queries := []string{"p", "po", "pow", "powe", "powershell", "d dl", "dll", "cer", "cred mimi", "reg", "regs", "enc iex",
		"net", "ne", "w wm wmi", "proc", "schtasks", "lsa", "c co com comm", "i"}
	answers := func() string {
		var b strings.Builder
		for _, q := range queries {
			s.View(ctx, func(tx core.Tx) error {
				list, total, err := tx.ListDetectionRules(ctx, core.RuleFilter{Search: q, Page: core.Page{Limit: 500}})
				if err != nil {
					t.Fatalf("search %q: %v", q, err)
				}
				fmt.Fprintf(&b, "%s: %d:", q, total)
				for _, r := range list {
					b.WriteString(" " + r.ExternalID)
				}
				b.WriteString("\n")
				return nil
			})
		}
		return b.String()
	}
	prefixes := func() string {
		var ddl string
		if err := s.DB().Get(&ddl, `SELECT sql FROM sqlite_master WHERE name = 'detection_rules_fts'`); err != nil {
			t.Fatal(err)
		}
		return ddl[strings.Index(ddl, "prefix"):]
	}
	if p := prefixes(); p != "prefix='1 2')" {
		t.Fatalf("migration 0301 left %s", p)
	}
	with := answers()
	if !strings.Contains(with, "r0") {
		t.Fatalf("the searches found nothing:\n%s", with)
	}
	if err := s.MigrateDownBelow(301); err != nil {
		t.Fatal(err)
	}
	if p := prefixes(); p != "prefix='1 2 3')" {
		t.Fatalf("migration 0301 down left %s", p)
	}
	if before := answers(); before != with {
		t.Errorf("prefix indexes 1 2 3 (migration 0200):\n%s\nprefix indexes 1 2 (migration 0301):\n%s", before, with)
	}
	if err := s.Migrate(); err != nil {
		t.Fatal(err)
	}
	if again := answers(); again != with {
		t.Errorf("after migrating up again:\n%s\nbefore:\n%s", again, with)
	}
}

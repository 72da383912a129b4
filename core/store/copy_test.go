package store_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// bulkBatch is how many rows a held transaction writes at once below: more than the
// thresholds above which PostgreSQL's writes go through COPY (plain inserts from 64
// rows, upserts through a staging table from 256); the same rows written 40 at a time
// take the multi-row statements.
const bulkBatch = 300

// bulkCatalog is one source's templates, rules and import records, with every kind of
// value a column takes (JSON documents, lists, booleans, optional text, a time).
func bulkCatalog(source string, version int) ([]*core.TestTemplate, []*core.DetectionRule, []*core.ImportRecord) {
	var tes []*core.TestTemplate
	var rules []*core.DetectionRule
	var recs []*core.ImportRecord
	for i := range bulkBatch {
		tech := fmt.Sprintf("T%04d", 1000+i%40)
		if i%7 == 0 {
			tech += fmt.Sprintf(".%03d", 1+i%3) // placeholders and their parents
		}
		techs := []string{tech, "T1059"}
		if version > 1 && i%2 == 0 {
			techs = []string{"T1003"}
		}
		tes = append(tes, &core.TestTemplate{Source: source, ExternalID: fmt.Sprintf("t-%d", i),
			Name: fmt.Sprintf("template %d v%d", i, version), Description: "runs 'it' \\ \"quoted\"\ttab\nline",
			Platforms: core.Strings{"windows", "linux"}, Command: fmt.Sprintf("cmd /c echo %d", i),
			ElevationRequired: i%2 == 1, InputArguments: core.JSON(`[{"name":"a","default":"x"}]`),
			Metadata: core.JSON(fmt.Sprintf(`{"n":%d,"ü":"ß"}`, i)), Payloads: core.Strings{}, TechniqueIDs: techs,
			Author: "someone", TemplateModified: "2026-01-02"})
		rules = append(rules, &core.DetectionRule{Source: source, ExternalID: fmt.Sprintf("r-%d", i),
			Title: fmt.Sprintf("rule %d v%d", i, version), Query: "process where name == \"x.exe\"", RiskScore: i,
			Tags: core.Strings{"attack.t1059"}, Detection: core.JSON(`{"selection":{"Image|endswith":"\\x.exe"}}`),
			Level: "high", TechniqueIDs: techs, RuleDate: "2025-12-31"})
		recs = append(recs, &core.ImportRecord{Source: source, ImporterType: "bulk", Scope: "s", SourceRef: "ref",
			File: fmt.Sprintf("f/%d.yml", i), Kind: "test_template", ExternalID: fmt.Sprintf("t-%d", i),
			ContentHash: fmt.Sprintf("h%d-%d", i, version), Data: fmt.Sprintf("packed %d", i), Deprecated: i%11 == 0,
			FirstRunID: "00000000-0000-4000-8000-000000000001", LastRunID: "00000000-0000-4000-8000-000000000002"})
	}
	return tes, rules, recs
}

// writeBulk stores a catalog in held transactions of per rows each.
func writeBulk(t *testing.T, s *store.Store, per int, tes []*core.TestTemplate, rules []*core.DetectionRule, recs []*core.ImportRecord) {
	t.Helper()
	for start := 0; start < len(tes); start += per {
		end := min(start+per, len(tes))
		mustUpdate(t, s, func(tx core.Tx) error {
			tx.(*store.Tx).HoldWrites()
			for i := start; i < end; i++ {
				tes[i].ID, rules[i].ID = "", ""
				if err := tx.UpsertTestTemplate(ctx, tes[i]); err != nil {
					return err
				}
				if err := tx.UpsertDetectionRule(ctx, rules[i]); err != nil {
					return err
				}
				recs[i].EntityID = tes[i].ID
				if err := tx.PutImportRecord(ctx, recs[i]); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

// readBulk reads a source's catalog back, without what differs by source (ids, times).
func readBulk(t *testing.T, s *store.Store, source string) []string {
	t.Helper()
	var out []string
	err := s.View(ctx, func(tx core.Tx) error {
		tes, _, err := tx.ListTestTemplates(ctx, core.TemplateFilter{Source: source, Page: core.Page{Limit: 500}})
		if err != nil {
			return err
		}
		for _, te := range tes {
			full, err := tx.TestTemplateByID(ctx, te.ID)
			if err != nil {
				return err
			}
			slices.Sort(full.TechniqueIDs)
			full.ID, full.Source, full.CreatedAt, full.UpdatedAt = "", "", time.Time{}, time.Time{}
			out = append(out, fmt.Sprintf("%+v", *full))
		}
		rules, _, err := tx.ListDetectionRules(ctx, core.RuleFilter{Source: source, Page: core.Page{Limit: 500}})
		if err != nil {
			return err
		}
		for _, r := range rules {
			full, err := tx.DetectionRuleByID(ctx, r.ID)
			if err != nil {
				return err
			}
			slices.Sort(full.TechniqueIDs)
			full.ID, full.Source, full.CreatedAt, full.UpdatedAt = "", "", time.Time{}, time.Time{}
			out = append(out, fmt.Sprintf("%+v", *full))
		}
		recs, err := tx.ImportRecords(ctx, source)
		if err != nil {
			return err
		}
		for _, rows := range recs {
			for _, r := range rows {
				cp := *r
				cp.ID, cp.Source, cp.EntityID = "", "", ""
				out = append(out, fmt.Sprintf("%+v", cp))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// Rows written in large batches (COPY on PostgreSQL) read back exactly as the same
// rows written in small ones (multi-row statements), on a first write and on an
// update that replaces every row and half the technique links (import records, updated
// one statement each, are new rows only the first time).
func TestBulkWritesStoreWhatSmallBatchesDo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		written := map[string][]*core.ImportRecord{}
		for version := 1; version <= 2; version++ {
			for source, per := range map[string]int{"big": bulkBatch, "small": 40} {
				tes, rules, recs := bulkCatalog(source, version)
				for i, old := range written[source] {
					recs[i].ID = old.ID // an update of the row
				}
				copies := 0
				s.ObserveQueries(func(q string, _ []any) {
					if strings.HasPrefix(q, "COPY ") {
						copies++
					}
				})
				writeBulk(t, s, per, tes, rules, recs)
				s.ObserveQueries(nil)
				written[source] = recs
				// The rows of the large batches went through COPY on PostgreSQL (templates,
				// rules, new or updated import records, links); SQLite has none.
				if s.Dialect() == store.Postgres && source == "big" && copies < 5 || s.Dialect() == store.SQLite && copies > 0 {
					t.Errorf("%s on %s, version %d: %d COPY statement(s)", source, s.Dialect(), version, copies)
				}
			}
			big, small := readBulk(t, s, "big"), readBulk(t, s, "small")
			if len(big) != 3*bulkBatch {
				t.Fatalf("version %d: read %d rows of the large batches, want %d", version, len(big), 3*bulkBatch)
			}
			if !reflect.DeepEqual(big, small) {
				for i := range big {
					if i < len(small) && big[i] != small[i] {
						t.Fatalf("version %d: large and small batches differ:\n%s\n%s", version, big[i], small[i])
					}
				}
				t.Fatalf("version %d: large and small batches differ", version)
			}
		}
	})
}

package store_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// The coverage summaries kept on write (technique_test_counts,
// technique_cell_validations) must equal what the tests say after any sequence of
// writes: one-row creates, updates that move a test between states, outcomes,
// platforms and techniques, and bulk inserts. The expectation is computed in Go from
// every test, independently of the SQL.
func TestCoverageSummaryFollowsRandomWrites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		rng := rand.New(rand.NewPCG(3, 4))
		var techs []string
		var tpls []string
		mustUpdate(t, s, func(tx core.Tx) error {
			for i := 0; i < 6; i++ {
				te := &core.Technique{ExternalID: fmt.Sprintf("T%04d", 1100+i), Name: "T", Domains: []string{"enterprise-attack"}, Known: true}
				if err := tx.UpsertTechnique(ctx, te); err != nil {
					return err
				}
				techs = append(techs, te.ID)
			}
			for i := 0; i < 2; i++ {
				tp := &core.TestTemplate{Source: "test", ExternalID: fmt.Sprint("tpl-", i), Name: "tpl", TemplateType: "atomic"}
				if err := tx.UpsertTestTemplate(ctx, tp); err != nil {
					return err
				}
				tpls = append(tpls, tp.ID)
			}
			return nil
		})
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		randomize := func(te *core.Test) {
			te.TechniqueID = techs[rng.IntN(len(techs))]
			te.State = core.TestStates[rng.IntN(len(core.TestStates))]
			te.Platform = []string{"windows", "Windows", "linux", "macos"}[rng.IntN(4)]
			te.Procedure = []string{"", "Dump LSASS", "dump lsass", "other"}[rng.IntN(4)]
			te.TemplateID = nil
			if rng.IntN(3) == 0 {
				te.TemplateID = &tpls[rng.IntN(len(tpls))]
			}
			te.NotApplicable = rng.IntN(8) == 0
			flag := func() *bool {
				switch rng.IntN(3) {
				case 0:
					return nil
				case 1:
					v := true
					return &v
				}
				v := false
				return &v
			}
			te.Prevented, te.Alerted, te.Logged = flag(), flag(), flag()
			te.ValidatedAt = nil
			if te.State == core.StateValidated && rng.IntN(10) > 0 {
				// Few distinct times, so that ties between tests of one cell happen.
				at := base.Add(time.Duration(rng.IntN(5)) * 24 * time.Hour)
				te.ValidatedAt = &at
			}
		}
		var ids []string
		for round := 0; round < 40; round++ {
			mustUpdate(t, s, func(tx core.Tx) error {
				switch op := rng.IntN(4); {
				case op == 0 || len(ids) == 0:
					te := &core.Test{Title: fmt.Sprint("test ", round)}
					randomize(te)
					if err := tx.CreateTest(ctx, te); err != nil {
						return err
					}
					ids = append(ids, te.ID)
				case op == 1:
					var batch []*core.Test
					for i := 0; i < 1+rng.IntN(8); i++ {
						te := &core.Test{Title: fmt.Sprintf("bulk %d.%d", round, i)}
						randomize(te)
						batch = append(batch, te)
					}
					if err := tx.InsertTests(ctx, batch); err != nil {
						return err
					}
					for _, te := range batch {
						ids = append(ids, te.ID)
					}
				default:
					te, err := tx.TestByID(ctx, ids[rng.IntN(len(ids))])
					if err != nil {
						return err
					}
					randomize(te)
					return tx.UpdateTest(ctx, te)
				}
				return nil
			})
			checkSummary(t, s, techs)
		}
	})
}

func checkSummary(t *testing.T, s *store.Store, techs []string) {
	t.Helper()
	var all []*core.Test
	var counts []core.TechniqueTestCounts
	var cells []core.ScoringRow
	err := s.View(ctx, func(tx core.Tx) error {
		var err error
		if all, _, err = tx.ListTests(ctx, core.TestFilter{Page: core.Page{Limit: 10000}}); err != nil {
			return err
		}
		if counts, err = tx.TestCounts(ctx, core.TestScope{}); err != nil {
			return err
		}
		cells, err = tx.Validations(ctx, core.TestScope{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	is := func(b *bool) bool { return b != nil && *b }
	want := map[string]*core.TechniqueTestCounts{}
	type cell struct{ tech, platform, proc string }
	latest := map[cell]core.ScoringRow{}
	for _, te := range all {
		c := want[te.TechniqueID]
		if c == nil {
			c = &core.TechniqueTestCounts{TechniqueID: te.TechniqueID}
			want[te.TechniqueID] = c
		}
		c.Tests++
		switch te.State {
		case core.StateValidated:
			c.Validated++
		case core.StateRejected:
			c.Rejected++
		default:
			c.InProgress++
		}
		if te.State != core.StateValidated || te.NotApplicable {
			continue
		}
		if is(te.Prevented) {
			c.Prevented++
		}
		if is(te.Alerted) {
			c.Alerted++
		}
		if is(te.Logged) {
			c.Logged++
		}
		if !is(te.Prevented) && !is(te.Alerted) && !is(te.Logged) {
			c.None++
		}
		if te.ValidatedAt == nil {
			continue
		}
		proc := te.Procedure
		if proc == "" {
			proc = te.Title
		}
		proc = "custom:" + strings.ToLower(proc)
		if te.TemplateID != nil {
			proc = *te.TemplateID
		}
		k := cell{te.TechniqueID, te.Platform, proc}
		row := core.ScoringRow{TechniqueID: te.TechniqueID, TestID: te.ID, Platform: te.Platform, Procedure: proc,
			ValidatedAt: te.ValidatedAt.UTC(), Prevented: is(te.Prevented), Alerted: is(te.Alerted), Logged: is(te.Logged)}
		if cur, ok := latest[k]; !ok || row.ValidatedAt.After(cur.ValidatedAt) || (row.ValidatedAt.Equal(cur.ValidatedAt) && row.TestID > cur.TestID) {
			latest[k] = row
		}
	}
	got := map[string]*core.TechniqueTestCounts{}
	for i := range counts {
		got[counts[i].TechniqueID] = &counts[i]
	}
	if !reflect.DeepEqual(got, want) {
		for id, w := range want {
			t.Errorf("technique %s: kept %+v, tests say %+v", id, got[id], *w)
		}
		t.FailNow()
	}
	var wantCells []core.ScoringRow
	for _, r := range latest {
		wantCells = append(wantCells, r)
	}
	for i := range cells {
		cells[i].ValidatedAt = cells[i].ValidatedAt.UTC()
	}
	key := func(r core.ScoringRow) string { return r.TechniqueID + "|" + r.Platform + "|" + r.Procedure }
	sort.Slice(cells, func(i, j int) bool { return key(cells[i]) < key(cells[j]) })
	sort.Slice(wantCells, func(i, j int) bool { return key(wantCells[i]) < key(wantCells[j]) })
	if !reflect.DeepEqual(cells, wantCells) {
		t.Fatalf("kept cells:\n%+v\ntests say:\n%+v", cells, wantCells)
	}
}

// The test list's default order (newest first), alone and with the state and technique
// filters, is read from an index on SQLite: no scan and sort of every test per page.
// The assignee filter searches two indexes and sorts only that person's tests.
func TestTestListUsesIndexForItsOrder(t *testing.T) {
	s := storetest.Open(t, store.SQLite)
	for _, w := range []string{"", "WHERE state = ?", "WHERE technique_id = ?", "WHERE (assigned_red = ? OR assigned_blue = ?)"} {
		args := []any{}
		for range strings.Count(w, "?") {
			args = append(args, "x")
		}
		q := `EXPLAIN QUERY PLAN SELECT id FROM tests ` + w + ` ORDER BY created_at DESC, id DESC LIMIT 50 OFFSET 0`
		var plan []struct {
			ID, Parent, NotUsed int
			Detail              string
		}
		rows, err := s.DB().Query(q, args...)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var p struct {
				ID, Parent, NotUsed int
				Detail              string
			}
			if err := rows.Scan(&p.ID, &p.Parent, &p.NotUsed, &p.Detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, p)
		}
		rows.Close()
		for _, p := range plan {
			sorts := strings.Contains(p.Detail, "TEMP B-TREE") && !strings.Contains(w, "assigned")
			if sorts || p.Detail == "SCAN tests" {
				t.Errorf("%q: plan %+v scans or sorts", w, plan)
			}
		}
	}
}

package coverage_test

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/coverage"
	"github.com/aegis-sec/aegis/core/coverage/coveragetest"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

func ids(cs []coverage.TechniqueChange) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.TechniqueID)
	}
	slices.Sort(out)
	return out
}

// TestSnapshotCompareNamesExactlyWhatChanged changes four tests between two snapshots
// and checks that the comparison names exactly those tests, and exactly the techniques
// whose coverage they moved.
func TestSnapshotCompareNamesExactlyWhatChanged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := coveragetest.Seed(t, st)
		now := coveragetest.Now
		svc := coverage.New(st, func() time.Time { return now })
		lead := f.User
		if _, err := svc.CreateSnapshot(ctx, &core.User{Role: core.RoleViewer}, ""); core.ErrorCode(err) != core.EFORBIDDEN {
			t.Fatalf("a viewer took a snapshot: %v", err)
		}
		lead.Role = core.RoleBlueLead
		a, err := svc.CreateSnapshot(ctx, lead, "before")
		if err != nil {
			t.Fatal(err)
		}
		if a.OrgScore == nil || a.FormulaVersion != 1 || a.TechniqueCount != 5 || a.TestedCount != 3 {
			t.Fatalf("snapshot a: %+v", a)
		}
		yes, no := true, false
		at := now
		// c: logged → alerted (T1059.001 improves); e: everything → nothing (T1059.003
		// and its parent T1059 regress); g: draft → validated, prevented (T1566 improves);
		// h: a new test on T1003, logged (T1003 gains a score).
		f.Update(t, st, "c", func(te *core.Test) { te.Logged, te.Alerted = &no, &yes })
		f.Update(t, st, "e", func(te *core.Test) { te.Prevented, te.Alerted, te.Logged = &no, &no, &no })
		f.Update(t, st, "g", func(te *core.Test) {
			te.State, te.ValidatedAt, te.Prevented, te.Alerted, te.Logged = core.StateValidated, &at, &yes, &no, &no
		})
		h := &core.Test{Title: "test h", TechniqueID: f.Techniques["T1003"].ID, Platform: "windows", State: core.StateValidated,
			ValidatedAt: &at, Logged: &yes}
		if err := st.Update(ctx, func(tx core.Tx) error { return tx.CreateTest(ctx, h) }); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Hour)
		b, err := svc.CreateSnapshot(ctx, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		cmp, err := svc.CompareSnapshots(ctx, a.ID, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(cmp.Improved); !slices.Equal(got, []string{"T1003", "T1059.001", "T1566"}) {
			t.Errorf("improved: %v", got)
		}
		if got := ids(cmp.Regressed); !slices.Equal(got, []string{"T1059", "T1059.003"}) {
			t.Errorf("regressed: %v", got)
		}
		if len(cmp.New) != 0 || len(cmp.Removed) != 0 || cmp.Unchanged != 0 || !cmp.SameFormula || cmp.ScoreChange == nil {
			t.Errorf("new %v removed %v unchanged %d", cmp.New, cmp.Removed, cmp.Unchanged)
		}
		want := map[string]coverage.TestChange{
			f.Tests["c"].ID: {Change: "outcome", TechniqueID: "T1059.001", BeforeOutcome: "logged", AfterOutcome: "alerted", BeforeState: "validated", AfterState: "validated"},
			f.Tests["e"].ID: {Change: "outcome", TechniqueID: "T1059.003", BeforeOutcome: "prevented+alerted+logged", AfterOutcome: "none", BeforeState: "validated", AfterState: "validated"},
			f.Tests["g"].ID: {Change: "state+outcome", TechniqueID: "T1566", BeforeOutcome: "none", AfterOutcome: "prevented", BeforeState: "draft", AfterState: "validated"},
			h.ID:            {Change: "added", TechniqueID: "T1003", AfterOutcome: "logged", AfterState: "validated"},
		}
		if len(cmp.TestsChanged) != len(want) {
			t.Fatalf("tests changed: %+v", cmp.TestsChanged)
		}
		for _, c := range cmp.TestsChanged {
			w, ok := want[c.TestID]
			w.TestID, w.Title = c.TestID, c.Title
			if !ok || c != w {
				t.Errorf("test change %+v, want %+v", c, w)
			}
		}
		// Each technique names its own tests as the reason; T1059 moved only through
		// its sub-technique, so it names none.
		for _, c := range append(cmp.Improved, cmp.Regressed...) {
			switch c.TechniqueID {
			case "T1059":
				if len(c.Tests) != 0 {
					t.Errorf("T1059 reasons: %+v", c.Tests)
				}
			default:
				if len(c.Tests) != 1 || want[c.Tests[0].TestID].TechniqueID != c.TechniqueID {
					t.Errorf("%s reasons: %+v", c.TechniqueID, c.Tests)
				}
			}
		}
		t1003 := cmp.Improved[0]
		// Logged (20), validated an hour before snapshot b.
		if t1003.BeforeScore != nil || !near(t1003.AfterScore, 20*math.Pow(0.5, 1.0/24/365)) || t1003.AfterStatus != core.StatusPartial {
			t.Errorf("T1003: %+v", t1003)
		}

		// The matrix of snapshot a shows a's scores, not today's.
		m, err := svc.Matrix(ctx, coverage.MatrixQuery{SnapshotID: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		if sc := m.Tactics[0].Techniques[0].Subtechniques[1].Score; !near(sc, 100) {
			t.Errorf("T1059.003 in snapshot a: %v", show(sc))
		}
		// Retention keeps the newest.
		if n, err := svc.PruneSnapshots(ctx, 1); err != nil || n != 1 {
			t.Fatalf("prune: %d %v", n, err)
		}
		list, total, _ := svc.Snapshots(ctx, core.Page{})
		if total != 1 || list[0].ID != b.ID {
			t.Fatalf("after pruning: %d, %v", total, list)
		}
		// The pruned snapshot's test states went with it (no foreign key cascades them
		// since migration 0170), the kept one's stayed.
		var left, kept int
		if err := st.DB().Get(&left, st.DB().Rebind(`SELECT COUNT(*) FROM snapshot_test_states WHERE snapshot_id = ?`), a.ID); err != nil || left != 0 {
			t.Errorf("test states of the pruned snapshot: %d %v", left, err)
		}
		if err := st.DB().Get(&kept, st.DB().Rebind(`SELECT COUNT(*) FROM snapshot_test_states WHERE snapshot_id = ?`), b.ID); err != nil || kept == 0 {
			t.Errorf("test states of the kept snapshot: %d %v", kept, err)
		}
	})
}

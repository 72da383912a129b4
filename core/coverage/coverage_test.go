package coverage_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/coverage"
	"github.com/aegis-sec/aegis/core/coverage/coveragetest"
	"github.com/aegis-sec/aegis/core/scoring"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

var ctx = context.Background()

func near(p *float64, want float64) bool { return p != nil && math.Abs(*p-want) < 1e-9 }

func show(p *float64) any {
	if p == nil {
		return "unscored"
	}
	return *p
}

func newService(t *testing.T, st core.Store) *coverage.Service {
	return coverage.New(st, func() time.Time { return coveragetest.Now })
}

// The expectations below are the worked example of docs/SCORING.md, by hand:
//
//	T1059.001 = (80 + 20×0.5 + 30×0.25)/3 × (70 + 15×2/2 + 15×3/4)/100 = 32.5 × 0.9625 = 31.28125
//	T1059.003 = 100 × (70 + 15 + 15)/100 = 100
//	T1059     = mean(31.28125, 100) = 65.640625 (its own tests: none)
//	T1566     = 30 × (70 + 15×1/3 + 15×1)/100 = 27 (no templates: procedure breadth 1)
//	T1003     = unscored
//	Execution = (65.640625 + 27)/2 = 46.3203125;  Credential Access: unscored
//	Organisation = (65.640625 + 27 + 0)/3, tested part (65.640625 + 27)/2
const (
	sPowerShell = 31.28125
	sCmd        = 100.0
	sParent     = 65.640625
	sPhishing   = 27.0
)

func TestScoresHandComputed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		coveragetest.Seed(t, st)
		svc := newService(t, st)
		m, err := svc.Matrix(ctx, coverage.MatrixQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if m.Domain != "enterprise-attack" || m.Release != "18.1" || m.FormulaVersion != scoring.FormulaVersion || len(m.Tactics) != 2 {
			t.Fatalf("matrix header: %+v", m)
		}
		exec, cred := m.Tactics[0], m.Tactics[1]
		if exec.ExternalID != "TA0002" || cred.ExternalID != "TA0006" {
			t.Fatalf("tactic order: %s, %s", exec.ExternalID, cred.ExternalID)
		}
		if len(exec.Techniques) != 2 || exec.Techniques[0].ExternalID != "T1059" || exec.Techniques[1].ExternalID != "T1566" {
			t.Fatalf("execution column: %+v", exec.Techniques)
		}
		parent := exec.Techniques[0]
		// T1059 has no test of its own; its two sub-techniques are covered, so it shows
		// covered, as its score shows their mean (core.RollUpStatus).
		if !near(parent.Score, sParent) || parent.Status != core.StatusCovered || len(parent.Subtechniques) != 2 {
			t.Fatalf("T1059: %v %s", show(parent.Score), parent.Status)
		}
		ps, cmd := parent.Subtechniques[0], parent.Subtechniques[1]
		if !near(ps.Score, sPowerShell) || ps.Status != core.StatusCovered || ps.Templates != 4 {
			t.Fatalf("T1059.001: %v %s %d", show(ps.Score), ps.Status, ps.Templates)
		}
		if c := ps.Counts; c.Tests != 4 || c.Validated != 4 || c.Prevented != 1 || c.Alerted != 2 || c.Logged != 2 || c.None != 0 {
			t.Fatalf("T1059.001 counts: %+v", c)
		}
		if !near(cmd.Score, sCmd) {
			t.Fatalf("T1059.003: %v", show(cmd.Score))
		}
		ph := exec.Techniques[1]
		if !near(ph.Score, sPhishing) || ph.Counts.Tests != 2 || ph.Counts.InProgress != 1 || ph.Counts.Alerted != 1 {
			t.Fatalf("T1566: %v %+v", show(ph.Score), ph.Counts)
		}
		if !near(exec.Score.Score, (sParent+sPhishing)/2) || exec.Score.Scored != 2 {
			t.Fatalf("execution: %+v", exec.Score)
		}
		if cred.Score.Score != nil || cred.Techniques[0].Score != nil || cred.Score.Techniques != 1 {
			t.Fatalf("credential access must be unscored, not 0: %+v", cred.Score)
		}
		if !near(m.Score.Score, (sParent+sPhishing)/3) || !near(m.Score.TestedScore, (sParent+sPhishing)/2) {
			t.Fatalf("organisation: %v / %v", show(m.Score.Score), show(m.Score.TestedScore))
		}
		if m.StatusCounts[core.StatusNotTested] != 1 || m.StatusCounts[core.StatusCovered] != 2 {
			t.Fatalf("status counts: %v", m.StatusCounts)
		}

		// Linux only: T1059.001 has one test there (c): 10 × (70 + 15×1/2 + 15×1/4)/100.
		lx, err := svc.Matrix(ctx, coverage.MatrixQuery{Platform: "linux"})
		if err != nil {
			t.Fatal(err)
		}
		col := lx.Tactics[0]
		if len(col.Techniques) != 2 || len(col.Techniques[0].Subtechniques) != 1 {
			t.Fatalf("linux column: %+v", col.Techniques)
		}
		if got := col.Techniques[0].Subtechniques[0]; !near(got.Score, 8.125) || got.Status != core.StatusPartial {
			t.Fatalf("linux T1059.001: %v %s", show(got.Score), got.Status)
		}
		// On Linux only T1059.001 is tested (logged): the parent rolls up to partial.
		if got := col.Techniques[0]; got.Status != core.StatusPartial {
			t.Fatalf("linux T1059: %s", got.Status)
		}
		if got := col.Techniques[1]; got.Score != nil || got.Status != core.StatusNotTested {
			t.Fatalf("linux T1566: %v %s", show(got.Score), got.Status)
		}
		if len(lx.Tactics[1].Techniques) != 0 {
			t.Fatalf("T1003 is Windows only, yet in the linux matrix")
		}

		// Actor filter: G0001 uses T1059.001 and T1003.
		am, err := svc.Matrix(ctx, coverage.MatrixQuery{ActorID: "g0001"})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(am.Tactics[0].Techniques); n != 1 || len(am.Tactics[0].Techniques[0].Subtechniques) != 1 || len(am.Tactics[1].Techniques) != 1 {
			t.Fatalf("actor matrix: %+v", am.Tactics)
		}
		if _, err := svc.Matrix(ctx, coverage.MatrixQuery{Release: "9.0"}); core.ErrorCode(err) != core.EINVALID {
			t.Fatalf("unknown release: %v", err)
		}

		sc, err := svc.Scores(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if !near(sc.Organisation.Score, (sParent+sPhishing)/3) || len(sc.Tactics) != 2 || !near(sc.Tactics[0].Score.Score, (sParent+sPhishing)/2) {
			t.Fatalf("scores: %+v", sc)
		}
		ts, err := svc.Technique(ctx, "t1059")
		if err != nil {
			t.Fatal(err)
		}
		if !near(ts.Score, sParent) || ts.Own.Score != nil || len(ts.Subtechniques) != 2 {
			t.Fatalf("technique score: %+v", ts)
		}
	})
}

func TestWeightsPersistedValidatedAudited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := coveragetest.Seed(t, st)
		svc := newService(t, st)
		admin := &core.User{Username: "root", Role: core.RoleAdmin, PasswordHash: "x"}
		if err := st.Update(ctx, func(tx core.Tx) error { return tx.CreateUser(ctx, admin) }); err != nil {
			t.Fatal(err)
		}
		v, err := svc.Weights(ctx)
		if err != nil || !v.Default || v.Weights != scoring.DefaultWeights() {
			t.Fatalf("defaults: %+v %v", v, err)
		}
		bad := scoring.DefaultWeights()
		bad.Alerted = 40
		if _, err := svc.SetWeights(ctx, admin, bad); core.ErrorCode(err) != core.EINVALID {
			t.Fatalf("sum 110 accepted: %v", err)
		}
		if _, err := svc.SetWeights(ctx, f.User, scoring.DefaultWeights()); core.ErrorCode(err) != core.EFORBIDDEN {
			t.Fatalf("a red lead changed the weights: %v", err)
		}
		// Only alerts count: T1566 (alerted) becomes 100 × 0.9 = 90.
		w := scoring.DefaultWeights()
		w.Prevented, w.Alerted, w.Logged = 0, 100, 0
		if _, err := svc.SetWeights(ctx, admin, w); err != nil {
			t.Fatal(err)
		}
		v, _ = svc.Weights(ctx)
		if v.Default || v.Weights != w || v.Config == nil || v.Config.FormulaVersion != scoring.FormulaVersion {
			t.Fatalf("saved weights: %+v", v)
		}
		ts, err := svc.Technique(ctx, "T1566")
		if err != nil || !near(ts.Score, 90) {
			t.Fatalf("T1566 under the new weights: %v %v", show(ts.Score), err)
		}
		var entries []*core.AuditEntry
		st.View(ctx, func(tx core.Tx) error {
			entries, _, err = tx.ListAudit(ctx, core.AuditFilter{Action: "scoring.weights_changed"})
			return err
		})
		if len(entries) != 1 || entries[0].ActorName != "root" {
			t.Fatalf("audit: %+v", entries)
		}
		hist, total, err := svc.WeightsHistory(ctx, core.Page{})
		if err != nil || total != 1 || !hist[0].Active {
			t.Fatalf("history: %d %v", total, err)
		}
	})
}

// A scoped coverage status follows the one rule (core.CoverageStatusOf) the stored
// status follows: over a scope that holds all of a technique's tests, the two agree. A
// validated test marked not applicable still counts as validated for the status (it
// is left out of the score only); the old copy of the rule in this package said
// "in progress" for it while the stored status said "not covered".
func TestScopedStatusFollowsTheCoreRule(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := coveragetest.Seed(t, st)
		at := coveragetest.Day("2026-07-01")
		na := &core.Test{Title: "not applicable", TechniqueID: f.Techniques["T1003"].ID, Platform: "windows", Procedure: "n/a",
			State: core.StateValidated, ValidatedAt: &at, NotApplicable: true, CreatedBy: &f.User.ID}
		if err := st.Update(ctx, func(tx core.Tx) error { return tx.CreateTest(ctx, na) }); err != nil {
			t.Fatal(err)
		}
		svc := newService(t, st)
		all, err := svc.Matrix(ctx, coverage.MatrixQuery{})
		if err != nil {
			t.Fatal(err)
		}
		win, err := svc.Matrix(ctx, coverage.MatrixQuery{Platform: "windows"})
		if err != nil {
			t.Fatal(err)
		}
		// T1003 and T1566 have only Windows tests: the Windows scope holds them all.
		for _, ext := range []string{"T1003", "T1566"} {
			a, w := cellOf(all, ext), cellOf(win, ext)
			if a == nil || w == nil {
				t.Fatalf("%s missing from a matrix", ext)
			}
			var tests []*core.Test
			for _, te := range f.Tests {
				if te.TechniqueID == f.Techniques[ext].ID {
					tests = append(tests, te)
				}
			}
			if ext == "T1003" {
				tests = append(tests, na)
			}
			if want := core.CoverageStatusOf(tests); a.Status != want || w.Status != want {
				t.Errorf("%s: stored %s, windows scope %s, core.CoverageStatusOf %s", ext, a.Status, w.Status, want)
			}
		}
	})
}

func cellOf(m *coverage.Matrix, ext string) *coverage.MatrixTechnique {
	for _, ta := range m.Tactics {
		for _, te := range ta.Techniques {
			if te.ExternalID == ext {
				return te
			}
			for _, s := range te.Subtechniques {
				if s.ExternalID == ext {
					return s
				}
			}
		}
	}
	return nil
}

// What to test next (docs/SCORING.md): a technique somebody is already testing comes
// after every technique nobody has started, whatever its priority. Here T1003 gets
// ten templates and a draft test: priority 100 × 1 actor × (1 + 10) / 100 = 11, above
// T1059.001's (100 − 31.28125) × 2 × (1 + 4) / 100 = 6.871875, yet it comes second.
func TestNextPutsTechniquesInProgressLast(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := coveragetest.Seed(t, st)
		if err := st.Update(ctx, func(tx core.Tx) error {
			for i := range 10 {
				tp := &core.TestTemplate{Source: "atomic", ExternalID: fmt.Sprintf("dump-%d", i), Name: fmt.Sprintf("dump %d", i),
					Platforms: []string{"windows"}, TechniqueIDs: []string{"T1003"}, Active: true, Command: "echo dump"}
				if err := tx.UpsertTestTemplate(ctx, tp); err != nil {
					return err
				}
			}
			return tx.CreateTest(ctx, &core.Test{Title: "dump lsass", TechniqueID: f.Techniques["T1003"].ID, Platform: "windows",
				Procedure: "dump", CreatedBy: &f.User.ID})
		}); err != nil {
			t.Fatal(err)
		}
		next, err := newService(t, st).Next(ctx, "G0001", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(next) != 2 || next[0].Key != "T1059.001" || !near(&next[0].Priority, (100-sPowerShell)*2*5/100) ||
			next[1].Key != "T1003" || next[1].Status != core.StatusInProgress || !near(&next[1].Priority, 11) {
			t.Fatalf("next for G0001: %+v", next)
		}
	})
}

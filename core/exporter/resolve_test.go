package exporter_test

import (
	"math"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/coverage"
	"github.com/aegis-sec/aegis/core/coverage/coveragetest"
	"github.com/aegis-sec/aegis/core/exporter"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
	"github.com/aegis-sec/aegis/sdk"
)

// coverageFixture seeds the coverage fixture, a campaign of tests a and f, and two
// snapshots with changes between them; it returns the scopes of every coverage kind.
func coverageFixture(t *testing.T, st *store.Store) (*coverage.Service, map[string]core.ExportScope) {
	t.Helper()
	f := coveragetest.Seed(t, st)
	now := coveragetest.Now
	svc := coverage.New(st, func() time.Time { return now })
	f.User.Role = core.RoleBlueLead
	before, err := svc.CreateSnapshot(ctx, f.User, "before")
	if err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	at := now
	f.Update(t, st, "c", func(te *core.Test) { te.Logged, te.Alerted = &no, &yes })
	f.Update(t, st, "e", func(te *core.Test) { te.Prevented, te.Alerted, te.Logged = &no, &no, &no })
	f.Update(t, st, "g", func(te *core.Test) {
		te.State, te.ValidatedAt, te.Prevented, te.Alerted, te.Logged = core.StateValidated, &at, &yes, &no, &no
	})
	now = now.Add(time.Hour)
	after, err := svc.CreateSnapshot(ctx, f.User, "after")
	if err != nil {
		t.Fatal(err)
	}
	camp := &core.Campaign{Name: "Q2 purple", Status: core.CampaignActive, Recurrence: core.RecurNone, Source: "aegis"}
	err = st.Update(ctx, func(tx core.Tx) error {
		if err := tx.CreateCampaign(ctx, camp); err != nil {
			return err
		}
		return tx.SetCampaignTests(ctx, camp.ID, []*core.CampaignTest{{TestID: f.Tests["a"].ID, Position: 1}, {TestID: f.Tests["f"].ID, Position: 2}})
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc, map[string]core.ExportScope{
		"organisation": {Kind: core.ScopeOrganisation},
		"tactic":       {Kind: core.ScopeTactic, ID: "execution"},
		"actor":        {Kind: core.ScopeActor, ID: "G0002"},
		"campaign":     {Kind: core.ScopeCampaign, ID: camp.ID},
		"snapshot":     {Kind: core.ScopeSnapshot, ID: before.ID},
		"diff":         {Kind: core.ScopeDiff, Base: before.ID, ID: after.ID},
	}
}

func same(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return math.Abs(*a-*b) < 1e-9
}

// cells indexes a matrix's cells by ATT&CK id.
func cells(mx *coverage.Matrix) map[string]*coverage.MatrixTechnique {
	out := map[string]*coverage.MatrixTechnique{}
	for _, col := range mx.Tactics {
		for _, c := range col.Techniques {
			out[c.ExternalID] = c
			for _, s := range c.Subtechniques {
				out[s.ExternalID] = s
			}
		}
	}
	return out
}

// Every coverage scope resolves into records whose figures are the coverage API's.
func TestResolveCoverageScopes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		svc, scopes := coverageFixture(t, st)
		r := exporter.StoreResolver{Store: st, Coverage: svc, BaseURL: "https://aegis.example.test/"}
		for name, scope := range scopes {
			t.Run(name, func(t *testing.T) {
				if err := scope.Validate(); err != nil {
					t.Fatal(err)
				}
				res, err := r.Resolve(ctx, scope)
				if err != nil {
					t.Fatal(err)
				}
				sc, err := sdk.ParseScope(res.ScopeJSON)
				if err != nil || sc.Summary == nil || sc.Title == "" || sc.Domain != "enterprise-attack" {
					t.Fatalf("scope %s: %v", res.ScopeJSON, err)
				}
				recs := map[string]*sdk.TechniqueCoverage{}
				for _, rec := range res.Records {
					tc := rec.(*sdk.TechniqueCoverage)
					recs[tc.TechniqueID] = tc
					if tc.URL == "" || tc.Status == "" {
						t.Errorf("%s: %+v", tc.TechniqueID, tc)
					}
				}
				if sc.Records[sdk.KindTechniqueCoverage] != len(res.Records) {
					t.Errorf("records %v, sent %d", sc.Records, len(res.Records))
				}
				q := coverage.MatrixQuery{}
				switch scope.Kind {
				case core.ScopeActor:
					q.ActorID = scope.ID
				case core.ScopeCampaign:
					q.CampaignID = scope.ID
				case core.ScopeSnapshot:
					q.SnapshotID = scope.ID
				case core.ScopeDiff:
					q.SnapshotID = scope.ID
				}
				mx, err := svc.Matrix(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				want := cells(mx)
				if scope.Kind == core.ScopeTactic {
					want = map[string]*coverage.MatrixTechnique{}
					for _, c := range mx.Tactics[0].Techniques {
						want[c.ExternalID] = c
						for _, s := range c.Subtechniques {
							want[s.ExternalID] = s
						}
					}
				}
				if len(want) != len(recs) {
					t.Fatalf("%d records, the matrix has %d cells", len(recs), len(want))
				}
				for id, c := range want {
					tc := recs[id]
					if tc == nil || !same(tc.Score, c.Score) || tc.Status != string(c.Status) || tc.Counts.Tests != c.Counts.Tests ||
						tc.Counts.Validated != c.Counts.Validated || tc.Counts.Alerted != c.Counts.Alerted || tc.Counts.Prevented != c.Counts.Prevented {
						t.Errorf("%s: record %+v, matrix %+v", id, tc, c)
					}
				}
				// The scope's own score is the API's score for the same scope.
				wantScore := mx.Score.Score
				switch scope.Kind {
				case core.ScopeTactic:
					scores, _ := svc.Scores(ctx, "enterprise-attack")
					wantScore = scores.Tactics[0].Score.Score
					if sc.ID != "TA0002" || sc.Name != "Execution" {
						t.Errorf("tactic scope named %s %s", sc.ID, sc.Name)
					}
				case core.ScopeActor:
					ac, _ := svc.Actor(ctx, "G0002")
					wantScore = ac.Score.Score
					if recs["T1566"].Weight == 0 {
						t.Errorf("actor weight missing: %+v", recs["T1566"])
					}
				}
				if !same(sc.Summary.Score, wantScore) || wantScore == nil {
					t.Errorf("summary score %v, API %v", ptr(sc.Summary.Score), ptr(wantScore))
				}
				if len(sc.Summary.Trend) != 2 || sc.Summary.Trend[0].Name != "before" || len(sc.Summary.Actors) != 2 {
					t.Errorf("summary %+v", sc.Summary)
				}
				switch scope.Kind {
				case core.ScopeOrganisation:
					if lv := recs["T1059.001"].LastValidated; lv == nil || !lv.Equal(coveragetest.Day("2026-06-30")) {
						t.Errorf("last validation of T1059.001: %v", lv)
					}
					if recs["T1003"].Score != nil || recs["T1003"].Status != sdk.CoverageNotTested {
						t.Errorf("T1003 untested: %+v", recs["T1003"])
					}
					if got := sc.Summary.Platforms; len(got) != 3 || got[0] != "Linux" || got[2] != "macOS" {
						t.Errorf("platforms %v", got)
					}
				case core.ScopeSnapshot:
					if recs["T1059.001"].LastValidated != nil {
						t.Error("a snapshot has no last validation")
					}
				case core.ScopeDiff:
					cmp, _ := svc.CompareSnapshots(ctx, scope.Base, scope.ID)
					for _, c := range cmp.Improved {
						if ch := recs[c.TechniqueID].Change; ch == nil || ch.Direction != sdk.ChangeImproved || !same(ch.BeforeScore, c.BeforeScore) {
							t.Errorf("%s improved: %+v", c.TechniqueID, ch)
						}
					}
					for _, c := range cmp.Regressed {
						if ch := recs[c.TechniqueID].Change; ch == nil || ch.Direction != sdk.ChangeRegressed {
							t.Errorf("%s regressed: %+v", c.TechniqueID, ch)
						}
					}
					d := sc.Summary.Diff
					if d == nil || d.Improved != len(cmp.Improved) || d.Regressed != len(cmp.Regressed) || d.BaseName != "before" ||
						d.Improved == 0 || d.Regressed == 0 || !same(d.ScoreChange, cmp.ScoreChange) {
						t.Errorf("diff summary %+v", d)
					}
					if recs["T1003"].Change.Direction != sdk.ChangeUnchanged {
						t.Errorf("T1003: %+v", recs["T1003"].Change)
					}
				}
			})
		}
		// Unknown ids fail with the name of what is missing.
		for _, bad := range []core.ExportScope{{Kind: core.ScopeTactic, ID: "TA9999"}, {Kind: core.ScopeActor, ID: "G9999"},
			{Kind: core.ScopeSnapshot, ID: core.NewID()}, {Kind: core.ScopeCampaign, ID: core.NewID()}} {
			bad.Validate()
			if _, err := r.Resolve(ctx, bad); err == nil {
				t.Errorf("%s resolved", bad.String())
			}
		}
	})
}

func ptr(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

// A coverage export whose plugin crashes mid-stream, or hangs, fails like any other:
// a failed run, no artifact.
func TestCoverageExportThatCrashesStoresNothing(t *testing.T) {
	s := storetest.Open(t, "sqlite")
	svc, scopes := coverageFixture(t, s)
	for mode, timeout := range map[string]time.Duration{"export_crash": time.Minute, "export_hang": 2 * time.Second} {
		r := runner(t, s, timeout, `{"mode":"`+mode+`"}`)
		r.Resolver = exporter.StoreResolver{Store: s, Coverage: svc}
		res, err := r.Run(ctx, exporter.Options{Plugin: "mis", Type: "misbehave", Scope: scopes["actor"]})
		if err == nil || res == nil || res.Run.Outcome != core.RunFailed || res.Artifacts != nil || res.Run.Records != 3 {
			t.Fatalf("%s: %v %+v", mode, err, res)
		}
		s.View(ctx, func(tx core.Tx) error {
			arts, _ := tx.ExportArtifacts(ctx, res.Run.ID, true)
			if len(arts) != 0 {
				t.Errorf("%s: %d artifacts stored", mode, len(arts))
			}
			return nil
		})
	}
}

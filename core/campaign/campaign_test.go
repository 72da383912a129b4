package campaign_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/campaign"
	"github.com/aegis-sec/aegis/core/coverage/coveragetest"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
	"github.com/aegis-sec/aegis/core/testflow"
)

var ctx = context.Background()

func TestFindCycle(t *testing.T) {
	deps := map[string][]string{"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
	if got := campaign.FindCycle([]string{"d", "a", "b", "c"}, deps); !slices.Equal(got, []string{"a", "b", "c", "a"}) {
		t.Fatalf("cycle = %v", got)
	}
	if got := campaign.FindCycle([]string{"a", "b"}, map[string][]string{"b": {"a"}}); got != nil {
		t.Fatalf("a chain taken for a cycle: %v", got)
	}
	// A diamond is no cycle.
	if got := campaign.FindCycle([]string{"a", "b", "c", "d"}, map[string][]string{"d": {"b", "c"}, "b": {"a"}, "c": {"a"}}); got != nil {
		t.Fatalf("diamond: %v", got)
	}
}

func TestNextRun(t *testing.T) {
	d := coveragetest.Day
	for _, c := range []struct {
		from   string
		r      core.Recurrence
		anchor int
		want   string
	}{
		{"2026-07-01", core.RecurWeekly, 1, "2026-07-08"},
		{"2026-01-31", core.RecurMonthly, 31, "2026-02-28"},
		{"2026-02-28", core.RecurMonthly, 31, "2026-03-31"},
		{"2028-01-31", core.RecurMonthly, 31, "2028-02-29"},
		{"2026-11-30", core.RecurQuarterly, 30, "2027-02-28"},
		{"2027-02-28", core.RecurQuarterly, 30, "2027-05-30"},
	} {
		if got := campaign.NextRun(d(c.from), c.r, c.anchor); !got.Equal(d(c.want)) {
			t.Errorf("%s %s (day %d) → %s, want %s", c.from, c.r, c.anchor, got.Format("2006-01-02"), c.want)
		}
	}
}

func newDraft(t *testing.T, st core.Store, f *coveragetest.Fixture, title string) *core.Test {
	t.Helper()
	te := &core.Test{Title: title, TechniqueID: f.Techniques["T1003"].ID, Platform: "windows", CreatedBy: &f.User.ID}
	if err := st.Update(ctx, func(tx core.Tx) error { return tx.CreateTest(ctx, te) }); err != nil {
		t.Fatal(err)
	}
	return te
}

func TestCampaignOrderProgressAndRecurrence(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := coveragetest.Seed(t, st)
		now := coveragetest.Day("2026-07-01")
		svc := campaign.New(st, func() time.Time { return now })
		lead := f.User
		a, b, c := newDraft(t, st, f, "recon"), newDraft(t, st, f, "dump"), newDraft(t, st, f, "exfil")
		name, weekly := "Weekly drill", core.RecurWeekly
		tests := []campaign.TestInput{{TestID: a.ID}, {TestID: b.ID, DependsOn: []string{a.ID}}, {TestID: c.ID, DependsOn: []string{b.ID}}}
		d, err := svc.Create(ctx, lead, campaign.Input{Name: &name, Recurrence: &weekly, Tests: &tests})
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != core.CampaignPlanned || d.NextRunAt == nil || !d.NextRunAt.Equal(coveragetest.Day("2026-07-08")) {
			t.Fatalf("created: %+v", d.Campaign)
		}
		if p := d.Progress; p.Total != 3 || p.Ready != 1 || p.Waiting != 2 || p.Done != 0 {
			t.Fatalf("progress: %+v", p)
		}
		// a → c closes the loop a → b → c → a (a waits for c): refused, naming the path.
		cyclic := []campaign.TestInput{{TestID: a.ID, DependsOn: []string{c.ID}}, {TestID: b.ID, DependsOn: []string{a.ID}}, {TestID: c.ID, DependsOn: []string{b.ID}}}
		_, err = svc.Update(ctx, lead, d.ID, campaign.Input{Tests: &cyclic})
		want := `dependency cycle: "recon" (` + a.ID + `) → "exfil" (` + c.ID + `) → "dump" (` + b.ID + `) → "recon" (` + a.ID + `)`
		if core.ErrorCode(err) != core.EINVALID || !strings.Contains(err.Error(), want) {
			t.Fatalf("cycle: %v\nwant %s", err, want)
		}
		if got, _ := svc.Get(ctx, d.ID); len(got.Tests) != 3 || len(got.Tests[0].DependsOn) != 0 {
			t.Fatalf("a refused change must leave the campaign as it was: %+v", got.Tests)
		}
		if _, err := svc.Create(ctx, &core.User{Role: core.RoleRedTech}, campaign.Input{Name: &name}); core.ErrorCode(err) != core.EFORBIDDEN {
			t.Fatalf("a red tech planned a campaign: %v", err)
		}

		// b waits for a: starting it is refused until a is validated.
		flow := testflow.New(st)
		red := &core.User{Username: "red", Role: core.RoleRedLead, PasswordHash: "x"}
		if err := st.Update(ctx, func(tx core.Tx) error { return tx.CreateUser(ctx, red) }); err != nil {
			t.Fatal(err)
		}
		if _, err := flow.Start(ctx, red, b.ID, 0); core.ErrorCode(err) != core.ECONFLICT || !strings.Contains(err.Error(), `"recon"`) {
			t.Fatalf("b started before a: %v", err)
		}
		at := now
		a.State, a.ValidatedAt = core.StateValidated, &at
		if err := st.Update(ctx, func(tx core.Tx) error { return tx.UpdateTest(ctx, a) }); err != nil {
			t.Fatal(err)
		}
		if _, err := flow.Start(ctx, red, b.ID, 0); err != nil {
			t.Fatalf("b after a: %v", err)
		}
		got, _ := svc.Get(ctx, d.ID)
		if p := got.Progress; p.Done != 1 || p.InProgress != 1 || p.Waiting != 1 || p.Ready != 0 || p.Percent != 100.0/3 {
			t.Fatalf("progress after a and b: %+v", p)
		}

		// Lifecycle.
		if _, err := svc.SetStatus(ctx, lead, d.ID, core.CampaignCompleted); core.ErrorCode(err) != core.ECONFLICT {
			t.Fatalf("planned → completed: %v", err)
		}
		act, err := svc.SetStatus(ctx, lead, d.ID, core.CampaignActive)
		if err != nil || act.StartDate == nil || !act.StartDate.Equal(now) {
			t.Fatalf("activate: %v %+v", err, act)
		}

		// Recurrence with a fake clock: nothing before the 8th; on the 20th one clone
		// (the missed 15th makes no second one) and the next run is the 22nd.
		now = coveragetest.Day("2026-07-07")
		if clones, err := svc.RunRecurring(ctx); err != nil || len(clones) != 0 {
			t.Fatalf("early run: %v %v", clones, err)
		}
		now = coveragetest.Day("2026-07-20")
		clones, err := svc.RunRecurring(ctx)
		if err != nil || len(clones) != 1 {
			t.Fatalf("due run: %v %v", clones, err)
		}
		cl, _ := svc.Get(ctx, clones[0].ID)
		if cl.ParentCampaignID == nil || *cl.ParentCampaignID != d.ID || cl.Status != core.CampaignPlanned || cl.Recurrence != core.RecurNone ||
			!cl.StartDate.Equal(coveragetest.Day("2026-07-08")) || len(cl.Tests) != 3 {
			t.Fatalf("clone: %+v", cl.Campaign)
		}
		for i, ct := range cl.Tests {
			if ct.State != core.StateDraft || ct.TestID == tests[i].TestID || ct.Title != []string{"recon", "dump", "exfil"}[i] {
				t.Fatalf("cloned test %d: %+v", i, ct)
			}
		}
		if cl.Tests[1].DependsOn[0] != cl.Tests[0].TestID || cl.Tests[2].DependsOn[0] != cl.Tests[1].TestID {
			t.Fatalf("dependencies not carried to the clone: %+v", cl.Tests)
		}
		orig, _ := svc.Get(ctx, d.ID)
		if !orig.NextRunAt.Equal(coveragetest.Day("2026-07-22")) {
			t.Fatalf("next run after the 20th: %v", orig.NextRunAt)
		}
		if clones, _ := svc.RunRecurring(ctx); len(clones) != 0 {
			t.Fatalf("the same day ran twice: %v", clones)
		}
		kids, total, _ := svc.List(ctx, core.CampaignFilter{ParentID: d.ID})
		if total != 1 || kids[0].ID != cl.ID {
			t.Fatalf("history by parent: %d", total)
		}
	})
}

func TestBuildFromActorAndProfile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := coveragetest.Seed(t, st)
		svc := campaign.New(st, nil)
		// G0001 uses T1059.001 (templates tpl-1, tpl-3, tpl-4 on Windows, tpl-2 on Linux)
		// and T1003 (no template).
		b, err := svc.FromActor(ctx, f.User, "g0001", campaign.BuildInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Tests) != 2 || b.Tests[0].Title != "tpl-2" || b.Tests[0].Platform != "linux" || b.Tests[1].Title != "tpl-1" ||
			b.Tests[1].Platform != "windows" || !slices.Equal(b.Untestable, []string{"T1003"}) || *b.ThreatActorID != f.Actors["G0001"].ID {
			t.Fatalf("built from G0001: %+v untestable %v", b.Tests, b.Untestable)
		}
		w, err := svc.FromActor(ctx, f.User, "G0001", campaign.BuildInput{Name: "Windows only", Platforms: []string{"Windows"}})
		if err != nil || len(w.Tests) != 1 || w.Name != "Windows only" {
			t.Fatalf("windows only: %v %+v", err, w)
		}
		p := &core.CampaignProfile{Source: "atomic", ExternalID: "adv-1", Kind: "adversary_profile", Name: "Thief",
			TemplateIDs: []string{"tpl-5", "tpl-1", "missing"}}
		if err := st.Update(ctx, func(tx core.Tx) error { return tx.UpsertCampaignProfile(ctx, p) }); err != nil {
			t.Fatal(err)
		}
		pb, err := svc.FromProfile(ctx, f.User, p.ID, campaign.BuildInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(pb.Tests) != 2 || pb.Tests[0].Title != "tpl-5" || pb.Tests[1].DependsOn[0] != pb.Tests[0].TestID ||
			!slices.Equal(pb.Untestable, []string{"missing"}) {
			t.Fatalf("from profile: %+v %v", pb.Tests, pb.Untestable)
		}
	})
}

// A page of the campaign list costs the same number of queries with 2 campaigns as with
// 12 (no query per campaign), and each campaign's progress is its own.
func TestListQueriesDoNotGrowWithThePage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := coveragetest.Seed(t, st)
		svc := campaign.New(st, nil)
		create := func(i int) *campaign.Detail {
			a, b := newDraft(t, st, f, fmt.Sprint("a", i)), newDraft(t, st, f, fmt.Sprint("b", i))
			tests := []campaign.TestInput{{TestID: a.ID}, {TestID: b.ID, DependsOn: []string{a.ID}}}
			if i%2 == 1 {
				tests = tests[:1]
			}
			name := fmt.Sprint("campaign ", i)
			d, err := svc.Create(ctx, f.User, campaign.Input{Name: &name, Tests: &tests})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		count := func() (int, []*campaign.Summary) {
			n := 0
			st.ObserveQueries(func(string, []any) { n++ })
			defer st.ObserveQueries(nil)
			page, _, err := svc.List(ctx, core.CampaignFilter{Page: core.Page{Limit: 50}})
			if err != nil {
				t.Fatal(err)
			}
			return n, page
		}
		for i := 0; i < 2; i++ {
			create(i)
		}
		few, _ := count()
		for i := 2; i < 12; i++ {
			create(i)
		}
		many, page := count()
		if len(page) != 12 || many != few {
			t.Fatalf("%d campaigns: %d queries; 2 campaigns: %d queries", len(page), many, few)
		}
		for _, s := range page {
			want := campaign.Progress{Total: 2, Ready: 1, Waiting: 1}
			if strings.HasSuffix(s.Name, "1") || strings.HasSuffix(s.Name, "3") || strings.HasSuffix(s.Name, "5") ||
				strings.HasSuffix(s.Name, "7") || strings.HasSuffix(s.Name, "9") {
				want = campaign.Progress{Total: 1, Ready: 1}
			}
			if s.Progress != want {
				t.Errorf("%s: progress %+v, want %+v", s.Name, s.Progress, want)
			}
		}
	})
}

// The campaign list counts progress from the test states campaign_tests keeps
// (triggers copy them, migration 0230); a campaign's page counts it from its tests. After
// every change of test states, by the store's UpdateTest and by a bare UPDATE that no
// store code sees, and after a campaign's tests are replaced, the next list shows for
// each campaign exactly the progress its page shows.
func TestListProgressFollowsEveryStateChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := coveragetest.Seed(t, st)
		svc := campaign.New(st, nil)
		rng := rand.New(rand.NewPCG(7, 11))
		var pool []*core.Test
		for i := 0; i < 24; i++ {
			pool = append(pool, newDraft(t, st, f, fmt.Sprint("t", i)))
		}
		states := []core.TestState{core.StateDraft, core.StateRedExecuting, core.StateBlueEvaluating, core.StateInReview,
			core.StateValidated, core.StateRejected}
		plan := func() *[]campaign.TestInput { return randomPlan(rng, pool, 2, 8, 3) }
		var ids []string
		for i := 0; i < 8; i++ {
			name := fmt.Sprint("c", i)
			d, err := svc.Create(ctx, f.User, campaign.Input{Name: &name, Tests: plan()})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, d.ID)
		}
		check := func(round string) {
			t.Helper()
			page, total, err := svc.List(ctx, core.CampaignFilter{Page: core.Page{Limit: 50}})
			if err != nil || total != len(ids) {
				t.Fatalf("%s: list: %v (%d campaigns)", round, err, total)
			}
			seen := map[core.TestState]bool{}
			for _, s := range page {
				d, err := svc.Get(ctx, s.ID)
				if err != nil {
					t.Fatal(err)
				}
				if s.Progress != d.Progress {
					t.Errorf("%s: %s lists progress %+v, its page %+v", round, s.Name, s.Progress, d.Progress)
				}
				for _, ct := range d.Tests {
					seen[ct.State] = true
				}
			}
			if len(seen) < 3 {
				t.Fatalf("%s: only states %v in the campaigns: the round tests too little", round, seen)
			}
		}
		for round := 0; round < 6; round++ {
			for _, te := range pool {
				if rng.IntN(2) == 0 {
					continue
				}
				s := states[rng.IntN(len(states))]
				if round%2 == 0 {
					if err := st.Update(ctx, func(tx core.Tx) error {
						cur, err := tx.TestByID(ctx, te.ID)
						if err != nil {
							return err
						}
						cur.State = s
						return tx.UpdateTest(ctx, cur)
					}); err != nil {
						t.Fatal(err)
					}
				} else if _, err := st.DB().Exec(st.DB().Rebind(`UPDATE tests SET state = ? WHERE id = ?`), s, te.ID); err != nil {
					t.Fatal(err)
				}
			}
			if round == 3 {
				if _, err := svc.Update(ctx, f.User, ids[0], campaign.Input{Tests: plan()}); err != nil {
					t.Fatal(err)
				}
			}
			check(fmt.Sprint("round ", round))
		}
	})
}

// randomPlan is a campaign over a random run of lo to hi-1 tests of pool; each test
// depends on fewer than maxDeps earlier ones of its campaign (no cycle).
func randomPlan(rng *rand.Rand, pool []*core.Test, lo, hi, maxDeps int) *[]campaign.TestInput {
	start := rng.IntN(len(pool) - hi + 2)
	n := lo + rng.IntN(hi-lo)
	var in []campaign.TestInput
	for i := 0; i < n; i++ {
		ti := campaign.TestInput{TestID: pool[start+i].ID}
		for k := 0; k < rng.IntN(maxDeps) && i > 0; k++ {
			if on := pool[start+rng.IntN(i)].ID; !slices.Contains(ti.DependsOn, on) {
				ti.DependsOn = append(ti.DependsOn, on)
			}
		}
		in = append(in, ti)
	}
	return &in
}

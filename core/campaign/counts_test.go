package campaign_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/campaign"
	"github.com/aegis-sec/aegis/core/coverage/coveragetest"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// keptCounts is campaign_progress as "campaign total done rejected in_progress ready
// waiting" lines, sorted; recounted is the same figure counted from scratch from the
// tests' own states (not the copies in campaign_tests) and the dependencies, the
// definition the kept progress and waiting flags must follow (a draft waits when one of
// its dependencies is not a validated test of its campaign).
func keptCounts(t *testing.T, st *store.Store) []string {
	t.Helper()
	return countLines(t, st, `SELECT campaign_id, total, done, rejected, in_progress AS inprogress, ready, waiting FROM campaign_progress`)
}

// countLines runs q, which selects a campaign id and its six counts, into sorted lines.
func countLines(t *testing.T, st *store.Store, q string) []string {
	t.Helper()
	var rows []struct {
		C                                 string `db:"campaign_id"`
		Total, Done, Rejected, InProgress int
		Ready, Waiting                    int
	}
	if err := st.DB().Select(&rows, q); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprint(r.C, " ", r.Total, " ", r.Done, " ", r.Rejected, " ", r.InProgress, " ", r.Ready, " ", r.Waiting))
	}
	slices.Sort(out)
	return out
}

func recounted(t *testing.T, st *store.Store) []string {
	t.Helper()
	return countLines(t, st, `SELECT campaign_id, COUNT(*) AS total,
		SUM(CASE WHEN state = 'validated' THEN 1 ELSE 0 END) AS done,
		SUM(CASE WHEN state = 'rejected' THEN 1 ELSE 0 END) AS rejected,
		SUM(CASE WHEN state NOT IN ('validated', 'rejected', 'draft') THEN 1 ELSE 0 END) AS inprogress,
		SUM(CASE WHEN state = 'draft' AND NOT waiting THEN 1 ELSE 0 END) AS ready,
		SUM(CASE WHEN waiting THEN 1 ELSE 0 END) AS waiting FROM (
		SELECT ct.campaign_id, x.state, (x.state = 'draft' AND EXISTS (
			SELECT 1 FROM campaign_test_dependencies d WHERE d.campaign_id = ct.campaign_id AND d.test_id = ct.test_id
			AND NOT EXISTS (SELECT 1 FROM campaign_tests v JOIN tests y ON y.id = v.test_id
				WHERE v.campaign_id = d.campaign_id AND v.test_id = d.depends_on_test_id AND y.state = 'validated'))) AS waiting
		FROM campaign_tests ct JOIN tests x ON x.id = ct.test_id) q
		GROUP BY campaign_id`)
}

// TestKeptProgressEqualsARecount makes every kind of write that moves a campaign's
// progress, through the services and as bare SQL (the triggers must follow both), and
// after each compares the progress kept on write with a recount, and each listed
// campaign's progress with its page's (counted from its tests).
func TestKeptProgressEqualsARecount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := coveragetest.Seed(t, st)
		svc := campaign.New(st, nil)
		rng := rand.New(rand.NewPCG(3, 5))
		var pool []*core.Test
		for i := 0; i < 20; i++ {
			pool = append(pool, newDraft(t, st, f, fmt.Sprint("t", i)))
		}
		states := []core.TestState{core.StateDraft, core.StateRedExecuting, core.StateInReview, core.StateValidated, core.StateRejected}
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := st.DB().Exec(st.DB().Rebind(q), args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		plan := func() *[]campaign.TestInput { return randomPlan(rng, pool, 3, 9, 4) }
		var ids []string
		steps := 0
		check := func(what string) {
			t.Helper()
			steps++
			kept, want := keptCounts(t, st), recounted(t, st)
			if !slices.Equal(kept, want) {
				t.Fatalf("after %s: kept counts\n%s\nrecount\n%s", what, strings.Join(kept, "\n"), strings.Join(want, "\n"))
			}
			page, _, err := svc.List(ctx, core.CampaignFilter{Page: core.Page{Limit: 100}})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range page {
				d, err := svc.Get(ctx, s.ID)
				if err != nil {
					t.Fatal(err)
				}
				if s.Progress != d.Progress {
					t.Fatalf("after %s: %s lists progress %+v, its page %+v", what, s.Name, s.Progress, d.Progress)
				}
			}
		}
		create := func() {
			name := fmt.Sprint("c", len(ids), "-", steps)
			d, err := svc.Create(ctx, f.User, campaign.Input{Name: &name, Tests: plan()})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, d.ID)
			check("create " + name)
		}
		for i := 0; i < 6; i++ {
			create()
		}
		if len(keptCounts(t, st)) == 0 {
			t.Fatal("no counts kept for six campaigns")
		}
		sawWaiting := false
		for round := 0; round < 40; round++ {
			te := pool[rng.IntN(len(pool))]
			c := ids[rng.IntN(len(ids))]
			switch op := rng.IntN(9); op {
			case 0: // a state change through the store
				if err := st.Update(ctx, func(tx core.Tx) error {
					cur, err := tx.TestByID(ctx, te.ID)
					if err != nil {
						return err
					}
					cur.State = states[rng.IntN(len(states))]
					return tx.UpdateTest(ctx, cur)
				}); err != nil {
					t.Fatal(err)
				}
				check("state change of " + te.Title)
			case 1, 2: // a bare state change, often to validated and back
				exec(`UPDATE tests SET state = ? WHERE id = ?`, states[rng.IntN(len(states))], te.ID)
				check("bare state change of " + te.Title)
			case 3: // a campaign edit replacing its tests and dependencies
				if _, err := svc.Update(ctx, f.User, c, campaign.Input{Tests: plan()}); err != nil {
					t.Fatal(err)
				}
				check("edit of campaign " + c)
			case 4: // a dependency added and removed by bare SQL
				var members []string
				if err := st.DB().Select(&members, st.DB().Rebind(`SELECT test_id FROM campaign_tests WHERE campaign_id = ? ORDER BY position`), c); err != nil {
					t.Fatal(err)
				}
				if len(members) < 2 {
					continue
				}
				// on a test outside the campaign too: never validated in it
				on := pool[rng.IntN(len(pool))].ID
				if rng.IntN(2) == 0 {
					on = members[0]
				}
				if on == members[len(members)-1] {
					continue
				}
				exec(`INSERT INTO campaign_test_dependencies (campaign_id, test_id, depends_on_test_id) VALUES (?,?,?) ON CONFLICT DO NOTHING`,
					c, members[len(members)-1], on)
				check("dependency added in " + c)
				exec(`DELETE FROM campaign_test_dependencies WHERE campaign_id = ? AND test_id = ? AND depends_on_test_id = ?`,
					c, members[len(members)-1], on)
				check("dependency removed in " + c)
			case 5: // a validated test others depend on leaves a campaign (bare): its draft dependents now wait
				var on []string
				if err := st.DB().Select(&on, st.DB().Rebind(`SELECT depends_on_test_id FROM campaign_test_dependencies
					WHERE campaign_id = ? ORDER BY depends_on_test_id`), c); err != nil {
					t.Fatal(err)
				}
				if len(on) == 0 {
					continue
				}
				exec(`UPDATE tests SET state = 'draft' WHERE id IN (SELECT test_id FROM campaign_test_dependencies WHERE campaign_id = ? AND depends_on_test_id = ?)`, c, on[0])
				exec(`UPDATE tests SET state = 'validated' WHERE id = ?`, on[0])
				check("dependency validated in " + c)
				exec(`DELETE FROM campaign_tests WHERE campaign_id = ? AND test_id = ?`, c, on[0])
				check("a test left campaign " + c)
				exec(`INSERT INTO campaign_tests (campaign_id, test_id, position) VALUES (?, ?, 99)`, c, on[0])
				check("a validated test back in campaign " + c)
			case 6: // a test deleted: its campaign rows and dependencies cascade
				if rng.IntN(3) != 0 {
					continue
				}
				exec(`DELETE FROM tests WHERE id = ?`, te.ID)
				pool = slices.DeleteFunc(pool, func(x *core.Test) bool { return x.ID == te.ID })
				pool = append(pool, newDraft(t, st, f, fmt.Sprint("t-new-", round)))
				check("delete of test " + te.Title)
			case 7: // a campaign deleted
				if err := svc.Delete(ctx, f.User, c); err != nil {
					t.Fatal(err)
				}
				ids = slices.DeleteFunc(ids, func(x string) bool { return x == c })
				check("delete of campaign " + c)
				create()
			case 8: // every test of a campaign validated, then back to draft
				exec(`UPDATE tests SET state = 'validated' WHERE id IN (SELECT test_id FROM campaign_tests WHERE campaign_id = ?)`, c)
				check("campaign validated " + c)
				exec(`UPDATE tests SET state = 'draft' WHERE id IN (SELECT test_id FROM campaign_tests WHERE campaign_id = ?)`, c)
				check("campaign back to draft " + c)
			}
			for _, line := range keptCounts(t, st) {
				sawWaiting = sawWaiting || !strings.HasSuffix(line, " 0")
			}
		}
		if !sawWaiting {
			t.Fatal("no draft ever waited: the rounds test too little")
		}
	})
}

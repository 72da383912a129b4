package store_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// The stored coverage status is derived in SQL (for the status filter); the rule itself
// is core.CoverageStatusOf. Random sets of tests — states, verdicts, equal and missing
// validation times — must get the same answer from both, on both dialects.
func TestCoverageSQLFollowsTheRule(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		rng := rand.New(rand.NewPCG(10, 42))
		states := []core.TestState{core.StateDraft, core.StateRedExecuting, core.StateInReview, core.StateRejected,
			core.StateValidated, core.StateValidated, core.StateValidated}
		verdict := func() *bool {
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
		base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
		seen := map[core.CoverageStatus]int{}
		for i := 0; i < 60; i++ {
			te := &core.Technique{ExternalID: fmt.Sprintf("T%04d", 2000+i), Name: "Technique", Known: true, Source: "attack"}
			mustUpdate(t, s, func(tx core.Tx) error { return tx.UpsertTechnique(ctx, te) })
			for n := rng.IntN(5); n > 0; n-- {
				x := newTest(t, s, te.ID)
				x.State, x.Prevented, x.Alerted, x.Logged = states[rng.IntN(len(states))], verdict(), verdict(), verdict()
				if x.State == core.StateValidated && rng.IntN(6) > 0 {
					// Few distinct times, so ties (broken by update time, then id) happen.
					at := base.Add(time.Duration(rng.IntN(3)) * time.Hour)
					x.ValidatedAt = &at
				}
				mustUpdate(t, s, func(tx core.Tx) error { return tx.UpdateTest(ctx, x) })
			}
			var stored *core.Technique
			var tests []*core.Test
			err := s.View(ctx, func(tx core.Tx) error {
				var err error
				if stored, err = tx.TechniqueByID(ctx, te.ID); err != nil {
					return err
				}
				tests, _, err = tx.ListTests(ctx, core.TestFilter{TechniqueID: te.ID, Page: core.Page{Limit: 100}})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			want := core.CoverageStatusOf(tests)
			seen[want]++
			if stored.CoverageStatus != want {
				var desc []string
				for _, x := range tests {
					desc = append(desc, fmt.Sprintf("%s %s validated_at=%v updated_at=%v p=%v a=%v l=%v", x.ID, x.State, x.ValidatedAt,
						x.UpdatedAt, x.Prevented, x.Alerted, x.Logged))
				}
				t.Fatalf("technique %s: SQL says %s, core.CoverageStatusOf says %s; tests:\n%v", te.ExternalID, stored.CoverageStatus, want, desc)
			}
		}
		// The random sets reached every status, or the comparison proved little.
		for _, st := range []core.CoverageStatus{core.StatusNotTested, core.StatusInProgress, core.StatusNotCovered, core.StatusPartial, core.StatusCovered} {
			if seen[st] == 0 {
				t.Errorf("no random case ended %s: %v", st, seen)
			}
		}
	})
}

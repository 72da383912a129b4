package store_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// TestScanMatchesReflection holds the hand-written reading of tests (ListTests,
// TestByID, RetestsOf) to what sqlx's reflection reads from the same rows: a test with
// every optional column empty and one with every column set, on both databases.
func TestScanMatchesReflection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		_, sub := seedTechniques(t, s)
		u := mkUser(t, s, "red", core.RoleRedTech, false)
		bare := newTest(t, s, sub.ID)
		at := time.Date(2026, 3, 4, 5, 6, 7, 891000000, time.UTC)
		yes, no := true, false
		full := &core.Test{Title: "full", Description: "every column", TechniqueID: sub.ID, Platform: "windows",
			Procedure: "p", Command: "whoami /all", Target: "host-1", ExecutedAt: &at, ExecutedBy: &u.ID,
			AttackOutcome: "succeeded", RedNotes: "red \"notes\"\nline two", Prevented: &no, PreventedAt: &at,
			Alerted: &yes, AlertedAt: &at, Logged: &yes, LoggedAt: &at, NotApplicable: true,
			ControlOutcomes: core.JSON(`[{"control":"edr","outcome":"alerted"}]`), BlueNotes: "blue ünïcode",
			ReviewRound: 2, RejectionReason: "because", ValidatedAt: &at, RemediationOwner: &u.ID, RemediationDue: &at,
			RemediationStatus: "open", RemediationNotes: "fix it", RemediationCompletedAt: &at, RetestOf: &bare.ID,
			RetestDepth: 1, AssignedRed: &u.ID, AssignedBlue: &u.ID, CreatedBy: &u.ID, State: core.StateValidated}
		mustUpdate(t, s, func(tx core.Tx) error { return tx.CreateTest(ctx, full) })

		var cols []string
		ty := reflect.TypeOf(core.Test{})
		for i := 0; i < ty.NumField(); i++ {
			cols = append(cols, ty.Field(i).Tag.Get("db"))
		}
		var want []*core.Test
		if err := s.DB().Select(&want, `SELECT `+strings.Join(cols, ", ")+` FROM tests ORDER BY created_at DESC, id DESC`); err != nil {
			t.Fatal(err)
		}
		if len(want) != 2 || want[0].ExecutedBy == nil || want[0].Prevented == nil || *want[0].Prevented || !want[0].NotApplicable {
			t.Fatalf("the reflection read is not the two tests written: %+v", want)
		}
		var list, retests []*core.Test
		got := map[string]*core.Test{}
		err := s.View(ctx, func(tx core.Tx) (err error) {
			if list, _, err = tx.ListTests(ctx, core.TestFilter{}); err != nil {
				return err
			}
			for _, w := range want {
				if got[w.ID], err = tx.TestByID(ctx, w.ID); err != nil {
					return err
				}
			}
			retests, err = tx.RetestsOf(ctx, bare.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(list, want) {
			t.Errorf("ListTests read\n%+v\n%+v\nsqlx read\n%+v\n%+v", *list[0], *list[1], *want[0], *want[1])
		}
		for _, w := range want {
			if !reflect.DeepEqual(got[w.ID], w) {
				t.Errorf("TestByID(%s) read\n%+v\nsqlx read\n%+v", w.ID, *got[w.ID], *w)
			}
		}
		if len(retests) != 1 || !reflect.DeepEqual(retests[0], want[0]) {
			t.Errorf("RetestsOf read %+v, want the full test", retests)
		}
		if err := s.View(ctx, func(tx core.Tx) error { _, err := tx.TestByID(ctx, core.NewID()); return err }); core.ErrorCode(err) != core.ENOTFOUND {
			t.Errorf("an unknown test: %v, want not found", err)
		}
	})
}

package testflow_test

import (
	"encoding/json"
	"sync"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
	"github.com/aegis-sec/aegis/core/testflow"
)

// together runs every fn at the same instant (as near as goroutines allow) and returns
// their errors in order.
func together(fns ...func() error) []error {
	errs := make([]error, len(fns))
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i, fn := range fns {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			errs[i] = fn()
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errs
}

// rounds is how often each race is repeated: races are probabilistic, so each test
// tries several times and checks the invariants after every try.
const rounds = 12

// transitionsTo counts the audit entries of a test whose transition ended in state.
func transitionsTo(t *testing.T, st *store.Store, testID string, state core.TestState) int {
	t.Helper()
	n := 0
	st.View(ctx, func(tx core.Tx) error {
		list, _, err := tx.ListAudit(ctx, core.AuditFilter{EntityType: "test", EntityID: testID, Page: core.Page{Limit: 500}})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range list {
			var d struct {
				From string `json:"from"`
				To   string `json:"to"`
			}
			json.Unmarshal(a.Details, &d)
			if d.To == string(state) && d.From != d.To {
				n++
			}
		}
		return nil
	})
	return n
}

func votesOf(t *testing.T, st *store.Store, te *core.Test) []*core.Vote {
	t.Helper()
	var vs []*core.Vote
	st.View(ctx, func(tx core.Tx) error {
		var err error
		vs, err = tx.VotesOf(ctx, te.ID, te.ReviewRound)
		if err != nil {
			t.Fatal(err)
		}
		return nil
	})
	return vs
}

// checkConsistent is the invariant every test must hold afterwards, whatever raced:
// its state is what the votes of its current round say.
func checkConsistent(t *testing.T, st *store.Store, te *core.Test) {
	t.Helper()
	if te.State != core.StateInReview && te.State != core.StateValidated && te.State != core.StateRejected {
		return
	}
	if got := testflow.Tally(votesOf(t, st, te)); got != te.State {
		t.Fatalf("test %s is %s but its round-%d votes say %s", te.ID, te.State, te.ReviewRound, got)
	}
	if te.State == core.StateValidated && te.ValidatedAt == nil {
		t.Fatalf("validated test %s without validated_at", te.ID)
	}
}

func TestConcurrentApprovals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		for i := 0; i < rounds; i++ {
			te := e.toInReview(t)
			errs := together(
				func() error {
					_, err := e.svc.Vote(ctx, e.u[core.RoleRedLead], te.ID, testflow.VoteInput{Decision: core.VoteApprove})
					return err
				},
				func() error {
					_, err := e.svc.Vote(ctx, e.u[core.RoleBlueLead], te.ID, testflow.VoteInput{Decision: core.VoteApprove})
					return err
				},
			)
			for _, err := range errs {
				if err != nil {
					t.Fatalf("round %d: a simultaneous approval was refused: %v", i, err)
				}
			}
			got := e.test(t, te.ID)
			if got.State != core.StateValidated {
				t.Fatalf("round %d: both approved, test is %s", i, got.State)
			}
			if got.Version != te.Version+2 {
				t.Fatalf("round %d: version %d after two votes on version %d", i, got.Version, te.Version)
			}
			if n := len(votesOf(t, st, got)); n != 2 {
				t.Fatalf("round %d: %d votes stored", i, n)
			}
			if n := transitionsTo(t, st, te.ID, core.StateValidated); n != 1 {
				t.Fatalf("round %d: %d transactions validated the test", i, n)
			}
			checkConsistent(t, st, got)
		}
	})
}

func TestConcurrentApproveAndReject(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		for i := 0; i < rounds; i++ {
			te := e.toInReview(t)
			errs := together(
				func() error {
					_, err := e.svc.Vote(ctx, e.u[core.RoleRedLead], te.ID, testflow.VoteInput{Decision: core.VoteApprove})
					return err
				},
				func() error {
					_, err := e.svc.Vote(ctx, e.u[core.RoleBlueLead], te.ID, testflow.VoteInput{Decision: core.VoteReject, Reason: "missing logs"})
					return err
				},
			)
			if errs[1] != nil {
				t.Fatalf("round %d: the rejection was refused: %v", i, errs[1])
			}
			// The approval either counted (it came first) or was told the test is rejected.
			if errs[0] != nil {
				wantCode(t, errs[0], core.ECONFLICT, "is rejected")
			}
			got := e.test(t, te.ID)
			if got.State != core.StateRejected {
				t.Fatalf("round %d: test is %s", i, got.State)
			}
			want := 2
			if errs[0] != nil {
				want = 1
			}
			if n := len(votesOf(t, st, got)); n != want {
				t.Fatalf("round %d: %d votes stored, want %d (approval error %v)", i, n, want, errs[0])
			}
			if n := transitionsTo(t, st, te.ID, core.StateRejected); n != 1 {
				t.Fatalf("round %d: %d rejections recorded", i, n)
			}
			checkConsistent(t, st, got)
		}
	})
}

func TestConcurrentVotesForOneRole(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		for i := 0; i < rounds; i++ {
			te := e.toInReview(t)
			errs := together(
				func() error {
					_, err := e.svc.Vote(ctx, e.u[core.RoleRedLead], te.ID, testflow.VoteInput{Decision: core.VoteApprove})
					return err
				},
				func() error {
					_, err := e.svc.Vote(ctx, e.red2, te.ID, testflow.VoteInput{Decision: core.VoteReject, Reason: "I disagree"})
					return err
				},
			)
			failed := 0
			for _, err := range errs {
				if err != nil {
					failed++
					wantCode(t, err, core.ECONFLICT)
				}
			}
			if failed != 1 {
				t.Fatalf("round %d: two red leads voted at once, %d failed: %v", i, failed, errs)
			}
			got := e.test(t, te.ID)
			votes := votesOf(t, st, got)
			if len(votes) != 1 || votes[0].LeadRole != core.RoleRedLead {
				t.Fatalf("round %d: %d votes for the red lead role", i, len(votes))
			}
			checkConsistent(t, st, got)
		}
	})
}

func TestConcurrentUpdatesOneWins(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		te := e.create(t)
		titles := []string{"a", "b", "c", "d", "e", "f"}
		var fns []func() error
		for _, title := range titles {
			fns = append(fns, func() error {
				_, err := e.svc.Update(ctx, e.u[core.RoleRedTech], te.ID, te.Version, testflow.Patch{Title: testflow.Some(title)})
				return err
			})
		}
		errs := together(fns...)
		winner := ""
		for i, err := range errs {
			if err == nil {
				if winner != "" {
					t.Fatalf("two writers of version %d both won (%s and %s)", te.Version, winner, titles[i])
				}
				winner = titles[i]
				continue
			}
			wantCode(t, err, core.ECONFLICT, "version")
			var ce *core.Error
			if !asError(err, &ce) || ce.Detail["current_version"] != te.Version+1 {
				t.Fatalf("conflict without the current version: %#v", err)
			}
		}
		got := e.test(t, te.ID)
		if winner == "" || got.Title != winner || got.Version != te.Version+1 {
			t.Fatalf("after the race: title %q (winner %q), version %d", got.Title, winner, got.Version)
		}
	})
}

// TestVotesRacingAnUpdate fires both approvals and an admin edit of the same test at
// once: the edit may win or lose, but both votes must count.
func TestVotesRacingAnUpdate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		for i := 0; i < rounds; i++ {
			te := e.toInReview(t)
			errs := together(
				func() error {
					_, err := e.svc.Vote(ctx, e.u[core.RoleRedLead], te.ID, testflow.VoteInput{Decision: core.VoteApprove})
					return err
				},
				func() error {
					_, err := e.svc.Update(ctx, e.u[core.RoleAdmin], te.ID, te.Version, testflow.Patch{BlueNotes: testflow.Some("admin note")})
					return err
				},
				func() error {
					_, err := e.svc.Vote(ctx, e.u[core.RoleBlueLead], te.ID, testflow.VoteInput{Decision: core.VoteApprove})
					return err
				},
			)
			if errs[0] != nil || errs[2] != nil {
				t.Fatalf("round %d: votes refused: %v / %v", i, errs[0], errs[2])
			}
			if errs[1] != nil {
				wantCode(t, errs[1], core.ECONFLICT, "version")
			}
			got := e.test(t, te.ID)
			wantVersion := te.Version + 2
			if errs[1] == nil {
				wantVersion++
				if got.BlueNotes != "admin note" {
					t.Fatalf("round %d: accepted edit lost", i)
				}
			}
			if got.State != core.StateValidated || got.Version != wantVersion {
				t.Fatalf("round %d: %s v%d, want validated v%d", i, got.State, got.Version, wantVersion)
			}
			checkConsistent(t, st, got)
		}
	})
}

func TestConcurrentRemediationCompletionMakesOneRetest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		for i := 0; i < rounds/2; i++ {
			te := e.validate(t)
			te = try(e.svc.UpdateRemediation(ctx, e.u[core.RoleBlueLead], te.ID, te.Version, testflow.RemediationPatch{Notes: testflow.Some("fix")})).must(t).Test
			errs := together(
				func() error {
					_, err := e.svc.CompleteRemediation(ctx, e.u[core.RoleBlueLead], te.ID, 0, "done")
					return err
				},
				func() error {
					_, err := e.svc.CompleteRemediation(ctx, e.u[core.RoleAdmin], te.ID, 0, "done too")
					return err
				},
			)
			ok := 0
			for _, err := range errs {
				if err == nil {
					ok++
				} else {
					wantCode(t, err, core.ECONFLICT)
				}
			}
			if ok != 1 {
				t.Fatalf("round %d: %d completions succeeded: %v", i, ok, errs)
			}
			st.View(ctx, func(tx core.Tx) error {
				rs, err := tx.RetestsOf(ctx, te.ID)
				if err != nil || len(rs) != 1 {
					t.Fatalf("round %d: %d retests (%v)", i, len(rs), err)
				}
				return nil
			})
		}
	})
}

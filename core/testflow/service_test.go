package testflow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
	"github.com/aegis-sec/aegis/core/testflow"
)

var ctx = context.Background()

// env is a migrated store with one user per role, a second red lead and blue lead, a
// technique and a template.
type env struct {
	st        *store.Store
	svc       *testflow.Service
	u         map[core.Role]*core.User
	red2      *core.User // a second red lead
	blue2     *core.User // a second blue lead
	technique *core.Technique
	template  *core.TestTemplate
}

func newEnv(t *testing.T, st *store.Store) *env {
	t.Helper()
	e := &env{st: st, svc: testflow.New(st), u: map[core.Role]*core.User{}}
	err := st.Update(ctx, func(tx core.Tx) error {
		for _, r := range core.Roles {
			u := &core.User{Username: string(r), Role: r, PasswordHash: "x"}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			e.u[r] = u
		}
		e.red2 = &core.User{Username: "red_lead_2", Role: core.RoleRedLead, PasswordHash: "x"}
		e.blue2 = &core.User{Username: "blue_lead_2", Role: core.RoleBlueLead, PasswordHash: "x"}
		for _, u := range []*core.User{e.red2, e.blue2} {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		e.technique = &core.Technique{ExternalID: "T1059", Name: "Command and Scripting Interpreter", Known: true}
		if err := tx.UpsertTechnique(ctx, e.technique); err != nil {
			return err
		}
		if err := tx.UpsertTechnique(ctx, &core.Technique{ExternalID: "T1003", Name: "OS Credential Dumping", Known: true}); err != nil {
			return err
		}
		e.template = &core.TestTemplate{Source: "atomic", ExternalID: "atomic-1", TemplateType: "atomic", Name: "Run whoami",
			Description: "Discovers the user.", ManualSteps: "Open a shell.", Platforms: core.Strings{"windows", "linux"},
			Command: "whoami /all", TechniqueIDs: []string{"T1059"}, Active: true}
		return tx.UpsertTestTemplate(ctx, e.template)
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) test(t *testing.T, id string) *core.Test {
	t.Helper()
	var te *core.Test
	if err := e.st.View(ctx, func(tx core.Tx) error {
		var err error
		te, err = tx.TestByID(ctx, id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return te
}

// result lets a test unwrap (value, error) in one expression: try(f()).must(t).
type result[T any] struct {
	v   T
	err error
}

func try[T any](v T, err error) result[T] { return result[T]{v, err} }

func (r result[T]) must(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

func wantCode(t *testing.T, err error, code string, contains ...string) {
	t.Helper()
	if core.ErrorCode(err) != code {
		t.Fatalf("got %v (code %q), want %s", err, core.ErrorCode(err), code)
	}
	for _, c := range contains {
		if !strings.Contains(core.ErrorMessage(err), c) {
			t.Fatalf("message %q does not contain %q", core.ErrorMessage(err), c)
		}
	}
}

// create makes a free-form draft owned by the red tech.
func (e *env) create(t *testing.T) *core.Test {
	t.Helper()
	return try(e.svc.Create(ctx, e.u[core.RoleRedTech], testflow.NewTest{Title: "Whoami", TechniqueID: "T1059"})).must(t).Test
}

// toInReview walks a fresh test to in_review through the service.
func (e *env) toInReview(t *testing.T) *core.Test {
	t.Helper()
	te := e.create(t)
	return e.advance(t, te, core.StateInReview)
}

// advance walks te forward until it reaches state (draft → … → in_review).
func (e *env) advance(t *testing.T, te *core.Test, state core.TestState) *core.Test {
	t.Helper()
	red, blue := e.u[core.RoleRedTech], e.u[core.RoleBlueTech]
	now := time.Now().Add(-time.Minute)
	yes, no := true, false
	for te.State != state {
		switch te.State {
		case core.StateDraft, core.StateRejected:
			if te.State == core.StateRejected {
				te = try(e.svc.Reopen(ctx, red, te.ID, te.Version)).must(t).Test
				continue
			}
			te = try(e.svc.Start(ctx, red, te.ID, te.Version)).must(t).Test
		case core.StateRedExecuting:
			te = try(e.svc.Update(ctx, red, te.ID, te.Version, testflow.Patch{
				Command: testflow.Some("whoami"), ExecutedAt: testflow.Some(now), AttackOutcome: testflow.Some("succeeded")})).must(t).Test
			te = try(e.svc.HandToBlue(ctx, red, te.ID, te.Version)).must(t).Test
		case core.StateBlueEvaluating:
			te = try(e.svc.Update(ctx, blue, te.ID, te.Version, testflow.Patch{
				Prevented: testflow.Some(no), Alerted: testflow.Some(yes), Logged: testflow.Some(yes)})).must(t).Test
			te = try(e.svc.Submit(ctx, blue, te.ID, te.Version)).must(t).Test
		default:
			t.Fatalf("cannot advance from %s to %s", te.State, state)
		}
	}
	return te
}

func (e *env) validate(t *testing.T) *core.Test {
	t.Helper()
	te := e.toInReview(t)
	try(e.svc.Vote(ctx, e.u[core.RoleRedLead], te.ID, testflow.VoteInput{Decision: core.VoteApprove})).must(t)
	res := try(e.svc.Vote(ctx, e.u[core.RoleBlueLead], te.ID, testflow.VoteInput{Decision: core.VoteApprove})).must(t)
	if res.Test.State != core.StateValidated {
		t.Fatalf("not validated: %s", res.Test.State)
	}
	return res.Test
}

func auditActions(t *testing.T, st *store.Store, testID string) []string {
	t.Helper()
	var out []string
	st.View(ctx, func(tx core.Tx) error {
		list, _, err := tx.ListAudit(ctx, core.AuditFilter{EntityType: "test", EntityID: testID, Page: core.Page{Limit: 500}})
		if err != nil {
			t.Fatal(err)
		}
		for i := len(list) - 1; i >= 0; i-- {
			out = append(out, list[i].Action)
		}
		return nil
	})
	return out
}

func notificationsOf(t *testing.T, st *store.Store, u *core.User) []*core.Notification {
	t.Helper()
	var list []*core.Notification
	st.View(ctx, func(tx core.Tx) error {
		var err error
		list, _, err = tx.ListNotifications(ctx, core.NotificationFilter{UserID: u.ID, Page: core.Page{Limit: 500}})
		if err != nil {
			t.Fatal(err)
		}
		return nil
	})
	return list
}

func hasNotification(list []*core.Notification, kind, testID string) bool {
	for _, n := range list {
		if n.Kind == kind && n.EntityID == testID {
			return true
		}
	}
	return false
}

func TestLifecycleHappyPath(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		redTech, blueTech := e.u[core.RoleRedTech], e.u[core.RoleBlueTech]

		te := e.create(t)
		if te.State != core.StateDraft || te.Version != 1 || te.CreatedBy == nil || *te.CreatedBy != redTech.ID || te.TechniqueID != e.technique.ID {
			t.Fatalf("created: %+v", te)
		}
		te = try(e.svc.Start(ctx, redTech, te.ID, te.Version)).must(t).Test
		if te.State != core.StateRedExecuting || te.Version != 2 {
			t.Fatalf("started: %s v%d", te.State, te.Version)
		}
		// The guard names what is missing, and nothing changes.
		_, err := e.svc.HandToBlue(ctx, redTech, te.ID, te.Version)
		wantCode(t, err, core.ECONFLICT, "procedure or command", "executed_at", "attack_outcome")
		if got := e.test(t, te.ID); got.State != core.StateRedExecuting || got.Version != 2 {
			t.Fatalf("refused hand-off changed the test: %s v%d", got.State, got.Version)
		}
		// Blue cannot write red fields, nor blue fields before it is their turn.
		_, err = e.svc.Update(ctx, blueTech, te.ID, te.Version, testflow.Patch{Command: testflow.Some("x")})
		wantCode(t, err, core.EFORBIDDEN)
		_, err = e.svc.Update(ctx, blueTech, te.ID, te.Version, testflow.Patch{Prevented: testflow.Some(true)})
		wantCode(t, err, core.ECONFLICT, "red_executing")

		te = e.advance(t, te, core.StateBlueEvaluating)
		if te.ExecutedBy == nil || *te.ExecutedBy != redTech.ID {
			t.Fatalf("executed_by not defaulted to who handed off: %v", te.ExecutedBy)
		}
		if !hasNotification(notificationsOf(t, st, blueTech), "test.blue_evaluating", te.ID) ||
			!hasNotification(notificationsOf(t, st, e.u[core.RoleBlueLead]), "test.blue_evaluating", te.ID) {
			t.Fatal("blue team not told the test waits for them")
		}
		if hasNotification(notificationsOf(t, st, redTech), "test.blue_evaluating", te.ID) {
			t.Fatal("red tech notified of blue's turn")
		}
		// Red fields are frozen once blue evaluates.
		_, err = e.svc.Update(ctx, redTech, te.ID, te.Version, testflow.Patch{Command: testflow.Some("id")})
		wantCode(t, err, core.ECONFLICT, "blue_evaluating")
		_, err = e.svc.Submit(ctx, blueTech, te.ID, te.Version)
		wantCode(t, err, core.ECONFLICT, "prevented", "alerted", "logged")

		te = e.advance(t, te, core.StateInReview)
		if te.ReviewRound != 1 {
			t.Fatalf("first review round is %d", te.ReviewRound)
		}
		for _, lead := range []*core.User{e.u[core.RoleRedLead], e.u[core.RoleBlueLead], e.red2} {
			if !hasNotification(notificationsOf(t, st, lead), "test.in_review", te.ID) {
				t.Fatalf("%s not told to vote", lead.Username)
			}
		}
		r1 := try(e.svc.Vote(ctx, e.u[core.RoleRedLead], te.ID, testflow.VoteInput{Decision: core.VoteApprove})).must(t)
		if r1.Test.State != core.StateInReview || len(r1.Votes) != 1 {
			t.Fatalf("one approval: %s, %d votes", r1.Test.State, len(r1.Votes))
		}
		r2 := try(e.svc.Vote(ctx, e.u[core.RoleBlueLead], te.ID, testflow.VoteInput{Decision: core.VoteApprove, Round: 1})).must(t)
		if r2.Test.State != core.StateValidated || r2.Test.ValidatedAt == nil || len(r2.Votes) != 2 {
			t.Fatalf("two approvals: %s %v %d", r2.Test.State, r2.Test.ValidatedAt, len(r2.Votes))
		}
		want := "test.create test.start test.update test.hand_to_blue test.update test.submit test.approve test.approve"
		if got := strings.Join(auditActions(t, st, te.ID), " "); got != want {
			t.Fatalf("audit trail:\n got %s\nwant %s", got, want)
		}
		if !hasNotification(notificationsOf(t, st, redTech), "test.validated", te.ID) {
			t.Fatal("owner not told the test is validated")
		}
		st.View(ctx, func(tx core.Tx) error {
			v, err := tx.VerifyAudit(ctx)
			if err != nil || !v.OK {
				t.Errorf("audit chain after a session: %+v %v", v, err)
			}
			return nil
		})
	})
}

func TestCreateFromTemplate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		tech := e.u[core.RoleRedTech]
		te := try(e.svc.Create(ctx, tech, testflow.NewTest{TemplateID: &e.template.ID})).must(t)
		if te.TemplateID == nil || *te.TemplateID != e.template.ID || te.Title != "Run whoami" || te.Command != "whoami /all" ||
			te.Platform != "windows" || te.TechniqueID != e.technique.ID || !strings.Contains(te.Procedure, "Open a shell.") {
			t.Fatalf("template not copied: %+v", te)
		}
		// The request's own values win over the template's.
		te = try(e.svc.Create(ctx, tech, testflow.NewTest{TemplateID: &e.template.ID, Title: "Mine", Platform: "linux", TechniqueID: "T1003"})).must(t)
		if te.Title != "Mine" || te.Platform != "linux" || te.Command != "whoami /all" {
			t.Fatalf("overrides: %+v", te)
		}
		_, err := e.svc.Create(ctx, tech, testflow.NewTest{Title: "x", TechniqueID: "T9999"})
		wantCode(t, err, core.EINVALID, "T9999")
		_, err = e.svc.Create(ctx, tech, testflow.NewTest{Title: "x"})
		wantCode(t, err, core.EINVALID)
		_, err = e.svc.Create(ctx, e.u[core.RoleBlueTech], testflow.NewTest{Title: "x", TechniqueID: "T1059"})
		wantCode(t, err, core.EFORBIDDEN)
		_, err = e.svc.Create(ctx, tech, testflow.NewTest{Title: "x", TechniqueID: "T1059", AssignedRed: ptr("not-an-id")})
		wantCode(t, err, core.EINVALID)
		// The red operator must be on the red side.
		_, err = e.svc.Create(ctx, tech, testflow.NewTest{Title: "x", TechniqueID: "T1059", AssignedRed: &e.u[core.RoleBlueTech].ID})
		wantCode(t, err, core.EINVALID, "blue_tech")
		te = try(e.svc.Create(ctx, tech, testflow.NewTest{Title: "x", TechniqueID: "T1059", AssignedRed: &e.u[core.RoleRedLead].ID,
			AssignedBlue: &e.u[core.RoleBlueTech].ID})).must(t)
		if te.AssignedBlue == nil || *te.AssignedBlue != e.u[core.RoleBlueTech].ID {
			t.Fatalf("assignment: %+v", te)
		}
		missing := core.NewID()
		_, err = e.svc.Create(ctx, tech, testflow.NewTest{Title: "x", TechniqueID: "T1059", TemplateID: &missing})
		wantCode(t, err, core.EINVALID)
		// A retired template cannot seed new tests.
		st.Update(ctx, func(tx core.Tx) error {
			_, err := tx.SetTestTemplatesActive(ctx, []string{e.template.ID}, false)
			return err
		})
		_, err = e.svc.Create(ctx, tech, testflow.NewTest{TemplateID: &e.template.ID})
		wantCode(t, err, core.EINVALID, "inactive")
	})
}

func ptr[T any](v T) *T { return &v }

// TestIllegalTransitionsThroughTheStore drives a real test into every state and tries
// every action that the state does not allow, with a role that could take it elsewhere.
func TestIllegalTransitionsThroughTheStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.u[core.RoleAdmin]
		byState := map[core.TestState]*core.Test{}
		for _, s := range []core.TestState{core.StateDraft, core.StateRedExecuting, core.StateBlueEvaluating, core.StateInReview} {
			byState[s] = e.advance(t, e.create(t), s)
		}
		byState[core.StateValidated] = e.validate(t)
		rej := e.toInReview(t)
		try(e.svc.Vote(ctx, e.u[core.RoleBlueLead], rej.ID, testflow.VoteInput{Decision: core.VoteReject, Reason: "no telemetry"})).must(t)
		byState[core.StateRejected] = e.test(t, rej.ID)

		do := map[testflow.Action]func(te *core.Test) error{
			testflow.ActionStart:      func(te *core.Test) error { _, err := e.svc.Start(ctx, admin, te.ID, 0); return err },
			testflow.ActionHandToBlue: func(te *core.Test) error { _, err := e.svc.HandToBlue(ctx, admin, te.ID, 0); return err },
			testflow.ActionSubmit:     func(te *core.Test) error { _, err := e.svc.Submit(ctx, admin, te.ID, 0); return err },
			testflow.ActionApprove: func(te *core.Test) error {
				_, err := e.svc.Vote(ctx, admin, te.ID, testflow.VoteInput{Decision: core.VoteApprove, As: core.RoleRedLead})
				return err
			},
			testflow.ActionReject: func(te *core.Test) error {
				_, err := e.svc.Vote(ctx, admin, te.ID, testflow.VoteInput{Decision: core.VoteReject, As: core.RoleRedLead, Reason: "r"})
				return err
			},
			testflow.ActionReopen: func(te *core.Test) error { _, err := e.svc.Reopen(ctx, admin, te.ID, 0); return err },
			testflow.ActionCompleteRemediation: func(te *core.Test) error {
				_, err := e.svc.CompleteRemediation(ctx, admin, te.ID, 0, "")
				return err
			},
		}
		n := 0
		for state, te := range byState {
			if te.State != state {
				t.Fatalf("setup: test is %s, want %s", te.State, state)
			}
			for _, action := range testflow.Actions {
				legal := false
				for _, tr := range testflow.Table {
					legal = legal || (tr.From == state && tr.Action == action)
				}
				if legal {
					continue
				}
				before := e.test(t, te.ID)
				err := do[action](te)
				wantCode(t, err, core.ECONFLICT, "is "+string(state))
				if after := e.test(t, te.ID); after.Version != before.Version || after.State != before.State {
					t.Fatalf("refused %s changed the test: %s v%d → %s v%d", action, before.State, before.Version, after.State, after.Version)
				}
				n++
			}
		}
		if n != 6*len(testflow.Actions)-len(testflow.Table) {
			t.Fatalf("tried %d illegal transitions", n)
		}
	})
}

func TestStaleVersion(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		tech := e.u[core.RoleRedTech]
		te := e.create(t)
		try(e.svc.Update(ctx, tech, te.ID, 1, testflow.Patch{Title: testflow.Some("second")})).must(t)
		_, err := e.svc.Update(ctx, tech, te.ID, 1, testflow.Patch{Title: testflow.Some("lost update")})
		wantCode(t, err, core.ECONFLICT, "version 2")
		var ce *core.Error
		if !asError(err, &ce) || ce.Detail["current_version"] != 2 {
			t.Fatalf("conflict does not carry the current version: %#v", err)
		}
		if got := e.test(t, te.ID); got.Title != "second" {
			t.Fatalf("stale write landed: %q", got.Title)
		}
		_, err = e.svc.Start(ctx, tech, te.ID, 1)
		wantCode(t, err, core.ECONFLICT, "version 2")
		_, err = e.svc.Update(ctx, tech, te.ID, 0, testflow.Patch{Title: testflow.Some("no version")})
		wantCode(t, err, core.EINVALID)
		_, err = e.svc.Update(ctx, tech, core.NewID(), 1, testflow.Patch{Title: testflow.Some("x")})
		wantCode(t, err, core.ENOTFOUND)
		_, err = e.svc.Start(ctx, tech, "nope", 0)
		wantCode(t, err, core.ENOTFOUND)
	})
}

func asError(err error, target **core.Error) bool {
	e, ok := err.(*core.Error)
	if ok {
		*target = e
	}
	return ok
}

func TestVoteOrdersAndRounds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		red, blue := e.u[core.RoleRedLead], e.u[core.RoleBlueLead]
		approve := testflow.VoteInput{Decision: core.VoteApprove}

		for _, order := range [][]*core.User{{red, blue}, {blue, red}} {
			te := e.toInReview(t)
			first := try(e.svc.Vote(ctx, order[0], te.ID, approve)).must(t)
			if first.Test.State != core.StateInReview {
				t.Fatalf("%s first: %s", order[0].Role, first.Test.State)
			}
			// The same lead role cannot vote twice, even as another person.
			other := e.red2
			if order[0].Role == core.RoleBlueLead {
				other = e.blue2
			}
			_, err := e.svc.Vote(ctx, other, te.ID, approve)
			wantCode(t, err, core.ECONFLICT, "already voted")
			second := try(e.svc.Vote(ctx, order[1], te.ID, approve)).must(t)
			if second.Test.State != core.StateValidated {
				t.Fatalf("%s then %s: %s", order[0].Role, order[1].Role, second.Test.State)
			}
		}

		// Rejection: reason required, the owner is told, votes stay with their round.
		te := e.toInReview(t)
		try(e.svc.Vote(ctx, red, te.ID, approve)).must(t)
		_, err := e.svc.Vote(ctx, blue, te.ID, testflow.VoteInput{Decision: core.VoteReject})
		wantCode(t, err, core.EINVALID, "reason")
		res := try(e.svc.Vote(ctx, blue, te.ID, testflow.VoteInput{Decision: core.VoteReject, Reason: "no EDR telemetry attached"})).must(t)
		if res.Test.State != core.StateRejected || res.Test.RejectionReason != "no EDR telemetry attached" {
			t.Fatalf("rejected: %s %q", res.Test.State, res.Test.RejectionReason)
		}
		if !hasNotification(notificationsOf(t, st, e.u[core.RoleRedTech]), "test.rejected", te.ID) {
			t.Fatal("owner not told of the rejection")
		}
		_, err = e.svc.Vote(ctx, e.red2, te.ID, approve)
		wantCode(t, err, core.ECONFLICT, "is rejected")

		// Round 2: the old votes no longer count; a vote aimed at round 1 is refused.
		te = e.advance(t, e.test(t, te.ID), core.StateInReview)
		if te.ReviewRound != 2 || te.RejectionReason != "" {
			t.Fatalf("resubmitted: round %d, reason %q", te.ReviewRound, te.RejectionReason)
		}
		_, err = e.svc.Vote(ctx, red, te.ID, testflow.VoteInput{Decision: core.VoteApprove, Round: 1})
		wantCode(t, err, core.ECONFLICT, "round 2")
		r := try(e.svc.Vote(ctx, red, te.ID, approve)).must(t)
		if r.Test.State != core.StateInReview || len(r.Votes) != 1 {
			t.Fatalf("round 2 first vote: %s with %d votes (round 1 leaked in?)", r.Test.State, len(r.Votes))
		}
		r = try(e.svc.Vote(ctx, blue, te.ID, approve)).must(t)
		if r.Test.State != core.StateValidated {
			t.Fatalf("round 2: %s", r.Test.State)
		}
		st.View(ctx, func(tx core.Tx) error {
			all, _ := tx.VotesOf(ctx, te.ID, 0)
			if len(all) != 4 {
				t.Errorf("votes over both rounds: %d, want 4", len(all))
			}
			return nil
		})
	})
}

func TestAdminVotes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		admin := e.u[core.RoleAdmin]
		te := e.toInReview(t)
		_, err := e.svc.Vote(ctx, admin, te.ID, testflow.VoteInput{Decision: core.VoteApprove})
		wantCode(t, err, core.EINVALID, "red_lead or blue_lead")
		try(e.svc.Vote(ctx, admin, te.ID, testflow.VoteInput{Decision: core.VoteApprove, As: core.RoleRedLead})).must(t)
		// One person cannot be both halves of dual validation.
		_, err = e.svc.Vote(ctx, admin, te.ID, testflow.VoteInput{Decision: core.VoteApprove, As: core.RoleBlueLead})
		wantCode(t, err, core.ECONFLICT, "other lead")
		_, err = e.svc.Vote(ctx, e.u[core.RoleRedTech], te.ID, testflow.VoteInput{Decision: core.VoteApprove})
		wantCode(t, err, core.EFORBIDDEN)
		r := try(e.svc.Vote(ctx, e.u[core.RoleBlueLead], te.ID, testflow.VoteInput{Decision: core.VoteApprove})).must(t)
		if r.Test.State != core.StateValidated {
			t.Fatalf("admin + blue lead: %s", r.Test.State)
		}
	})
}

func TestRemediationAndRetestChain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		blueLead, blueTech := e.u[core.RoleBlueLead], e.u[core.RoleBlueTech]
		te := e.validate(t)

		_, err := e.svc.CompleteRemediation(ctx, blueLead, te.ID, te.Version, "")
		wantCode(t, err, core.ECONFLICT, "none")
		due := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
		_, err = e.svc.UpdateRemediation(ctx, blueTech, te.ID, te.Version, testflow.RemediationPatch{Notes: testflow.Some("x")})
		wantCode(t, err, core.EFORBIDDEN)
		te = try(e.svc.UpdateRemediation(ctx, blueLead, te.ID, te.Version, testflow.RemediationPatch{
			Owner: testflow.Some(blueTech.ID), Due: testflow.Some(due), Notes: testflow.Some("tune the EDR policy")})).must(t).Test
		if te.RemediationStatus != core.RemediationOpen || te.RemediationOwner == nil || *te.RemediationOwner != blueTech.ID || !te.RemediationDue.Equal(due) {
			t.Fatalf("remediation: %s %v %v", te.RemediationStatus, te.RemediationOwner, te.RemediationDue)
		}
		if !hasNotification(notificationsOf(t, st, blueTech), "test.remediation_assigned", te.ID) {
			t.Fatal("remediation owner not told")
		}
		// The owner may move the status, not reassign it.
		te = try(e.svc.UpdateRemediation(ctx, blueTech, te.ID, te.Version, testflow.RemediationPatch{Status: testflow.Some(core.RemediationInProgress)})).must(t).Test
		_, err = e.svc.UpdateRemediation(ctx, blueTech, te.ID, te.Version, testflow.RemediationPatch{Owner: testflow.Null[string]()})
		wantCode(t, err, core.EFORBIDDEN)
		_, err = e.svc.UpdateRemediation(ctx, blueLead, te.ID, te.Version, testflow.RemediationPatch{Status: testflow.Some(core.RemediationCompleted)})
		wantCode(t, err, core.EINVALID)
		_, err = e.svc.CompleteRemediation(ctx, blueTech, te.ID, te.Version, "")
		wantCode(t, err, core.EFORBIDDEN)

		// Each completion creates one retest, one deeper; the third retest ends the chain.
		orig := te
		for depth := 1; depth <= core.MaxRetestDepth+1; depth++ {
			res := try(e.svc.CompleteRemediation(ctx, blueLead, te.ID, te.Version, "patched")).must(t)
			if res.Test.RemediationStatus != core.RemediationCompleted || res.Test.RemediationCompletedAt == nil || res.Test.State != core.StateValidated {
				t.Fatalf("depth %d: completed test %+v", depth, res.Test)
			}
			if depth > core.MaxRetestDepth {
				if res.Retest != nil || !strings.Contains(res.RetestSkipped, "at most 3") {
					t.Fatalf("retest beyond the limit: %+v %q", res.Retest, res.RetestSkipped)
				}
				break
			}
			r := res.Retest
			if r == nil || r.RetestOf == nil || *r.RetestOf != te.ID || r.RetestDepth != depth || r.State != core.StateDraft ||
				r.TechniqueID != orig.TechniqueID || r.Command != orig.Command || r.Prevented != nil || r.ReviewRound != 0 ||
				r.Title != fmt.Sprintf("Retest %d: Whoami", depth) {
				t.Fatalf("depth %d retest: %+v", depth, r)
			}
			_, err := e.svc.CompleteRemediation(ctx, blueLead, te.ID, 0, "again")
			wantCode(t, err, core.ECONFLICT, "completed")
			// Take the retest through its own cycle to validated, then remediate it.
			te = e.advanceAndValidate(t, r)
			te = try(e.svc.UpdateRemediation(ctx, blueLead, te.ID, te.Version, testflow.RemediationPatch{Owner: testflow.Some(blueTech.ID)})).must(t).Test
		}
		st.View(ctx, func(tx core.Tx) error {
			list, total, _ := tx.ListTests(ctx, core.TestFilter{TechniqueID: e.technique.ID})
			if total != 1+core.MaxRetestDepth {
				t.Errorf("%d tests in the chain, want %d", total, 1+core.MaxRetestDepth)
			}
			for _, x := range list {
				if rs, _ := tx.RetestsOf(ctx, x.ID); len(rs) > 1 {
					t.Errorf("test %s has %d retests", x.ID, len(rs))
				}
			}
			return nil
		})
	})
}

func (e *env) advanceAndValidate(t *testing.T, te *core.Test) *core.Test {
	t.Helper()
	te = e.advance(t, te, core.StateInReview)
	try(e.svc.Vote(ctx, e.u[core.RoleRedLead], te.ID, testflow.VoteInput{Decision: core.VoteApprove})).must(t)
	return try(e.svc.Vote(ctx, e.u[core.RoleBlueLead], te.ID, testflow.VoteInput{Decision: core.VoteApprove})).must(t).Test
}

func TestReopenByOwnerAndRedFieldsKept(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		te := e.toInReview(t)
		try(e.svc.Vote(ctx, e.u[core.RoleRedLead], te.ID, testflow.VoteInput{Decision: core.VoteReject, Reason: "wrong host"})).must(t)
		_, err := e.svc.Reopen(ctx, e.u[core.RoleBlueTech], te.ID, 0)
		wantCode(t, err, core.EFORBIDDEN)
		te = try(e.svc.Reopen(ctx, e.u[core.RoleRedTech], te.ID, 0)).must(t).Test
		if te.State != core.StateDraft || te.Command != "whoami" || te.RejectionReason != "wrong host" {
			t.Fatalf("reopened: %s %q %q", te.State, te.Command, te.RejectionReason)
		}
	})
}

func TestPatchRoundTripsThroughStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		te := e.advance(t, e.create(t), core.StateBlueEvaluating)
		var p testflow.Patch
		if err := json.Unmarshal([]byte(`{"not_applicable":false,"blue_notes":"seen in SIEM",
			"control_outcomes":[{"control":"EDR","prevented":false,"alerted":true,"logged":true},{"control":"Firewall","prevented":true,"alerted":false,"logged":true}]}`), &p); err != nil {
			t.Fatal(err)
		}
		try(e.svc.Update(ctx, e.u[core.RoleBlueLead], te.ID, te.Version, p)).must(t)
		got := e.test(t, te.ID)
		controls, err := testflow.ParseControlOutcomes(got.ControlOutcomes)
		if err != nil || len(controls) != 2 || controls[1].Control != "Firewall" || controls[1].Prevented == nil || !*controls[1].Prevented || controls[0].At == nil {
			t.Fatalf("controls read back: %s %v", got.ControlOutcomes, err)
		}
		if got.BlueNotes != "seen in SIEM" || got.Version != te.Version+1 {
			t.Fatalf("blue notes %q v%d", got.BlueNotes, got.Version)
		}
	})
}

// A test is never created on a revoked technique: the refusal names the chain and the
// current replacement, and no test is stored.
func TestCreateOnRevokedTechniqueIsRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		err := st.Update(ctx, func(tx core.Tx) error {
			for _, te := range []*core.Technique{
				{ExternalID: "T1086", Name: "PowerShell", Known: true, Revoked: true, RevokedBy: "T1500"},
				{ExternalID: "T1500", Name: "Compile After Delivery", Known: true, Revoked: true, RevokedBy: "T1059"},
				{ExternalID: "T1099", Name: "Timestomp", Known: true, Revoked: true},
			} {
				if err := tx.UpsertTechnique(ctx, te); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		tech := e.u[core.RoleRedTech]
		_, err = e.svc.Create(ctx, tech, testflow.NewTest{Title: "x", TechniqueID: "T1086"})
		wantCode(t, err, core.EINVALID, "T1086 was revoked by T1500, T1500 by T1059", "create the test on T1059")
		_, err = e.svc.Create(ctx, tech, testflow.NewTest{Title: "x", TechniqueID: "T1099"})
		wantCode(t, err, core.EINVALID, "T1099 is revoked", "no replacement")
		var n int
		st.View(ctx, func(tx core.Tx) error {
			_, n, err = tx.ListTests(ctx, core.TestFilter{})
			return err
		})
		if n != 0 {
			t.Errorf("%d tests stored", n)
		}
	})
}

package testflow

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
)

// legal is DESIGN.md §2 written out by hand, independently of Table: for each (state,
// action), the roles that may take it and the state it leads to. An owner who holds
// none of the roles is covered by TestOwnerMayReopen.
var legal = map[core.TestState]map[Action]struct {
	to    core.TestState
	roles string
}{
	core.StateDraft:          {ActionStart: {core.StateRedExecuting, "red_tech red_lead admin"}},
	core.StateRedExecuting:   {ActionHandToBlue: {core.StateBlueEvaluating, "red_tech red_lead admin"}},
	core.StateBlueEvaluating: {ActionSubmit: {core.StateInReview, "blue_tech blue_lead admin"}},
	core.StateInReview: {
		ActionApprove: {core.StateValidated, "red_lead blue_lead admin"},
		ActionReject:  {core.StateRejected, "red_lead blue_lead admin"},
	},
	core.StateRejected:  {ActionReopen: {core.StateDraft, "red_lead blue_lead admin"}},
	core.StateValidated: {ActionCompleteRemediation: {core.StateValidated, "blue_lead admin"}},
}

// mayEver is, per action, the roles that may take it from some state.
func mayEver(a Action) string {
	for _, byAction := range legal {
		if l, ok := byAction[a]; ok {
			return l.roles
		}
	}
	return ""
}

func TestEveryStateActionRole(t *testing.T) {
	checked := 0
	for _, state := range core.TestStates {
		for _, action := range Actions {
			for _, role := range core.Roles {
				te := &core.Test{ID: "t1", State: state, Version: 4}
				u := &core.User{ID: "u1", Role: role}
				tr, err := Check(te, action, u)
				checked++
				want, ok := legal[state][action]
				allowedRole := strings.Contains(" "+mayEver(action)+" ", " "+string(role)+" ")
				switch {
				case !allowedRole:
					if core.ErrorCode(err) != core.EFORBIDDEN {
						t.Errorf("%s %s by %s: got %v, want forbidden", state, action, role, err)
					}
				case !ok:
					// Illegal in this state: a conflict that names the state and the action.
					if core.ErrorCode(err) != core.ECONFLICT {
						t.Errorf("%s %s by %s: got %v, want conflict", state, action, role, err)
						continue
					}
					msg := core.ErrorMessage(err)
					if !strings.Contains(msg, "is "+string(state)) || !strings.Contains(msg, words(action)) {
						t.Errorf("conflict message %q does not name state %s and action %s", msg, state, action)
					}
				default:
					if err != nil {
						t.Errorf("%s %s by %s: %v, want allowed", state, action, role, err)
					} else if tr.To != want.to {
						t.Errorf("%s %s leads to %s, want %s", state, action, tr.To, want.to)
					}
				}
			}
		}
	}
	if checked != len(core.TestStates)*len(Actions)*len(core.Roles) || checked < 200 {
		t.Fatalf("walked %d combinations", checked)
	}
	// The table holds nothing the hand-written spec does not.
	for _, tr := range Table {
		if _, ok := legal[tr.From][tr.Action]; !ok {
			t.Errorf("Table has %s --%s--> %s, which the design does not", tr.From, tr.Action, tr.To)
		}
	}
}

func TestOwnerMayReopen(t *testing.T) {
	tech := &core.User{ID: "tech", Role: core.RoleRedTech}
	other := &core.User{ID: "other", Role: core.RoleRedTech}
	te := &core.Test{ID: "t", State: core.StateRejected, CreatedBy: &tech.ID}
	if _, err := Check(te, ActionReopen, tech); err != nil {
		t.Fatalf("owner may not reopen: %v", err)
	}
	if _, err := Check(te, ActionReopen, other); core.ErrorCode(err) != core.EFORBIDDEN {
		t.Fatalf("a red tech who does not own the test reopened it: %v", err)
	}
	assigned := &core.Test{ID: "t", State: core.StateRejected, AssignedRed: &other.ID}
	if _, err := Check(assigned, ActionReopen, other); err != nil {
		t.Fatalf("assigned red operator may not reopen: %v", err)
	}
	// Owning a test gives no other action.
	if _, err := Check(&core.Test{State: core.StateInReview, CreatedBy: &tech.ID}, ActionApprove, tech); core.ErrorCode(err) != core.EFORBIDDEN {
		t.Fatalf("owner approved their own test: %v", err)
	}
	if got := Allowed(te, tech); len(got) != 1 || got[0] != ActionReopen {
		t.Fatalf("allowed for owner of rejected test: %v", got)
	}
	if got := Allowed(te, other); len(got) != 0 {
		t.Fatalf("allowed for stranger: %v", got)
	}
}

func TestGuards(t *testing.T) {
	now := time.Now()
	yes, no := true, false
	te := &core.Test{}
	if got := RedFieldsMissing(te); strings.Join(got, ",") != "procedure or command,executed_at,attack_outcome" {
		t.Fatalf("red missing: %v", got)
	}
	te.Command, te.ExecutedAt, te.AttackOutcome = "whoami", &now, "succeeded"
	if got := RedFieldsMissing(te); len(got) != 0 {
		t.Fatalf("complete red fields reported missing: %v", got)
	}
	te.Command, te.Procedure = "  ", "ran the atomic test"
	if got := RedFieldsMissing(te); len(got) != 0 {
		t.Fatalf("procedure alone should do: %v", got)
	}

	if got := BlueFieldsMissing(te); strings.Join(got, ",") != "prevented,alerted,logged" {
		t.Fatalf("blue missing: %v", got)
	}
	te.Prevented, te.Alerted = &no, &yes
	if got := BlueFieldsMissing(te); strings.Join(got, ",") != "logged" {
		t.Fatalf("blue missing: %v", got)
	}
	te.Logged = &no
	te.ControlOutcomes = core.JSON(`[{"control":"EDR","prevented":false,"alerted":true,"logged":null}]`)
	if got := BlueFieldsMissing(te); strings.Join(got, ",") != "control_outcomes[EDR]" {
		t.Fatalf("undecided control not reported: %v", got)
	}
	te.ControlOutcomes = core.JSON(`[{"control":"EDR","prevented":false,"alerted":true,"logged":true}]`)
	if got := BlueFieldsMissing(te); len(got) != 0 {
		t.Fatalf("complete blue fields reported missing: %v", got)
	}
	if got := BlueFieldsMissing(&core.Test{NotApplicable: true}); len(got) != 0 {
		t.Fatalf("not applicable still needs verdicts: %v", got)
	}
}

func TestVoteRules(t *testing.T) {
	red := &core.User{ID: "r", Role: core.RoleRedLead}
	admin := &core.User{ID: "a", Role: core.RoleAdmin}
	if r, err := VoteRole(red, ""); err != nil || r != core.RoleRedLead {
		t.Fatalf("red lead votes as %q, %v", r, err)
	}
	if _, err := VoteRole(red, core.RoleBlueLead); core.ErrorCode(err) != core.EINVALID {
		t.Fatalf("red lead voted as blue lead: %v", err)
	}
	if _, err := VoteRole(admin, ""); core.ErrorCode(err) != core.EINVALID {
		t.Fatalf("admin voted without saying as whom: %v", err)
	}
	if r, err := VoteRole(admin, core.RoleBlueLead); err != nil || r != core.RoleBlueLead {
		t.Fatalf("admin as blue lead: %q %v", r, err)
	}
	for _, role := range []core.Role{core.RoleRedTech, core.RoleBlueTech, core.RoleViewer} {
		if _, err := VoteRole(&core.User{Role: role}, core.RoleRedLead); core.ErrorCode(err) != core.EFORBIDDEN {
			t.Errorf("%s voted: %v", role, err)
		}
	}

	approveRed := &core.Vote{ReviewRound: 1, LeadRole: core.RoleRedLead, UserID: "a", Decision: core.VoteApprove}
	cases := []struct {
		name     string
		existing []*core.Vote
		v        core.Vote
		code     string
	}{
		{"first vote", nil, core.Vote{ReviewRound: 1, LeadRole: core.RoleBlueLead, UserID: "b", Decision: core.VoteApprove}, ""},
		{"same role twice", []*core.Vote{approveRed}, core.Vote{ReviewRound: 1, LeadRole: core.RoleRedLead, UserID: "c", Decision: core.VoteApprove}, core.ECONFLICT},
		{"same role in an earlier round", []*core.Vote{approveRed}, core.Vote{ReviewRound: 2, LeadRole: core.RoleRedLead, UserID: "c", Decision: core.VoteApprove}, ""},
		{"one person approving as both leads", []*core.Vote{approveRed}, core.Vote{ReviewRound: 1, LeadRole: core.RoleBlueLead, UserID: "a", Decision: core.VoteApprove}, core.ECONFLICT},
		{"one person may still reject", []*core.Vote{approveRed}, core.Vote{ReviewRound: 1, LeadRole: core.RoleBlueLead, UserID: "a", Decision: core.VoteReject, Reason: "no logs"}, ""},
		{"reject without reason", nil, core.Vote{ReviewRound: 1, LeadRole: core.RoleBlueLead, UserID: "b", Decision: core.VoteReject, Reason: "  "}, core.EINVALID},
		{"unknown decision", nil, core.Vote{ReviewRound: 1, LeadRole: core.RoleBlueLead, UserID: "b", Decision: "maybe"}, core.EINVALID},
	}
	for _, c := range cases {
		if got := core.ErrorCode(CheckVote(c.existing, &c.v)); got != c.code {
			t.Errorf("%s: got %q, want %q", c.name, got, c.code)
		}
	}

	v := func(role core.Role, d core.VoteDecision) *core.Vote { return &core.Vote{LeadRole: role, Decision: d} }
	tallies := []struct {
		votes []*core.Vote
		want  core.TestState
	}{
		{nil, core.StateInReview},
		{[]*core.Vote{v(core.RoleRedLead, core.VoteApprove)}, core.StateInReview},
		{[]*core.Vote{v(core.RoleBlueLead, core.VoteApprove)}, core.StateInReview},
		{[]*core.Vote{v(core.RoleRedLead, core.VoteApprove), v(core.RoleBlueLead, core.VoteApprove)}, core.StateValidated},
		{[]*core.Vote{v(core.RoleBlueLead, core.VoteApprove), v(core.RoleRedLead, core.VoteApprove)}, core.StateValidated},
		{[]*core.Vote{v(core.RoleRedLead, core.VoteReject)}, core.StateRejected},
		{[]*core.Vote{v(core.RoleRedLead, core.VoteApprove), v(core.RoleBlueLead, core.VoteReject)}, core.StateRejected},
	}
	for i, c := range tallies {
		if got := Tally(c.votes); got != c.want {
			t.Errorf("tally %d: %s, want %s", i, got, c.want)
		}
	}
}

func TestCheckEdit(t *testing.T) {
	cases := []struct {
		role   core.Role
		state  core.TestState
		fields []string
		code   string
	}{
		{core.RoleRedTech, core.StateRedExecuting, []string{"command", "executed_at", "attack_outcome"}, ""},
		{core.RoleRedTech, core.StateBlueEvaluating, []string{"command"}, core.ECONFLICT},
		{core.RoleRedTech, core.StateRedExecuting, []string{"prevented"}, core.EFORBIDDEN},
		{core.RoleBlueTech, core.StateBlueEvaluating, []string{"prevented", "control_outcomes", "blue_notes"}, ""},
		{core.RoleBlueTech, core.StateInReview, []string{"alerted"}, core.ECONFLICT},
		{core.RoleBlueLead, core.StateRedExecuting, []string{"red_notes"}, core.EFORBIDDEN},
		{core.RoleViewer, core.StateDraft, []string{"title"}, core.EFORBIDDEN},
		{core.RoleRedLead, core.StateInReview, []string{"assigned_blue"}, ""},
		{core.RoleRedLead, core.StateValidated, []string{"assigned_blue"}, core.ECONFLICT},
		{core.RoleRedTech, core.StateDraft, []string{"title", "technique_id"}, ""},
		{core.RoleAdmin, core.StateValidated, []string{"prevented", "command", "title"}, ""},
		{core.RoleRedTech, core.StateDraft, []string{"state"}, core.EINVALID},
	}
	for _, c := range cases {
		err := CheckEdit(c.role, c.state, c.fields)
		if got := core.ErrorCode(err); got != c.code {
			t.Errorf("%s editing %v in %s: got %q (%v), want %q", c.role, c.fields, c.state, got, err, c.code)
		}
		if c.code == core.ECONFLICT && !strings.Contains(core.ErrorMessage(err), string(c.state)) {
			t.Errorf("conflict does not name the state %s: %v", c.state, err)
		}
	}
}

func TestPatchJSON(t *testing.T) {
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	yes := true
	te := &core.Test{Title: "old", Prevented: &yes, PreventedAt: &now, RedNotes: "keep"}
	var p Patch
	err := json.Unmarshal([]byte(`{"title":"new","prevented":null,"alerted":true,"logged":true,
		"logged_at":"2026-04-30T09:00:00Z","control_outcomes":[{"control":" EDR ","prevented":true}]}`), &p)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Fields(), ","); got != "title,prevented,alerted,logged,logged_at,control_outcomes" {
		t.Fatalf("fields: %s", got)
	}
	later := now.Add(time.Hour)
	if err := p.Apply(te, later); err != nil {
		t.Fatal(err)
	}
	switch {
	case te.Title != "new" || te.RedNotes != "keep":
		t.Errorf("text fields: %q %q", te.Title, te.RedNotes)
	case te.Prevented != nil || te.PreventedAt != nil:
		t.Errorf("null did not clear prevented: %v %v", te.Prevented, te.PreventedAt)
	case te.Alerted == nil || !*te.Alerted || te.AlertedAt == nil || !te.AlertedAt.Equal(later):
		t.Errorf("alerted not stamped now: %v %v", te.Alerted, te.AlertedAt)
	case te.Logged == nil || !*te.Logged || te.LoggedAt == nil || te.LoggedAt.Format(time.RFC3339) != "2026-04-30T09:00:00Z":
		t.Errorf("logged_at from the patch not kept: %v %v", te.Logged, te.LoggedAt)
	}
	controls, err := ParseControlOutcomes(te.ControlOutcomes)
	if err != nil || len(controls) != 1 || controls[0].Control != "EDR" || controls[0].At == nil {
		t.Errorf("controls: %+v %v", controls, err)
	}

	bad := []string{
		`{"title":null}`,
		`{"title":"  "}`,
		`{"attack_outcome":"exploded"}`,
		`{"assigned_red":"bob"}`,
		`{"control_outcomes":[{"control":"EDR"},{"control":"edr"}]}`,
		`{"control_outcomes":[{"prevented":true}]}`,
		`{"executed_at":"2999-01-01T00:00:00Z"}`,
		`{"logged":false,"logged_at":"2026-04-30T09:00:00Z"}`,
	}
	for _, b := range bad {
		var p Patch
		if err := json.Unmarshal([]byte(b), &p); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if err := p.Apply(&core.Test{Title: "x"}, now); core.ErrorCode(err) != core.EINVALID {
			t.Errorf("%s accepted: %v", b, err)
		}
	}
}

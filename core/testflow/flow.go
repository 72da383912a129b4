// Package testflow is the test lifecycle of DESIGN.md §2: the state machine as a table,
// the guards each transition needs, who may edit which fields in which state, dual
// validation by the red and blue leads, remediation and the retest chain. It is pure
// domain: it reaches storage only through core.Store and core.Tx.
//
// Decisions this package makes (and the API documents):
//   - An admin may vote, but must say for which lead role (red_lead or blue_lead), and
//     the two approvals of a round must come from two different people: dual
//     validation stays a four-eyes check even when an admin stands in for a lead.
//   - The review round starts at submit: the first submission opens round 1, and a
//     resubmission after a rejection opens the next round. Votes belong to one round,
//     so a rejection "resets" the votes without deleting them.
//   - A test's "owner" is whoever created it or is assigned as its red operator.
//   - Completing remediation on a test that is already the third retest of a chain
//     completes the remediation but creates no retest; the answer says so.
package testflow

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aegis-sec/aegis/core"
)

// Action is something done to a test that may change its state.
type Action string

const (
	ActionStart               Action = "start"
	ActionHandToBlue          Action = "hand_to_blue"
	ActionSubmit              Action = "submit"
	ActionApprove             Action = "approve"
	ActionReject              Action = "reject"
	ActionReopen              Action = "reopen"
	ActionCompleteRemediation Action = "complete_remediation"
)

// Actions lists every action in lifecycle order.
var Actions = []Action{ActionStart, ActionHandToBlue, ActionSubmit, ActionApprove, ActionReject, ActionReopen, ActionCompleteRemediation}

// Transition is one row of the state machine.
type Transition struct {
	From   core.TestState
	Action Action
	// To is the state after the action. An approval reaches it only when it is the
	// second approval of the round; until then the test stays in review.
	To    core.TestState
	Roles []core.Role
	// Owner lets the test's owner take the action whatever their role.
	Owner bool
}

var (
	redRoles  = []core.Role{core.RoleRedTech, core.RoleRedLead, core.RoleAdmin}
	blueRoles = []core.Role{core.RoleBlueTech, core.RoleBlueLead, core.RoleAdmin}
	leadRoles = []core.Role{core.RoleRedLead, core.RoleBlueLead, core.RoleAdmin}
)

// Table is the state machine: every transition a test can take, and who may take it.
// Anything not listed is illegal.
var Table = []Transition{
	{From: core.StateDraft, Action: ActionStart, To: core.StateRedExecuting, Roles: redRoles},
	{From: core.StateRedExecuting, Action: ActionHandToBlue, To: core.StateBlueEvaluating, Roles: redRoles},
	{From: core.StateBlueEvaluating, Action: ActionSubmit, To: core.StateInReview, Roles: blueRoles},
	{From: core.StateInReview, Action: ActionApprove, To: core.StateValidated, Roles: leadRoles},
	{From: core.StateInReview, Action: ActionReject, To: core.StateRejected, Roles: leadRoles},
	{From: core.StateRejected, Action: ActionReopen, To: core.StateDraft, Roles: leadRoles, Owner: true},
	{From: core.StateValidated, Action: ActionCompleteRemediation, To: core.StateValidated, Roles: []core.Role{core.RoleBlueLead, core.RoleAdmin}},
}

// IsOwner reports whether u owns t: created it or is its assigned red operator.
func IsOwner(t *core.Test, u *core.User) bool {
	if u == nil {
		return false
	}
	return (t.CreatedBy != nil && *t.CreatedBy == u.ID) || (t.AssignedRed != nil && *t.AssignedRed == u.ID)
}

func (tr Transition) allows(t *core.Test, u *core.User) bool {
	return slices.Contains(tr.Roles, u.Role) || (tr.Owner && IsOwner(t, u))
}

// Check finds the transition action takes from t's state and checks that u may take
// it. A role that may never take the action is EFORBIDDEN; an action that the test's
// state does not allow is ECONFLICT, and the message names the state and the action.
func Check(t *core.Test, action Action, u *core.User) (Transition, error) {
	if u == nil {
		return Transition{}, core.Errorf(core.EUNAUTHORIZED, "sign in first")
	}
	var from []string
	mayEver := false
	for _, tr := range Table {
		if tr.Action != action {
			continue
		}
		from = append(from, string(tr.From))
		if tr.allows(t, u) {
			mayEver = true
		}
	}
	if len(from) == 0 {
		return Transition{}, core.Errorf(core.EINVALID, "unknown action %q", action)
	}
	if !mayEver {
		return Transition{}, core.Errorf(core.EFORBIDDEN, "the %s role may not %s a test", u.Role, words(action))
	}
	for _, tr := range Table {
		if tr.From == t.State && tr.Action == action {
			return tr, nil
		}
	}
	return Transition{}, &core.Error{Code: core.ECONFLICT,
		Message: fmt.Sprintf("test %s is %s: cannot %s it (only from %s)", t.ID, t.State, words(action), strings.Join(from, ", ")),
		Detail:  map[string]any{"state": t.State, "action": action, "current_version": t.Version}}
}

// Allowed lists the actions u may take on t now, for the UI's buttons. Guards that need
// fields (red fields complete, ...) are not checked: the button shows, and the answer
// says what is missing.
func Allowed(t *core.Test, u *core.User) []Action {
	out := []Action{}
	if u == nil {
		return out
	}
	for _, tr := range Table {
		if tr.From == t.State && tr.allows(t, u) {
			out = append(out, tr.Action)
		}
	}
	return out
}

func words(a Action) string { return strings.ReplaceAll(string(a), "_", " ") }

// RedFieldsMissing lists the red fields that must be filled before hand-off to blue:
// what was run (procedure or command), when, and how the attack went.
func RedFieldsMissing(t *core.Test) []string {
	var missing []string
	if strings.TrimSpace(t.Procedure) == "" && strings.TrimSpace(t.Command) == "" {
		missing = append(missing, "procedure or command")
	}
	if t.ExecutedAt == nil {
		missing = append(missing, "executed_at")
	}
	if t.AttackOutcome == "" {
		missing = append(missing, "attack_outcome")
	}
	return missing
}

// BlueFieldsMissing lists the blue verdicts still undecided before submit: prevented,
// alerted and logged must each be true or false, unless the test is marked not
// applicable; a named control must carry all three verdicts too.
func BlueFieldsMissing(t *core.Test) []string {
	if t.NotApplicable {
		return nil
	}
	var missing []string
	if t.Prevented == nil {
		missing = append(missing, "prevented")
	}
	if t.Alerted == nil {
		missing = append(missing, "alerted")
	}
	if t.Logged == nil {
		missing = append(missing, "logged")
	}
	controls, err := ParseControlOutcomes(t.ControlOutcomes)
	if err != nil {
		return append(missing, "control_outcomes (unreadable)")
	}
	for _, c := range controls {
		if c.Prevented == nil || c.Alerted == nil || c.Logged == nil {
			missing = append(missing, fmt.Sprintf("control_outcomes[%s]", c.Control))
		}
	}
	return missing
}

func guardError(t *core.Test, action Action, missing []string) error {
	return &core.Error{Code: core.ECONFLICT,
		Message: fmt.Sprintf("test %s cannot %s yet: %s still missing", t.ID, words(action), strings.Join(missing, ", ")),
		Detail:  map[string]any{"missing": missing, "state": t.State, "current_version": t.Version}}
}

package testflow

import (
	"fmt"
	"strings"

	"github.com/aegis-sec/aegis/core"
)

// VoteRole returns the lead role u votes as. Leads vote as themselves (as, when given,
// must match); an admin must say which lead they stand in for; nobody else votes.
func VoteRole(u *core.User, as core.Role) (core.Role, error) {
	switch u.Role {
	case core.RoleRedLead, core.RoleBlueLead:
		if as != "" && as != u.Role {
			return "", core.FieldError("as", "a %s votes as %s, not %s", u.Role, u.Role, as)
		}
		return u.Role, nil
	case core.RoleAdmin:
		if as != core.RoleRedLead && as != core.RoleBlueLead {
			return "", core.FieldError("as", "an admin must say which lead they vote for: red_lead or blue_lead")
		}
		return as, nil
	}
	return "", core.Errorf(core.EFORBIDDEN, "only the red lead and the blue lead vote on a test (you are %s)", u.Role)
}

// CheckVote checks a new vote against the votes already cast in its round: one vote
// per lead role, and the two approvals from two different people.
func CheckVote(existing []*core.Vote, v *core.Vote) error {
	if v.Decision != core.VoteApprove && v.Decision != core.VoteReject {
		return core.FieldError("decision", "must be approve or reject, got %q", v.Decision)
	}
	if v.Decision == core.VoteReject && strings.TrimSpace(v.Reason) == "" {
		return core.FieldError("reason", "is required to reject a test")
	}
	for _, e := range existing {
		if e.ReviewRound != v.ReviewRound {
			continue
		}
		if e.LeadRole == v.LeadRole {
			return core.Errorf(core.ECONFLICT, "the %s has already voted (%s) in review round %d", e.LeadRole, e.Decision, e.ReviewRound)
		}
		if e.UserID == v.UserID && v.Decision == core.VoteApprove {
			return core.Errorf(core.ECONFLICT, "you already voted as %s in review round %d: the other lead must approve", e.LeadRole, e.ReviewRound)
		}
	}
	return nil
}

// Tally is the state the votes of one round lead to: rejected as soon as one lead
// rejects, validated once both leads approve, in review while a vote is pending.
func Tally(votes []*core.Vote) core.TestState {
	approved := map[core.Role]bool{}
	for _, v := range votes {
		if v.Decision == core.VoteReject {
			return core.StateRejected
		}
		approved[v.LeadRole] = true
	}
	if approved[core.RoleRedLead] && approved[core.RoleBlueLead] {
		return core.StateValidated
	}
	return core.StateInReview
}

// roundError refuses a vote aimed at a round that is no longer open.
func roundError(t *core.Test, round int) error {
	return &core.Error{Code: core.ECONFLICT,
		Message: fmt.Sprintf("test %s is in review round %d, not %d: reload it before voting", t.ID, t.ReviewRound, round),
		Detail:  map[string]any{"review_round": t.ReviewRound, "current_version": t.Version}}
}

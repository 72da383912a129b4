package testflow

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aegis-sec/aegis/core"
)

// Service runs the lifecycle against the store: each call is one transaction that
// reads the test, checks the transition, writes the test with its version check, and
// records an audit entry and the notifications in the same commit.
type Service struct {
	store core.Store
	// Now is the clock (tests replace it).
	Now func() time.Time
	// VoteAttempts bounds how often a vote is retried after losing a race with another
	// write to the same test.
	VoteAttempts int
}

// New returns a service on st.
func New(st core.Store) *Service {
	return &Service{store: st, Now: core.Now, VoteAttempts: 8}
}

// CreateRoles may create tests: the red side runs them, the blue lead plans purple
// exercises with them, admins do anything.
var CreateRoles = []core.Role{core.RoleRedTech, core.RoleRedLead, core.RoleBlueLead, core.RoleAdmin}

// NewTest is what a test is created from. Technique is an Aegis id or an ATT&CK id.
// With a template, its name, procedure, command, platform and first technique fill
// the fields the request leaves empty, and the test keeps the link.
type NewTest struct {
	Title        string  `json:"title" example:"Encoded PowerShell download cradle"`
	Description  string  `json:"description"`
	TechniqueID  string  `json:"technique_id" example:"T1059.001"`
	TemplateID   *string `json:"template_id"`
	Platform     string  `json:"platform"`
	Procedure    string  `json:"procedure"`
	Command      string  `json:"command"`
	Target       string  `json:"target"`
	AssignedRed  *string `json:"assigned_red"`
	AssignedBlue *string `json:"assigned_blue"`
	// Arguments fill the template's input arguments (#{name} in its command); the
	// template's defaults fill the rest.
	Arguments map[string]string `json:"arguments,omitempty"`
}

func stale(t *core.Test, sent int) error {
	return &core.Error{Code: core.ECONFLICT,
		Message: fmt.Sprintf("test %s was changed by someone else (version %d, you sent %d): reload and try again", t.ID, t.Version, sent),
		Detail:  map[string]any{"current_version": t.Version}}
}

func audit(ctx context.Context, tx core.Tx, actor *core.User, action string, t *core.Test, details map[string]any) error {
	if err := tx.AppendAudit(ctx, core.NewAudit(actor, action, "test", t.ID, details)); err != nil {
		return fmt.Errorf("audit %s of test %s: %w", action, t.ID, err)
	}
	return nil
}

func checkID(field, id string) error {
	if !core.ValidID(id) {
		return core.Errorf(core.ENOTFOUND, "%s %q not found", field, id)
	}
	return nil
}

// resolveTechnique accepts an Aegis id or an ATT&CK id (any case) and returns the
// Aegis id: the same resolver as every other technique reference.
func resolveTechnique(ctx context.Context, tx core.Tx, ref string) (string, error) {
	te, err := core.TechniqueByRef(ctx, tx, ref)
	if err != nil {
		return "", relabel(err, "technique_id")
	}
	return te.ID, nil
}

// relabel turns "not found" of a referenced row into an invalid field: the request
// named something that does not exist, the resource it addressed does.
func relabel(err error, field string) error {
	if core.ErrorCode(err) == core.ENOTFOUND {
		return core.FieldError(field, "%s", core.ErrorMessage(err))
	}
	return err
}

// userFields says who may be named in a field that holds a user: the red operator
// and executor are red roles, the blue analyst blue roles, and a remediation may be
// owned by anyone who works on tests.
var userFields = map[string][]core.Role{
	"assigned_red":  redRoles,
	"executed_by":   redRoles,
	"assigned_blue": blueRoles,
	"owner":         {core.RoleRedTech, core.RoleRedLead, core.RoleBlueTech, core.RoleBlueLead, core.RoleAdmin},
}

func checkUser(ctx context.Context, tx core.Tx, field string, id *string) error {
	if id == nil {
		return nil
	}
	if !core.ValidID(*id) {
		return core.FieldError(field, "%q is not an id", *id)
	}
	u, err := tx.UserByID(ctx, *id)
	if err != nil {
		return relabel(err, field)
	}
	if u.Disabled {
		return core.FieldError(field, "user %s is disabled", u.Username)
	}
	if roles, ok := userFields[field]; ok && !slices.Contains(roles, u.Role) {
		return core.FieldError(field, "user %s is a %s, which cannot be the %s", u.Username, u.Role, strings.ReplaceAll(field, "_", " "))
	}
	return nil
}

// Create stores a new draft test and returns its detail.
func (s *Service) Create(ctx context.Context, actor *core.User, in NewTest) (*TestDetail, error) {
	if actor == nil || !slices.Contains(CreateRoles, actor.Role) {
		return nil, core.Errorf(core.EFORBIDDEN, "your role may not create tests")
	}
	t := &core.Test{Title: strings.TrimSpace(in.Title), Description: in.Description, Platform: in.Platform,
		Procedure: in.Procedure, Command: in.Command, Target: in.Target,
		AssignedRed: in.AssignedRed, AssignedBlue: in.AssignedBlue, CreatedBy: &actor.ID, State: core.StateDraft}
	var d *TestDetail
	err := s.store.Update(ctx, func(tx core.Tx) error {
		if in.TemplateID != nil && *in.TemplateID != "" {
			if !core.ValidID(*in.TemplateID) {
				return core.FieldError("template_id", "%q is not an id", *in.TemplateID)
			}
			tpl, err := tx.TestTemplateByID(ctx, *in.TemplateID)
			if err != nil {
				return relabel(err, "template_id")
			}
			if tpl.Deprecated || !tpl.Active {
				return core.FieldError("template_id", "template %q is retired or inactive", tpl.Name)
			}
			if err := fromTemplate(t, tpl, &in); err != nil {
				return err
			}
		} else if len(in.Arguments) > 0 {
			return core.FieldError("arguments", "only a test made from a template takes arguments")
		}
		if t.Title == "" {
			return core.FieldError("title", "is required")
		}
		if in.TechniqueID == "" {
			return core.FieldError("technique_id", "is required (or a template that names a technique)")
		}
		var err error
		if t.TechniqueID, err = resolveTechnique(ctx, tx, in.TechniqueID); err != nil {
			return err
		}
		// New work never lands on a revoked technique: the error names the replacement.
		te, err := tx.TechniqueByID(ctx, t.TechniqueID)
		if err != nil {
			return err
		}
		if err := core.RevokedTechniqueError(ctx, tx, te, "technique_id"); err != nil {
			return err
		}
		if err := checkUser(ctx, tx, "assigned_red", t.AssignedRed); err != nil {
			return err
		}
		if err := checkUser(ctx, tx, "assigned_blue", t.AssignedBlue); err != nil {
			return err
		}
		if err := tx.CreateTest(ctx, t); err != nil {
			return err
		}
		if err := audit(ctx, tx, actor, "test.create", t, map[string]any{"title": t.Title, "technique_id": t.TechniqueID, "template_id": t.TemplateID}); err != nil {
			return err
		}
		if err := notifyAssigned(ctx, tx, actor, t, nil, nil); err != nil {
			return err
		}
		d, err = detailOf(ctx, tx, actor, t)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// fromTemplate copies a template into the fields the request left empty: the command
// for the test's platform with its arguments filled in, and the procedure with the
// cleanup to run afterwards.
func fromTemplate(t *core.Test, tpl *core.TestTemplate, in *NewTest) error {
	id := tpl.ID
	t.TemplateID = &id
	if t.Title == "" {
		t.Title = tpl.Name
	}
	if t.Description == "" {
		t.Description = tpl.Description
	}
	if t.Platform == "" && len(tpl.Platforms) > 0 {
		t.Platform = tpl.Platforms[0]
	}
	command, cleanup, err := renderCommand(tpl, t.Platform, in.Arguments)
	if err != nil {
		return err
	}
	if t.Procedure == "" {
		t.Procedure = procedureText(tpl, cleanup)
	}
	if t.Command == "" {
		t.Command = command
	}
	if in.TechniqueID == "" && len(tpl.TechniqueIDs) > 0 {
		in.TechniqueID = tpl.TechniqueIDs[0]
	}
	return nil
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

// Update applies a patch to the test's fields. version must be the version the caller
// read: a stale one is refused with the current version, never merged.
func (s *Service) Update(ctx context.Context, actor *core.User, id string, version int, p Patch) (*TestDetail, error) {
	if version <= 0 {
		return nil, core.FieldError("version", "is required: send the version you read")
	}
	fields := p.Fields()
	if len(fields) == 0 {
		return nil, core.Errorf(core.EINVALID, "nothing to change")
	}
	// A value no test can hold is wrong in any state: say so before the state does.
	if err := p.CheckValues(); err != nil {
		return nil, err
	}
	if err := checkID("test", id); err != nil {
		return nil, err
	}
	var d *TestDetail
	err := s.store.Update(ctx, func(tx core.Tx) error {
		t, err := tx.TestByID(ctx, id)
		if err != nil {
			return err
		}
		if t.Version != version {
			return stale(t, version)
		}
		if err := CheckEdit(actor.Role, t.State, fields); err != nil {
			return err
		}
		before := *t
		if err := p.Apply(t, s.Now()); err != nil {
			return err
		}
		if p.TechniqueID.Set {
			if t.TechniqueID, err = resolveTechnique(ctx, tx, t.TechniqueID); err != nil {
				return err
			}
		}
		if p.TemplateID.Set && t.TemplateID != nil {
			if _, err := tx.TestTemplateByID(ctx, *t.TemplateID); err != nil {
				return relabel(err, "template_id")
			}
		}
		for _, u := range []struct {
			field string
			id    *string
			set   bool
		}{{"assigned_red", t.AssignedRed, p.AssignedRed.Set}, {"assigned_blue", t.AssignedBlue, p.AssignedBlue.Set}, {"executed_by", t.ExecutedBy, p.ExecutedBy.Set}} {
			if u.set {
				if err := checkUser(ctx, tx, u.field, u.id); err != nil {
					return err
				}
			}
		}
		if err := tx.UpdateTest(ctx, t); err != nil {
			return err
		}
		if err := audit(ctx, tx, actor, "test.update", t, map[string]any{"fields": fields, "version": t.Version}); err != nil {
			return err
		}
		if err := notifyAssigned(ctx, tx, actor, t, before.AssignedRed, before.AssignedBlue); err != nil {
			return err
		}
		d, err = detailOf(ctx, tx, actor, t)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// step is the part of a transition that differs between actions: guards and field
// changes before the write, notifications after it.
type step struct {
	before func(tx core.Tx, t *core.Test) error
	after  func(tx core.Tx, t *core.Test) error
}

// transition runs one action in one transaction. version 0 means "whatever is
// current"; the write is still conditional on the version read, so two concurrent
// actions on the same test never both succeed.
func (s *Service) transition(ctx context.Context, actor *core.User, id string, version int, action Action, st step) (*TestDetail, error) {
	if err := checkID("test", id); err != nil {
		return nil, err
	}
	var d *TestDetail
	err := s.store.Update(ctx, func(tx core.Tx) error {
		t, err := tx.TestByID(ctx, id)
		if err != nil {
			return err
		}
		if version != 0 && t.Version != version {
			return stale(t, version)
		}
		tr, err := Check(t, action, actor)
		if err != nil {
			return err
		}
		from := t.State
		if st.before != nil {
			if err := st.before(tx, t); err != nil {
				return err
			}
		}
		t.State = tr.To
		if err := tx.UpdateTest(ctx, t); err != nil {
			return err
		}
		if err := audit(ctx, tx, actor, "test."+string(action), t, map[string]any{"from": from, "to": t.State, "version": t.Version}); err != nil {
			return err
		}
		if st.after != nil {
			if err := st.after(tx, t); err != nil {
				return err
			}
		}
		d, err = detailOf(ctx, tx, actor, t)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Start moves a draft to red_executing, once every test it waits for in a campaign is
// validated.
func (s *Service) Start(ctx context.Context, actor *core.User, id string, version int) (*TestDetail, error) {
	return s.transition(ctx, actor, id, version, ActionStart, step{before: func(tx core.Tx, t *core.Test) error {
		pending, err := tx.PendingDependencies(ctx, t.ID)
		if err != nil || len(pending) == 0 {
			return err
		}
		names := make([]string, len(pending))
		for i, p := range pending {
			names[i] = fmt.Sprintf("%q (%s)", p.Title, p.State)
		}
		return &core.Error{Code: core.ECONFLICT, Message: "this test waits for " + strings.Join(names, ", ") + " to be validated first",
			Detail: map[string]any{"waiting_for": pending}}
	}})
}

// HandToBlue moves an executed test to the blue team once the red fields are complete,
// and tells the blue team.
func (s *Service) HandToBlue(ctx context.Context, actor *core.User, id string, version int) (*TestDetail, error) {
	return s.transition(ctx, actor, id, version, ActionHandToBlue, step{
		before: func(tx core.Tx, t *core.Test) error {
			if missing := RedFieldsMissing(t); len(missing) > 0 {
				return guardError(t, ActionHandToBlue, missing)
			}
			if t.ExecutedBy == nil {
				t.ExecutedBy = &actor.ID
			}
			return nil
		},
		after: func(tx core.Tx, t *core.Test) error {
			return notifyRoles(ctx, tx, actor, t, "test.blue_evaluating", "Test ready for blue evaluation: "+t.Title,
				core.RoleBlueTech, core.RoleBlueLead)
		},
	})
}

// Submit sends an evaluated test to review once the blue verdicts are decided. It
// opens a new review round, so votes of an earlier (rejected) round do not count.
func (s *Service) Submit(ctx context.Context, actor *core.User, id string, version int) (*TestDetail, error) {
	return s.transition(ctx, actor, id, version, ActionSubmit, step{
		before: func(tx core.Tx, t *core.Test) error {
			if missing := BlueFieldsMissing(t); len(missing) > 0 {
				return guardError(t, ActionSubmit, missing)
			}
			t.ReviewRound++
			t.RejectionReason = ""
			return nil
		},
		after: func(tx core.Tx, t *core.Test) error {
			return notifyRoles(ctx, tx, actor, t, "test.in_review", fmt.Sprintf("Test waiting for your vote (round %d): %s", t.ReviewRound, t.Title),
				core.RoleRedLead, core.RoleBlueLead)
		},
	})
}

// Reopen sends a rejected test back to draft.
func (s *Service) Reopen(ctx context.Context, actor *core.User, id string, version int) (*TestDetail, error) {
	return s.transition(ctx, actor, id, version, ActionReopen, step{})
}

// VoteInput is a lead's vote. As names the lead role an admin stands in for. Round,
// when not 0, must be the round under review (a guard against voting on what one saw
// before a resubmission).
type VoteInput struct {
	Decision core.VoteDecision `json:"decision" api:"required"`
	Reason   string            `json:"reason"`
	As       core.Role         `json:"as"`
	Round    int               `json:"round"`
}

// VoteResult is the test after a vote and the votes of the round.
type VoteResult struct {
	Test  *core.Test   `json:"test"`
	Vote  *core.Vote   `json:"vote"`
	Votes []*core.Vote `json:"votes"`
}

// errRaced marks a vote whose conditional write lost to another write of the same test.
type errRaced struct{ err error }

func (e errRaced) Error() string { return e.err.Error() }
func (e errRaced) Unwrap() error { return e.err }

// Vote records a lead's vote and moves the test when the round is decided.
//
// A vote does not need the caller's version: two leads voting at once must both count.
// Each vote still writes the test with the version it read (bumping it even when the
// round stays open), so of two simultaneous voters exactly one commits first; the other
// transaction's conditional write then fails, it is rolled back (its vote row with it)
// and run again on fresh data, where it sees the first vote. So the transaction that
// completes the round always sees both votes, exactly one transaction validates, and no
// vote is lost. A second vote for the same role is stopped by the unique key on
// (test, round, lead role) even when both arrive together.
func (s *Service) Vote(ctx context.Context, actor *core.User, id string, in VoteInput) (*VoteResult, error) {
	if err := checkID("test", id); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		res, err := s.voteOnce(ctx, actor, id, in)
		var raced errRaced
		if errors.As(err, &raced) {
			if attempt < s.VoteAttempts {
				continue
			}
			return nil, raced.err
		}
		return res, err
	}
}

func (s *Service) voteOnce(ctx context.Context, actor *core.User, id string, in VoteInput) (*VoteResult, error) {
	action := ActionApprove
	if in.Decision == core.VoteReject {
		action = ActionReject
	} else if in.Decision != core.VoteApprove {
		return nil, core.FieldError("decision", "must be approve or reject, got %q", in.Decision)
	}
	res := &VoteResult{}
	err := s.store.Update(ctx, func(tx core.Tx) error {
		t, err := tx.TestByID(ctx, id)
		if err != nil {
			return err
		}
		res.Test = t
		if _, err := Check(t, action, actor); err != nil {
			return err
		}
		role, err := VoteRole(actor, in.As)
		if err != nil {
			return err
		}
		if in.Round != 0 && in.Round != t.ReviewRound {
			return roundError(t, in.Round)
		}
		existing, err := tx.VotesOf(ctx, t.ID, t.ReviewRound)
		if err != nil {
			return err
		}
		v := &core.Vote{TestID: t.ID, ReviewRound: t.ReviewRound, LeadRole: role, UserID: actor.ID,
			Decision: in.Decision, Reason: strings.TrimSpace(in.Reason), CreatedAt: s.Now()}
		if err := CheckVote(existing, v); err != nil {
			return err
		}
		if err := tx.AddVote(ctx, v); err != nil {
			return err
		}
		votes := append(existing, v)
		from := t.State
		t.State = Tally(votes)
		switch t.State {
		case core.StateValidated:
			now := s.Now()
			t.ValidatedAt = &now
		case core.StateRejected:
			t.RejectionReason = v.Reason
		}
		if err := tx.UpdateTest(ctx, t); err != nil {
			if core.ErrorCode(err) == core.ECONFLICT {
				return errRaced{err}
			}
			return err
		}
		res.Vote, res.Votes = v, votes
		details := map[string]any{"from": from, "to": t.State, "round": v.ReviewRound, "lead_role": role,
			"decision": v.Decision, "version": t.Version}
		if v.Reason != "" {
			details["reason"] = v.Reason
		}
		if err := audit(ctx, tx, actor, "test."+string(action), t, details); err != nil {
			return err
		}
		switch t.State {
		case core.StateRejected:
			return notifyOwner(ctx, tx, actor, t, "test.rejected", fmt.Sprintf("Test rejected by the %s: %s", role, t.Title), v.Reason)
		case core.StateValidated:
			return notifyOwner(ctx, tx, actor, t, "test.validated", "Test validated: "+t.Title, "")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// RemediationPatch changes a validated test's remediation. Completing it is an action
// of its own (CompleteRemediation), since it creates the retest.
type RemediationPatch struct {
	Owner  Opt[string]    `json:"owner,omitzero"`
	Due    Opt[time.Time] `json:"due,omitzero"`
	Status Opt[string]    `json:"status,omitzero" api:"enum=remediation_status"`
	Notes  Opt[string]    `json:"notes,omitzero"`
}

// RemediationRoles may change any remediation field; the remediation's owner may
// change its status and notes.
var RemediationRoles = []core.Role{core.RoleRedLead, core.RoleBlueLead, core.RoleAdmin}

// UpdateRemediation opens or changes the remediation of a validated test.
func (s *Service) UpdateRemediation(ctx context.Context, actor *core.User, id string, version int, p RemediationPatch) (*TestDetail, error) {
	if version <= 0 {
		return nil, core.FieldError("version", "is required: send the version you read")
	}
	if err := checkID("test", id); err != nil {
		return nil, err
	}
	var d *TestDetail
	err := s.store.Update(ctx, func(tx core.Tx) error {
		t, err := tx.TestByID(ctx, id)
		if err != nil {
			return err
		}
		if t.Version != version {
			return stale(t, version)
		}
		isOwner := t.RemediationOwner != nil && *t.RemediationOwner == actor.ID
		if !slices.Contains(RemediationRoles, actor.Role) && !(isOwner && !p.Owner.Set && !p.Due.Set) {
			return core.Errorf(core.EFORBIDDEN, "the %s role may not change this remediation", actor.Role)
		}
		if t.State != core.StateValidated {
			return &core.Error{Code: core.ECONFLICT, Message: fmt.Sprintf("test %s is %s: only a validated test has a remediation", t.ID, t.State),
				Detail: map[string]any{"state": t.State, "current_version": t.Version}}
		}
		if t.RemediationStatus == core.RemediationCompleted {
			return core.Errorf(core.ECONFLICT, "the remediation of test %s is completed", t.ID)
		}
		prevOwner := t.RemediationOwner
		if err := setID(&t.RemediationOwner, p.Owner, "owner"); err != nil {
			return err
		}
		if p.Owner.Set {
			if err := checkUser(ctx, tx, "owner", t.RemediationOwner); err != nil {
				return err
			}
		}
		setTime(&t.RemediationDue, p.Due)
		if err := setText(&t.RemediationNotes, p.Notes, "notes", maxLongText, false); err != nil {
			return err
		}
		if p.Status.Set {
			st := ""
			if p.Status.Value != nil {
				st = *p.Status.Value
			}
			switch st {
			case core.RemediationOpen, core.RemediationInProgress, core.RemediationWontFix:
				t.RemediationStatus = st
			case core.RemediationCompleted:
				return core.FieldError("status", "complete a remediation with the complete action: it creates the retest")
			default:
				return core.FieldError("status", "%q is not a remediation status (open, in_progress, wont_fix)", st)
			}
		} else if t.RemediationStatus == core.RemediationNone {
			t.RemediationStatus = core.RemediationOpen
		}
		if err := tx.UpdateTest(ctx, t); err != nil {
			return err
		}
		if err := audit(ctx, tx, actor, "test.remediation", t, map[string]any{"status": t.RemediationStatus,
			"owner": t.RemediationOwner, "due": t.RemediationDue, "version": t.Version}); err != nil {
			return err
		}
		if t.RemediationOwner != nil && *t.RemediationOwner != actor.ID && (prevOwner == nil || *prevOwner != *t.RemediationOwner) {
			if err := tx.Notify(ctx, []string{*t.RemediationOwner}, core.Notification{Kind: "test.remediation_assigned",
				Title: "Remediation assigned to you: " + t.Title, EntityType: "test", EntityID: t.ID}); err != nil {
				return err
			}
		}
		d, err = detailOf(ctx, tx, actor, t)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// RemediationResult is the test after its remediation completed, and the retest
// created from it (nil, with RetestSkipped saying why, at the end of a chain).
type RemediationResult struct {
	Test          *core.Test `json:"test"`
	Retest        *core.Test `json:"retest"`
	RetestSkipped string     `json:"retest_skipped,omitempty"`
}

// CompleteRemediation marks the remediation of a validated test completed and creates
// its retest: a new draft with the same technique, template and procedure, retest_of
// pointing at this test, one deeper in the chain (at most core.MaxRetestDepth).
func (s *Service) CompleteRemediation(ctx context.Context, actor *core.User, id string, version int, notes string) (*RemediationResult, error) {
	res := &RemediationResult{}
	_, err := s.transition(ctx, actor, id, version, ActionCompleteRemediation, step{
		before: func(tx core.Tx, t *core.Test) error {
			switch t.RemediationStatus {
			case core.RemediationOpen, core.RemediationInProgress:
			default:
				return &core.Error{Code: core.ECONFLICT,
					Message: fmt.Sprintf("the remediation of test %s is %s: only an open or in-progress remediation can be completed", t.ID, t.RemediationStatus),
					Detail:  map[string]any{"remediation_status": t.RemediationStatus, "current_version": t.Version}}
			}
			now := s.Now()
			t.RemediationStatus, t.RemediationCompletedAt = core.RemediationCompleted, &now
			if n := strings.TrimSpace(notes); n != "" {
				t.RemediationNotes = strings.TrimSpace(strings.Join(nonEmpty(t.RemediationNotes, n), "\n\n"))
			}
			return nil
		},
		after: func(tx core.Tx, t *core.Test) error {
			res.Test = t
			if t.RetestDepth >= core.MaxRetestDepth {
				res.RetestSkipped = fmt.Sprintf("test %s is retest %d of its chain; at most %d retests follow one test", t.ID, t.RetestDepth, core.MaxRetestDepth)
				return audit(ctx, tx, actor, "test.retest_skipped", t, map[string]any{"reason": res.RetestSkipped})
			}
			r := NewRetest(t, actor)
			if err := tx.CreateTest(ctx, r); err != nil {
				return fmt.Errorf("create retest of %s: %w", t.ID, err)
			}
			res.Retest = r
			if err := audit(ctx, tx, actor, "test.retest_created", r, map[string]any{"retest_of": t.ID, "retest_depth": r.RetestDepth}); err != nil {
				return err
			}
			return notifyOwner(ctx, tx, actor, r, "test.retest", "Retest created after remediation: "+r.Title, "")
		},
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// NewRetest builds the retest of t: what was run and against what, not what was found.
func NewRetest(t *core.Test, actor *core.User) *core.Test {
	orig := t.ID
	title := strings.TrimSpace(strings.TrimPrefix(t.Title, fmt.Sprintf("Retest %d: ", t.RetestDepth)))
	return &core.Test{
		Title:        fmt.Sprintf("Retest %d: %s", t.RetestDepth+1, title),
		Description:  t.Description,
		TechniqueID:  t.TechniqueID,
		TemplateID:   t.TemplateID,
		Platform:     t.Platform,
		Procedure:    t.Procedure,
		Command:      t.Command,
		Target:       t.Target,
		AssignedRed:  t.AssignedRed,
		AssignedBlue: t.AssignedBlue,
		CreatedBy:    &actor.ID,
		RetestOf:     &orig,
		RetestDepth:  t.RetestDepth + 1,
		State:        core.StateDraft,
	}
}

func notifyRoles(ctx context.Context, tx core.Tx, actor *core.User, t *core.Test, kind, title string, roles ...core.Role) error {
	n := core.Notification{Kind: kind, Title: title, EntityType: "test", EntityID: t.ID}
	if err := core.NotifyRoles(ctx, tx, n, actor.ID, roles...); err != nil {
		return fmt.Errorf("notify %s of test %s: %w", kind, t.ID, err)
	}
	return nil
}

// notifyAssigned tells a newly assigned red operator or blue analyst (not the actor,
// who knows) that the test is now theirs.
func notifyAssigned(ctx context.Context, tx core.Tx, actor *core.User, t *core.Test, prevRed, prevBlue *string) error {
	for _, a := range []struct {
		now, prev *string
		team      string
	}{{t.AssignedRed, prevRed, "red"}, {t.AssignedBlue, prevBlue, "blue"}} {
		if a.now == nil || *a.now == actor.ID || (a.prev != nil && *a.prev == *a.now) {
			continue
		}
		n := core.Notification{Kind: "test.assigned", Title: "Test assigned to you (" + a.team + "): " + t.Title, EntityType: "test", EntityID: t.ID}
		if err := tx.Notify(ctx, []string{*a.now}, n); err != nil {
			return fmt.Errorf("notify the assignment of test %s: %w", t.ID, err)
		}
	}
	return nil
}

// notifyOwner tells the test's creator and its red operator (not the actor).
func notifyOwner(ctx context.Context, tx core.Tx, actor *core.User, t *core.Test, kind, title, body string) error {
	var to []string
	for _, id := range []*string{t.CreatedBy, t.AssignedRed} {
		if id != nil && *id != actor.ID && !slices.Contains(to, *id) {
			to = append(to, *id)
		}
	}
	if len(to) == 0 {
		return nil
	}
	n := core.Notification{Kind: kind, Title: title, Body: body, EntityType: "test", EntityID: t.ID}
	if err := tx.Notify(ctx, to, n); err != nil {
		return fmt.Errorf("notify %s of test %s: %w", kind, t.ID, err)
	}
	return nil
}

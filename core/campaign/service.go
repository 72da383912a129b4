package campaign

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aegis-sec/aegis/core"
)

// Managers plan and run campaigns: the leads and admins.
var Managers = []core.Role{core.RoleAdmin, core.RoleRedLead, core.RoleBlueLead}

// Service manages campaigns.
type Service struct {
	store core.Store
	now   func() time.Time
}

// New returns the service; now is its clock (nil: the real one).
func New(st core.Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, now: now}
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// TestInput is a test's place in a campaign: the list order is the run order.
type TestInput struct {
	TestID    string   `json:"test_id"`
	DependsOn []string `json:"depends_on"`
}

// Input creates a campaign or changes one; nil fields are left alone on update. The
// dates can also be cleared: absent leaves a date alone, null removes it.
type Input struct {
	Name          *string             `json:"name"`
	Description   *string             `json:"description"`
	ThreatActorID *string             `json:"threat_actor_id"`
	Recurrence    *core.Recurrence    `json:"recurrence"`
	StartDate     core.Opt[time.Time] `json:"start_date,omitzero"`
	EndDate       core.Opt[time.Time] `json:"end_date,omitzero"`
	Tests         *[]TestInput        `json:"tests"`
}

// Detail is a campaign with its ordered tests and progress.
type Detail struct {
	*core.Campaign
	Tests    []*core.CampaignTest `json:"tests"`
	Progress Progress             `json:"progress"`
}

func allow(u *core.User) error {
	if u == nil {
		return core.Errorf(core.EUNAUTHORIZED, "sign in first")
	}
	if !slices.Contains(Managers, u.Role) {
		return core.Errorf(core.EFORBIDDEN, "the %s role may not manage campaigns", u.Role)
	}
	return nil
}

func audit(ctx context.Context, tx core.Tx, actor *core.User, action string, c *core.Campaign, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	details["name"] = c.Name
	return tx.AppendAudit(ctx, core.NewAudit(actor, action, "campaign", c.ID, details))
}

func detail(ctx context.Context, tx core.Tx, c *core.Campaign) (*Detail, error) {
	tests, err := tx.CampaignTests(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	return &Detail{Campaign: c, Tests: tests, Progress: ProgressOf(tests)}, nil
}

// Get reads a campaign with its tests and progress.
func (s *Service) Get(ctx context.Context, id string) (*Detail, error) {
	var out *Detail
	err := s.store.View(ctx, func(tx core.Tx) error {
		c, err := tx.CampaignByID(ctx, id)
		if err != nil {
			return err
		}
		out, err = detail(ctx, tx, c)
		return err
	})
	return out, err
}

// Summary is a campaign in a listing, with its progress.
type Summary struct {
	*core.Campaign
	Progress Progress `json:"progress"`
}

// List lists campaigns with their progress.
func (s *Service) List(ctx context.Context, f core.CampaignFilter) ([]*Summary, int, error) {
	var out []*Summary
	var total int
	err := s.store.View(ctx, func(tx core.Tx) error {
		cs, n, err := tx.ListCampaigns(ctx, f)
		if err != nil {
			return err
		}
		total = n
		ids := make([]string, len(cs))
		for i, c := range cs {
			ids[i] = c.ID
		}
		progress, err := tx.CampaignsProgress(ctx, ids)
		if err != nil {
			return err
		}
		for _, c := range cs {
			out = append(out, &Summary{Campaign: c, Progress: ProgressOfKept(progress[c.ID])})
		}
		return nil
	})
	return out, total, err
}

// apply validates in and copies it onto c.
func (s *Service) apply(ctx context.Context, tx core.Tx, c *core.Campaign, in Input) error {
	if in.Name != nil {
		c.Name = strings.TrimSpace(*in.Name)
	}
	if c.Name == "" {
		return core.FieldError("name", "is required")
	}
	if len(c.Name) > 200 {
		return core.FieldError("name", "is longer than 200 characters")
	}
	if in.Description != nil {
		c.Description = *in.Description
	}
	if in.ThreatActorID != nil {
		if *in.ThreatActorID == "" {
			c.ThreatActorID = nil
		} else {
			if !core.ValidID(*in.ThreatActorID) {
				return core.FieldError("threat_actor_id", "%q is not an id", *in.ThreatActorID)
			}
			if _, err := tx.ThreatActorByID(ctx, *in.ThreatActorID); err != nil {
				return core.FieldError("threat_actor_id", "no threat actor %s", *in.ThreatActorID)
			}
			id := *in.ThreatActorID
			c.ThreatActorID = &id
		}
	}
	if in.StartDate.Set {
		c.StartDate = utc(in.StartDate.Value)
	}
	if in.EndDate.Set {
		c.EndDate = utc(in.EndDate.Value)
	}
	if c.StartDate != nil && c.EndDate != nil && c.EndDate.Before(*c.StartDate) {
		return core.FieldError("end_date", "is before start_date")
	}
	if in.Recurrence != nil {
		switch *in.Recurrence {
		case core.RecurNone, core.RecurWeekly, core.RecurMonthly, core.RecurQuarterly:
		default:
			return core.FieldError("recurrence", "%q is not a recurrence (none, weekly, monthly, quarterly)", *in.Recurrence)
		}
		if *in.Recurrence != c.Recurrence || c.NextRunAt == nil {
			c.Recurrence = *in.Recurrence
			c.NextRunAt = nil
			if c.Recurrence != core.RecurNone {
				from := s.clock()
				if c.StartDate != nil {
					from = *c.StartDate
				}
				next := NextRun(from, c.Recurrence, from.Day())
				c.NextRunAt = &next
			}
		}
	}
	if c.Recurrence == "" {
		c.Recurrence = core.RecurNone
	}
	return nil
}

// utc is t in UTC, nil for nil.
func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// setTests checks and stores a campaign's tests.
func setTests(ctx context.Context, tx core.Tx, c *core.Campaign, in []TestInput) error {
	titles := map[string]string{}
	for _, t := range in {
		if core.ValidID(t.TestID) {
			te, err := tx.TestByID(ctx, t.TestID)
			if err != nil {
				return core.FieldError("tests", "no test %s", t.TestID)
			}
			titles[t.TestID] = te.Title
		}
	}
	name := func(id string) string {
		if t, ok := titles[id]; ok {
			return fmt.Sprintf("%q (%s)", t, id)
		}
		return id
	}
	if err := CheckOrder(in, name); err != nil {
		return err
	}
	list := make([]*core.CampaignTest, len(in))
	for i, t := range in {
		list[i] = &core.CampaignTest{TestID: t.TestID, Position: i + 1, DependsOn: t.DependsOn}
	}
	return tx.SetCampaignTests(ctx, c.ID, list)
}

// Create plans a new campaign.
func (s *Service) Create(ctx context.Context, actor *core.User, in Input) (*Detail, error) {
	if err := allow(actor); err != nil {
		return nil, err
	}
	c := &core.Campaign{Status: core.CampaignPlanned, Recurrence: core.RecurNone, CreatedBy: &actor.ID}
	var out *Detail
	err := s.store.Update(ctx, func(tx core.Tx) error {
		if err := s.apply(ctx, tx, c, in); err != nil {
			return err
		}
		if err := tx.CreateCampaign(ctx, c); err != nil {
			return err
		}
		if in.Tests != nil {
			if err := setTests(ctx, tx, c, *in.Tests); err != nil {
				return err
			}
		}
		if err := audit(ctx, tx, actor, "campaign.create", c, map[string]any{"recurrence": c.Recurrence}); err != nil {
			return err
		}
		var err error
		out, err = detail(ctx, tx, c)
		return err
	})
	return out, err
}

// Update changes a campaign; a completed or cancelled one is read-only.
func (s *Service) Update(ctx context.Context, actor *core.User, id string, in Input) (*Detail, error) {
	if err := allow(actor); err != nil {
		return nil, err
	}
	var out *Detail
	err := s.store.Update(ctx, func(tx core.Tx) error {
		c, err := tx.CampaignByID(ctx, id)
		if err != nil {
			return err
		}
		if c.Status == core.CampaignCompleted || c.Status == core.CampaignCancelled {
			return core.Errorf(core.ECONFLICT, "campaign %q is %s and can no longer change", c.Name, c.Status)
		}
		if err := s.apply(ctx, tx, c, in); err != nil {
			return err
		}
		if err := tx.UpdateCampaign(ctx, c); err != nil {
			return err
		}
		if in.Tests != nil {
			if err := setTests(ctx, tx, c, *in.Tests); err != nil {
				return err
			}
		}
		if err := audit(ctx, tx, actor, "campaign.update", c, nil); err != nil {
			return err
		}
		out, err = detail(ctx, tx, c)
		return err
	})
	return out, err
}

// Delete removes a campaign (its tests stay).
func (s *Service) Delete(ctx context.Context, actor *core.User, id string) error {
	if err := allow(actor); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx core.Tx) error {
		c, err := tx.CampaignByID(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteCampaign(ctx, id); err != nil {
			return err
		}
		return audit(ctx, tx, actor, "campaign.delete", c, nil)
	})
}

// transitions lists the allowed status changes.
var transitions = map[core.CampaignStatus][]core.CampaignStatus{
	core.CampaignPlanned: {core.CampaignActive, core.CampaignCancelled},
	core.CampaignActive:  {core.CampaignCompleted, core.CampaignCancelled},
}

// SetStatus moves a campaign through its lifecycle: planned → active → completed, and
// planned or active → cancelled. Starting sets the start date, finishing the end date.
func (s *Service) SetStatus(ctx context.Context, actor *core.User, id string, to core.CampaignStatus) (*Detail, error) {
	if err := allow(actor); err != nil {
		return nil, err
	}
	if !slices.Contains(core.CampaignStatuses, to) {
		return nil, core.FieldError("status", "%q is not a campaign status (planned, active, completed, cancelled)", to)
	}
	var out *Detail
	err := s.store.Update(ctx, func(tx core.Tx) error {
		c, err := tx.CampaignByID(ctx, id)
		if err != nil {
			return err
		}
		if !slices.Contains(transitions[c.Status], to) {
			return &core.Error{Code: core.ECONFLICT, Message: fmt.Sprintf("campaign %q is %s: it cannot become %q", c.Name, c.Status, to),
				Detail: map[string]any{"status": c.Status, "allowed": transitions[c.Status]}}
		}
		from := c.Status
		now := s.clock()
		c.Status = to
		switch to {
		case core.CampaignActive:
			if c.StartDate == nil {
				c.StartDate = &now
			}
		case core.CampaignCompleted, core.CampaignCancelled:
			c.EndDate = &now
		}
		if err := tx.UpdateCampaign(ctx, c); err != nil {
			return err
		}
		if err := audit(ctx, tx, actor, "campaign.status", c, map[string]any{"from": from, "to": to}); err != nil {
			return err
		}
		out, err = detail(ctx, tx, c)
		return err
	})
	return out, err
}

// RunRecurring clones every recurring campaign that is due: a new planned campaign
// (parent_campaign_id → the original) with fresh draft copies of its tests and the same
// dependencies; the original's next run moves past now. A job that missed several
// periods makes one clone, not a backlog. It returns the clones.
func (s *Service) RunRecurring(ctx context.Context) ([]*core.Campaign, error) {
	now := s.clock()
	var clones []*core.Campaign
	err := s.store.Update(ctx, func(tx core.Tx) error {
		clones = nil // the transaction may be run again (core.Store.Update)
		due, err := tx.DueRecurringCampaigns(ctx, now)
		if err != nil {
			return err
		}
		for _, c := range due {
			clone, err := s.recur(ctx, tx, c, now)
			if err != nil {
				return fmt.Errorf("recur campaign %s: %w", c.ID, err)
			}
			clones = append(clones, clone)
		}
		return nil
	})
	return clones, err
}

func (s *Service) recur(ctx context.Context, tx core.Tx, c *core.Campaign, now time.Time) (*core.Campaign, error) {
	runAt := *c.NextRunAt
	anchor := runAt.Day()
	if c.StartDate != nil {
		anchor = c.StartDate.Day()
	}
	clone := &core.Campaign{Name: c.Name + " — " + runAt.Format("2006-01-02"), Description: c.Description, Status: core.CampaignPlanned,
		ThreatActorID: c.ThreatActorID, Recurrence: core.RecurNone, ParentCampaignID: &c.ID, StartDate: &runAt,
		CreatedBy: c.CreatedBy, Source: "recurrence"}
	if err := tx.CreateCampaign(ctx, clone); err != nil {
		return nil, err
	}
	tests, err := tx.CampaignTests(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	newID := map[string]string{}
	for _, ct := range tests {
		orig, err := tx.TestByID(ctx, ct.TestID)
		if err != nil {
			return nil, err
		}
		t := &core.Test{Title: orig.Title, Description: orig.Description, TechniqueID: orig.TechniqueID, TemplateID: orig.TemplateID,
			Platform: orig.Platform, Procedure: orig.Procedure, Command: orig.Command, Target: orig.Target,
			AssignedRed: orig.AssignedRed, AssignedBlue: orig.AssignedBlue, CreatedBy: c.CreatedBy}
		if err := tx.CreateTest(ctx, t); err != nil {
			return nil, err
		}
		newID[ct.TestID] = t.ID
	}
	list := make([]*core.CampaignTest, len(tests))
	for i, ct := range tests {
		deps := make([]string, len(ct.DependsOn))
		for j, d := range ct.DependsOn {
			deps[j] = newID[d]
		}
		list[i] = &core.CampaignTest{TestID: newID[ct.TestID], Position: ct.Position, DependsOn: deps}
	}
	if err := tx.SetCampaignTests(ctx, clone.ID, list); err != nil {
		return nil, err
	}
	next := runAt
	for !next.After(now) {
		next = NextRun(next, c.Recurrence, anchor)
	}
	c.NextRunAt = &next
	if err := tx.UpdateCampaign(ctx, c); err != nil {
		return nil, err
	}
	return clone, audit(ctx, tx, nil, "campaign.recurred", clone, map[string]any{"parent": c.ID, "run_at": runAt, "next_run_at": next,
		"tests": len(list)})
}

// BuildInput names a built campaign and narrows its platforms.
type BuildInput struct {
	Name string `json:"name"`
	// Platforms limits the tests to these platforms (letter case ignored); empty means
	// every platform some template covers.
	Platforms []string `json:"platforms"`
}

// Built is a campaign made from an actor or profile, and what could not be tested.
type Built struct {
	*Detail
	// Untestable are the techniques (for an adversary profile: the abilities) no active
	// template on the platforms asked covers.
	Untestable []string `json:"untestable"`
}

// FromActor builds a planned campaign against a threat actor: its techniques × the
// best template per platform (the one most detection rules are expected to fire on).
func (s *Service) FromActor(ctx context.Context, actor *core.User, actorID string, in BuildInput) (*Built, error) {
	if err := allow(actor); err != nil {
		return nil, err
	}
	var out *Built
	err := s.store.Update(ctx, func(tx core.Tx) error {
		a, err := core.ThreatActorByRef(ctx, tx, actorID)
		if err != nil {
			return err
		}
		techs := make([]string, len(a.Techniques))
		for i, l := range a.Techniques {
			techs[i] = l.TechniqueID
		}
		name := in.Name
		if name == "" {
			name = "Emulate " + a.Name + " (" + a.ExternalID + ")"
		}
		c := &core.Campaign{Name: name, Description: "Built from threat actor " + a.Name + " (" + a.ExternalID + ")",
			Status: core.CampaignPlanned, Recurrence: core.RecurNone, ThreatActorID: &a.ID, CreatedBy: &actor.ID, Source: "threat_actor", ExternalID: a.ExternalID}
		out, err = s.build(ctx, tx, actor, c, techs, in.Platforms)
		return err
	})
	return out, err
}

// FromProfile builds a planned campaign from an imported profile: an ATT&CK campaign
// like an actor (its techniques × best template per platform), an adversary profile as
// its ordered abilities, each waiting for the one before.
func (s *Service) FromProfile(ctx context.Context, actor *core.User, profileID string, in BuildInput) (*Built, error) {
	if err := allow(actor); err != nil {
		return nil, err
	}
	var out *Built
	err := s.store.Update(ctx, func(tx core.Tx) error {
		p, err := tx.CampaignProfileByID(ctx, profileID)
		if err != nil {
			return err
		}
		name := in.Name
		if name == "" {
			name = p.Name + " (" + p.ExternalID + ")"
		}
		c := &core.Campaign{Name: name, Description: "Built from imported " + strings.ReplaceAll(p.Kind, "_", " ") + " " + p.Name,
			Status: core.CampaignPlanned, Recurrence: core.RecurNone, CreatedBy: &actor.ID, Source: p.Source, ExternalID: p.ExternalID}
		if p.Kind == "adversary_profile" {
			out, err = s.buildProfile(ctx, tx, actor, c, p, in.Platforms)
		} else {
			out, err = s.build(ctx, tx, actor, c, p.TechniqueIDs, in.Platforms)
		}
		return err
	})
	return out, err
}

func wantPlatform(platforms []string, p string) bool {
	if len(platforms) == 0 {
		return true
	}
	for _, x := range platforms {
		if strings.EqualFold(x, p) {
			return true
		}
	}
	return false
}

// better says whether template a beats b for a technique and platform.
func better(a, b core.TemplateChoice) bool {
	if a.Rules != b.Rules {
		return a.Rules > b.Rules
	}
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	return a.TemplateID < b.TemplateID
}

type planned struct {
	technique, platform string
	tpl                 core.TemplateChoice
}

func (s *Service) build(ctx context.Context, tx core.Tx, actor *core.User, c *core.Campaign, techs, platforms []string) (*Built, error) {
	choices, err := tx.TemplateChoices(ctx, core.TemplateQuery{Techniques: techs})
	if err != nil {
		return nil, err
	}
	best := map[[2]string]core.TemplateChoice{}
	for _, ch := range choices {
		for _, p := range ch.Platforms {
			p = strings.ToLower(p)
			if !wantPlatform(platforms, p) {
				continue
			}
			k := [2]string{ch.TechniqueID, p}
			if cur, ok := best[k]; !ok || better(ch, cur) {
				best[k] = ch
			}
		}
	}
	var plan []planned
	for k, ch := range best {
		plan = append(plan, planned{k[0], k[1], ch})
	}
	sort.Slice(plan, func(i, j int) bool {
		if plan[i].technique != plan[j].technique {
			return plan[i].technique < plan[j].technique
		}
		return plan[i].platform < plan[j].platform
	})
	covered := map[string]bool{}
	for _, p := range plan {
		covered[p.technique] = true
	}
	out := &Built{Untestable: []string{}}
	seen := map[string]bool{}
	for _, t := range techs {
		if !covered[t] && !seen[t] {
			out.Untestable = append(out.Untestable, t)
		}
		seen[t] = true
	}
	out.Detail, err = s.createPlanned(ctx, tx, actor, c, plan, false)
	return out, err
}

// createPlanned creates the campaign and one draft test per planned item.
func (s *Service) createPlanned(ctx context.Context, tx core.Tx, actor *core.User, c *core.Campaign, plan []planned, chain bool) (*Detail, error) {
	if err := tx.CreateCampaign(ctx, c); err != nil {
		return nil, err
	}
	list := make([]*core.CampaignTest, 0, len(plan))
	for i, p := range plan {
		te, err := tx.TechniqueByExternalID(ctx, p.technique)
		if err != nil {
			return nil, err
		}
		tplID := p.tpl.TemplateID
		t := &core.Test{Title: p.tpl.Name, Description: p.tpl.Description, TechniqueID: te.ID, TemplateID: &tplID, Platform: p.platform,
			Command: p.tpl.Command, CreatedBy: &actor.ID}
		if err := tx.CreateTest(ctx, t); err != nil {
			return nil, err
		}
		ct := &core.CampaignTest{TestID: t.ID, Position: i + 1, DependsOn: []string{}}
		if chain && i > 0 {
			ct.DependsOn = []string{list[i-1].TestID}
		}
		list = append(list, ct)
	}
	if err := tx.SetCampaignTests(ctx, c.ID, list); err != nil {
		return nil, err
	}
	if err := audit(ctx, tx, actor, "campaign.build", c, map[string]any{"source": c.Source, "from": c.ExternalID, "tests": len(list)}); err != nil {
		return nil, err
	}
	return detail(ctx, tx, c)
}

// buildProfile turns an adversary profile's abilities, in order, into a chain of tests.
func (s *Service) buildProfile(ctx context.Context, tx core.Tx, actor *core.User, c *core.Campaign, p *core.CampaignProfile, platforms []string) (*Built, error) {
	choices, err := tx.TemplateChoices(ctx, core.TemplateQuery{Source: p.Source, ExternalIDs: p.TemplateIDs})
	if err != nil {
		return nil, err
	}
	byExt := map[string]core.TemplateChoice{}
	for _, ch := range choices {
		if _, ok := byExt[ch.ExternalID]; !ok {
			byExt[ch.ExternalID] = ch
		}
	}
	out := &Built{Untestable: []string{}}
	var plan []planned
	for _, id := range p.TemplateIDs {
		ch, ok := byExt[id]
		if !ok {
			out.Untestable = append(out.Untestable, id)
			continue
		}
		platform := ""
		for _, pl := range ch.Platforms {
			if wantPlatform(platforms, pl) {
				platform = strings.ToLower(pl)
				break
			}
		}
		if platform == "" && len(platforms) > 0 {
			out.Untestable = append(out.Untestable, id)
			continue
		}
		plan = append(plan, planned{ch.TechniqueID, platform, ch})
	}
	out.Detail, err = s.createPlanned(ctx, tx, actor, c, plan, true)
	return out, err
}

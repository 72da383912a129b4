package testflow

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aegis-sec/aegis/core"
)

// Opt, Some and Null are core's: a field of a partial update that can be absent, null
// (clear it) or a value.
type Opt[T any] = core.Opt[T]

// Some returns an Opt holding v.
func Some[T any](v T) Opt[T] { return core.Some(v) }

// Null returns an Opt that clears the field.
func Null[T any]() Opt[T] { return core.Null[T]() }

// Patch is a partial update of a test's own fields. State, version, review and
// remediation fields are not in it: they change only through actions.
type Patch struct {
	// Plan.
	Title       Opt[string] `json:"title,omitzero"`
	Description Opt[string] `json:"description,omitzero"`
	TechniqueID Opt[string] `json:"technique_id,omitzero"`
	TemplateID  Opt[string] `json:"template_id,omitzero"`
	Platform    Opt[string] `json:"platform,omitzero"`
	// Assignment.
	AssignedRed  Opt[string] `json:"assigned_red,omitzero"`
	AssignedBlue Opt[string] `json:"assigned_blue,omitzero"`
	// Red team.
	Procedure     Opt[string]    `json:"procedure,omitzero"`
	Command       Opt[string]    `json:"command,omitzero"`
	Target        Opt[string]    `json:"target,omitzero"`
	ExecutedAt    Opt[time.Time] `json:"executed_at,omitzero"`
	ExecutedBy    Opt[string]    `json:"executed_by,omitzero"`
	AttackOutcome Opt[string]    `json:"attack_outcome,omitzero"`
	RedNotes      Opt[string]    `json:"red_notes,omitzero"`
	// Blue team.
	Prevented       Opt[bool]                  `json:"prevented,omitzero"`
	PreventedAt     Opt[time.Time]             `json:"prevented_at,omitzero"`
	Alerted         Opt[bool]                  `json:"alerted,omitzero"`
	AlertedAt       Opt[time.Time]             `json:"alerted_at,omitzero"`
	Logged          Opt[bool]                  `json:"logged,omitzero"`
	LoggedAt        Opt[time.Time]             `json:"logged_at,omitzero"`
	NotApplicable   Opt[bool]                  `json:"not_applicable,omitzero"`
	ControlOutcomes Opt[[]core.ControlOutcome] `json:"control_outcomes,omitzero"`
	BlueNotes       Opt[string]                `json:"blue_notes,omitzero"`
}

// Field groups: who may edit a field depends on its group and the test's state.
const (
	GroupPlan   = "plan"
	GroupAssign = "assignment"
	GroupRed    = "red"
	GroupBlue   = "blue"
)

// EditRule says which roles may edit a group of fields, and in which states. Admins may
// edit every field in every state (and the audit log records that they did).
type EditRule struct {
	Group  string
	Fields []string
	Roles  []core.Role
	States []core.TestState
}

// EditRules is the field permission table.
var EditRules = []EditRule{
	{GroupPlan, []string{"title", "description", "technique_id", "template_id", "platform"},
		[]core.Role{core.RoleRedTech, core.RoleRedLead}, []core.TestState{core.StateDraft, core.StateRedExecuting}},
	{GroupAssign, []string{"assigned_red", "assigned_blue"},
		[]core.Role{core.RoleRedLead, core.RoleBlueLead},
		[]core.TestState{core.StateDraft, core.StateRedExecuting, core.StateBlueEvaluating, core.StateInReview, core.StateRejected}},
	{GroupRed, []string{"procedure", "command", "target", "executed_at", "executed_by", "attack_outcome", "red_notes"},
		[]core.Role{core.RoleRedTech, core.RoleRedLead}, []core.TestState{core.StateRedExecuting}},
	{GroupBlue, []string{"prevented", "prevented_at", "alerted", "alerted_at", "logged", "logged_at", "not_applicable", "control_outcomes", "blue_notes",
		"detection_results"},
		[]core.Role{core.RoleBlueTech, core.RoleBlueLead}, []core.TestState{core.StateBlueEvaluating}},
}

func ruleOf(field string) (EditRule, bool) {
	for _, r := range EditRules {
		if slices.Contains(r.Fields, field) {
			return r, true
		}
	}
	return EditRule{}, false
}

// CheckEdit checks that role may change fields of a test in state. A role that may never
// edit a field is EFORBIDDEN; one that may, but not in this state, is ECONFLICT naming
// the state.
func CheckEdit(role core.Role, state core.TestState, fields []string) error {
	if role == core.RoleAdmin {
		return nil
	}
	for _, f := range fields {
		r, ok := ruleOf(f)
		if !ok {
			return core.FieldError(f, "cannot be edited")
		}
		if !slices.Contains(r.Roles, role) {
			return &core.Error{Code: core.EFORBIDDEN, Field: f,
				Message: fmt.Sprintf("the %s role may not edit %s fields", role, r.Group)}
		}
		if !slices.Contains(r.States, state) {
			states := make([]string, len(r.States))
			for i, s := range r.States {
				states[i] = string(s)
			}
			return &core.Error{Code: core.ECONFLICT, Field: f,
				Message: fmt.Sprintf("the test is %s: %s fields can be edited only when it is %s", state, r.Group, strings.Join(states, " or ")),
				Detail:  map[string]any{"state": state}}
		}
	}
	return nil
}

// CheckValues refuses values outside a field's fixed set, whatever the test's state.
func (p *Patch) CheckValues() error {
	if p.AttackOutcome.Set && p.AttackOutcome.Value != nil {
		if v := *p.AttackOutcome.Value; v != "" && !slices.Contains(core.AttackOutcomes, v) {
			return core.FieldError("attack_outcome", "%q is not an outcome (%s)", v, strings.Join(core.AttackOutcomes, ", "))
		}
	}
	return nil
}

// Fields lists the JSON names of the fields the patch sets, in a stable order.
func (p *Patch) Fields() []string {
	var out []string
	add := func(set bool, name string) {
		if set {
			out = append(out, name)
		}
	}
	add(p.Title.Set, "title")
	add(p.Description.Set, "description")
	add(p.TechniqueID.Set, "technique_id")
	add(p.TemplateID.Set, "template_id")
	add(p.Platform.Set, "platform")
	add(p.AssignedRed.Set, "assigned_red")
	add(p.AssignedBlue.Set, "assigned_blue")
	add(p.Procedure.Set, "procedure")
	add(p.Command.Set, "command")
	add(p.Target.Set, "target")
	add(p.ExecutedAt.Set, "executed_at")
	add(p.ExecutedBy.Set, "executed_by")
	add(p.AttackOutcome.Set, "attack_outcome")
	add(p.RedNotes.Set, "red_notes")
	add(p.Prevented.Set, "prevented")
	add(p.PreventedAt.Set, "prevented_at")
	add(p.Alerted.Set, "alerted")
	add(p.AlertedAt.Set, "alerted_at")
	add(p.Logged.Set, "logged")
	add(p.LoggedAt.Set, "logged_at")
	add(p.NotApplicable.Set, "not_applicable")
	add(p.ControlOutcomes.Set, "control_outcomes")
	add(p.BlueNotes.Set, "blue_notes")
	return out
}

// Text limits keep one test row reasonable; evidence is where large material goes.
const (
	maxShortText = core.MaxNameBytes
	maxLongText  = core.MaxTextBytes
)

func setText(dst *string, o Opt[string], field string, max int, required bool) error {
	if !o.Set {
		return nil
	}
	if o.Value == nil {
		if required {
			return core.FieldError(field, "may not be null")
		}
		*dst = ""
		return nil
	}
	v := *o.Value
	if required && strings.TrimSpace(v) == "" {
		return core.FieldError(field, "may not be empty")
	}
	if len(v) > max {
		return core.FieldError(field, "is longer than %d bytes", max)
	}
	*dst = v
	return nil
}

func setID(dst **string, o Opt[string], field string) error {
	if !o.Set {
		return nil
	}
	if o.Value == nil || *o.Value == "" {
		*dst = nil
		return nil
	}
	if !core.ValidID(*o.Value) {
		return core.FieldError(field, "%q is not an id", *o.Value)
	}
	v := *o.Value
	*dst = &v
	return nil
}

func setTime(dst **time.Time, o Opt[time.Time]) {
	if !o.Set {
		return
	}
	if o.Value == nil {
		*dst = nil
		return
	}
	v := o.Value.UTC().Truncate(time.Microsecond)
	*dst = &v
}

// setVerdict applies a prevented/alerted/logged verdict and its time: deciding a
// verdict stamps it now unless the patch gives the time, clearing it clears the time.
// The time says when the attack was prevented (alerted on, logged), so only a true
// verdict has one: a false verdict drops it, and a time sent with one is refused.
func setVerdict(field string, v **bool, at **time.Time, ov Opt[bool], oat Opt[time.Time], now time.Time) error {
	if ov.Set {
		if ov.Value == nil {
			*v, *at = nil, nil
		} else {
			b := *ov.Value
			changed := *v == nil || **v != b
			*v = &b
			if changed && !oat.Set {
				n := now
				*at = &n
			}
		}
	}
	setTime(at, oat)
	if *v == nil || !**v {
		if oat.Set && oat.Value != nil {
			return core.FieldError(field+"_at", "is kept only when %s is true", field)
		}
		*at = nil
	}
	return nil
}

// Apply writes the patch into t. It checks values (lengths, enums, id forms); that
// referenced rows exist is the service's job, since it needs the store.
func (p *Patch) Apply(t *core.Test, now time.Time) error {
	for _, f := range []struct {
		dst      *string
		o        Opt[string]
		name     string
		max      int
		required bool
	}{
		{&t.Title, p.Title, "title", maxShortText, true},
		{&t.Description, p.Description, "description", maxLongText, false},
		{&t.Platform, p.Platform, "platform", 100, false},
		{&t.Procedure, p.Procedure, "procedure", maxLongText, false},
		{&t.Command, p.Command, "command", maxLongText, false},
		{&t.Target, p.Target, "target", maxShortText, false},
		{&t.RedNotes, p.RedNotes, "red_notes", maxLongText, false},
		{&t.BlueNotes, p.BlueNotes, "blue_notes", maxLongText, false},
	} {
		if err := setText(f.dst, f.o, f.name, f.max, f.required); err != nil {
			return err
		}
	}
	if p.TechniqueID.Set {
		if p.TechniqueID.Value == nil || *p.TechniqueID.Value == "" {
			return core.FieldError("technique_id", "may not be empty")
		}
		t.TechniqueID = *p.TechniqueID.Value
	}
	for _, f := range []struct {
		dst  **string
		o    Opt[string]
		name string
	}{
		{&t.TemplateID, p.TemplateID, "template_id"},
		{&t.AssignedRed, p.AssignedRed, "assigned_red"},
		{&t.AssignedBlue, p.AssignedBlue, "assigned_blue"},
		{&t.ExecutedBy, p.ExecutedBy, "executed_by"},
	} {
		if err := setID(f.dst, f.o, f.name); err != nil {
			return err
		}
	}
	if p.ExecutedAt.Set && p.ExecutedAt.Value != nil && p.ExecutedAt.Value.After(now.Add(5*time.Minute)) {
		return core.FieldError("executed_at", "is in the future")
	}
	setTime(&t.ExecutedAt, p.ExecutedAt)
	if p.AttackOutcome.Set {
		v := ""
		if p.AttackOutcome.Value != nil {
			v = *p.AttackOutcome.Value
		}
		if v != "" && !slices.Contains(core.AttackOutcomes, v) {
			return core.FieldError("attack_outcome", "%q is not an outcome (%s)", v, strings.Join(core.AttackOutcomes, ", "))
		}
		t.AttackOutcome = v
	}
	for _, f := range []struct {
		name string
		v    **bool
		at   **time.Time
		ov   Opt[bool]
		oat  Opt[time.Time]
	}{
		{"prevented", &t.Prevented, &t.PreventedAt, p.Prevented, p.PreventedAt},
		{"alerted", &t.Alerted, &t.AlertedAt, p.Alerted, p.AlertedAt},
		{"logged", &t.Logged, &t.LoggedAt, p.Logged, p.LoggedAt},
	} {
		if err := setVerdict(f.name, f.v, f.at, f.ov, f.oat, now); err != nil {
			return err
		}
	}
	if p.NotApplicable.Set {
		t.NotApplicable = p.NotApplicable.Value != nil && *p.NotApplicable.Value
	}
	if p.ControlOutcomes.Set {
		var list []core.ControlOutcome
		if p.ControlOutcomes.Value != nil {
			list = *p.ControlOutcomes.Value
		}
		doc, err := encodeControlOutcomes(list, now)
		if err != nil {
			return err
		}
		t.ControlOutcomes = doc
	}
	return nil
}

// ParseControlOutcomes reads the per-control outcomes of a test.
func ParseControlOutcomes(doc core.JSON) ([]core.ControlOutcome, error) {
	if len(doc) == 0 || string(doc) == "null" {
		return nil, nil
	}
	var out []core.ControlOutcome
	if err := json.Unmarshal(doc, &out); err != nil {
		return nil, fmt.Errorf("control outcomes: %w", err)
	}
	return out, nil
}

func encodeControlOutcomes(list []core.ControlOutcome, now time.Time) (core.JSON, error) {
	seen := map[string]bool{}
	for i := range list {
		c := &list[i]
		c.Control = strings.TrimSpace(c.Control)
		key := strings.ToLower(c.Control)
		switch {
		case c.Control == "":
			return nil, core.FieldError(fmt.Sprintf("control_outcomes[%d].control", i), "is required")
		case len(c.Control) > 200:
			return nil, core.FieldError(fmt.Sprintf("control_outcomes[%d].control", i), "is longer than 200 bytes")
		case seen[key]:
			return nil, core.FieldError(fmt.Sprintf("control_outcomes[%d].control", i), "%q is listed twice", c.Control)
		}
		seen[key] = true
		if c.At == nil && (c.Prevented != nil || c.Alerted != nil || c.Logged != nil) {
			n := now
			c.At = &n
		}
	}
	if list == nil {
		list = []core.ControlOutcome{}
	}
	b, err := json.Marshal(list)
	if err != nil {
		return nil, fmt.Errorf("control outcomes: %w", err)
	}
	return core.JSON(b), nil
}

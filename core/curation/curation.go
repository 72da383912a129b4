// Package curation is what users change in the catalogs: their own ("custom") test
// templates and detection rules, which they create, edit and retire, and the active
// flag of every template and rule, imported or not. Imported entries are otherwise
// read-only: the next import would overwrite an edit, so the app refuses it instead.
package curation

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aegis-sec/aegis/core"
)

// Who may do what. The API's route table uses the same lists.
var (
	// TemplateEditors write custom templates: the red side runs them.
	TemplateEditors = []core.Role{core.RoleRedTech, core.RoleRedLead, core.RoleAdmin}
	// TemplateCurators retire templates and switch them on and off for everyone.
	TemplateCurators = []core.Role{core.RoleRedLead, core.RoleAdmin}
	// RuleEditors write custom detection rules: the blue side owns detection.
	RuleEditors = []core.Role{core.RoleBlueTech, core.RoleBlueLead, core.RoleAdmin}
	// RuleCurators retire rules and switch them on and off.
	RuleCurators = []core.Role{core.RoleBlueLead, core.RoleAdmin}
)

// Service applies catalog changes with their audit entries.
type Service struct{ store core.Store }

// New returns the service.
func New(st core.Store) *Service { return &Service{store: st} }

func allow(u *core.User, roles []core.Role, what string) error {
	if u == nil {
		return core.Errorf(core.EUNAUTHORIZED, "sign in first")
	}
	if !slices.Contains(roles, u.Role) {
		return core.Errorf(core.EFORBIDDEN, "the %s role may not %s", u.Role, what)
	}
	return nil
}

// TemplateInput is a custom template, or the changes to one: nil fields are left
// alone on update. Active may change on any template; the rest only on custom ones.
type TemplateInput struct {
	Name              *string   `json:"name"`
	Description       *string   `json:"description"`
	TemplateType      *string   `json:"template_type"`
	Tactic            *string   `json:"tactic"`
	Platforms         *[]string `json:"platforms"`
	ExecutorName      *string   `json:"executor_name"`
	Command           *string   `json:"command"`
	CleanupCommand    *string   `json:"cleanup_command"`
	ElevationRequired *bool     `json:"elevation_required"`
	ManualSteps       *string   `json:"manual_steps"`
	TechniqueIDs      *[]string `json:"technique_ids"`
	Active            *bool     `json:"active"`
}

func (in *TemplateInput) contentChanged() bool {
	return in.Name != nil || in.Description != nil || in.TemplateType != nil || in.Tactic != nil || in.Platforms != nil ||
		in.ExecutorName != nil || in.Command != nil || in.CleanupCommand != nil || in.ElevationRequired != nil ||
		in.ManualSteps != nil || in.TechniqueIDs != nil
}

func (in *TemplateInput) apply(t *core.TestTemplate) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	set(&t.Name, in.Name)
	set(&t.Description, in.Description)
	set(&t.TemplateType, in.TemplateType)
	set(&t.Tactic, in.Tactic)
	set(&t.ExecutorName, in.ExecutorName)
	set(&t.Command, in.Command)
	set(&t.CleanupCommand, in.CleanupCommand)
	set(&t.ManualSteps, in.ManualSteps)
	if in.Platforms != nil {
		t.Platforms = core.Strings(*in.Platforms)
	}
	if in.TechniqueIDs != nil {
		t.TechniqueIDs = *in.TechniqueIDs
	}
	if in.ElevationRequired != nil {
		t.ElevationRequired = *in.ElevationRequired
	}
}

// deref is the value of an optional input field ("" when absent).
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func derefList(p *[]string) []string {
	if p == nil {
		return nil
	}
	return *p
}

// check bounds every field (docs/SECURITY.md lists the limits).
func (in *TemplateInput) check() error {
	err := core.CheckTexts(
		core.TextField{Name: "name", Value: deref(in.Name), Max: core.MaxNameBytes},
		core.TextField{Name: "description", Value: deref(in.Description), Max: core.MaxTextBytes},
		core.TextField{Name: "template_type", Value: deref(in.TemplateType), Max: 100},
		core.TextField{Name: "tactic", Value: deref(in.Tactic), Max: core.MaxNameBytes},
		core.TextField{Name: "executor_name", Value: deref(in.ExecutorName), Max: 100},
		core.TextField{Name: "command", Value: deref(in.Command), Max: core.MaxTextBytes},
		core.TextField{Name: "cleanup_command", Value: deref(in.CleanupCommand), Max: core.MaxTextBytes},
		core.TextField{Name: "manual_steps", Value: deref(in.ManualSteps), Max: core.MaxTextBytes},
	)
	if err != nil {
		return err
	}
	if err := core.CheckList("platforms", derefList(in.Platforms), 100, 100); err != nil {
		return err
	}
	return core.CheckList("technique_ids", derefList(in.TechniqueIDs), core.MaxListItems, 100)
}

func readOnly(kind, source string) error {
	return core.Errorf(core.ECONFLICT, "this %s was imported from %q and is read-only (the next import would overwrite an edit); only its active flag can change", kind, source)
}

// recordChange audits the change. (The template ↔ rule links are derived when read, so
// a change to a template or a rule shows in them at once.)
func recordChange(ctx context.Context, tx core.Tx, actor *core.User, action, kind, id string, d map[string]any) error {
	if err := tx.AppendAudit(ctx, core.NewAudit(actor, action, kind, id, d)); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// CreateTemplate stores a new custom template.
func (s *Service) CreateTemplate(ctx context.Context, actor *core.User, in TemplateInput) (*core.TestTemplate, error) {
	if err := allow(actor, TemplateEditors, "write test templates"); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	t := &core.TestTemplate{ID: core.NewID(), Source: core.SourceCustom, TemplateType: "custom", Active: true, CreatedBy: &actor.ID}
	// The id doubles as the external id: custom entries have no upstream to be keyed by.
	t.ExternalID = t.ID
	in.apply(t)
	if in.Active != nil {
		t.Active = *in.Active
	}
	err := s.store.Update(ctx, func(tx core.Tx) error {
		if err := tx.UpsertTestTemplate(ctx, t); err != nil {
			return err
		}
		return recordChange(ctx, tx, actor, "template.create", "test_template", t.ID, map[string]any{"name": t.Name})
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// UpdateTemplate edits a custom template, or switches any template on or off.
func (s *Service) UpdateTemplate(ctx context.Context, actor *core.User, id string, in TemplateInput) (*core.TestTemplate, error) {
	if !core.ValidID(id) {
		return nil, core.Errorf(core.ENOTFOUND, "test template %q not found", id)
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	var t *core.TestTemplate
	err := s.store.Update(ctx, func(tx core.Tx) error {
		var err error
		if t, err = tx.TestTemplateByID(ctx, id); err != nil {
			return err
		}
		if in.contentChanged() {
			if err := allow(actor, TemplateEditors, "write test templates"); err != nil {
				return err
			}
			if t.Source != core.SourceCustom {
				return readOnly("template", t.Source)
			}
			in.apply(t)
			if err := tx.UpsertTestTemplate(ctx, t); err != nil {
				return err
			}
		}
		if in.Active != nil {
			if err := allow(actor, TemplateCurators, "switch templates on or off"); err != nil {
				return err
			}
			if _, err := tx.SetTestTemplatesActive(ctx, []string{id}, *in.Active); err != nil {
				return err
			}
			t.Active = *in.Active
		}
		if !in.contentChanged() && in.Active == nil {
			return core.Errorf(core.EINVALID, "nothing to change")
		}
		return recordChange(ctx, tx, actor, "template.update", "test_template", t.ID, map[string]any{"name": t.Name, "active": t.Active})
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// RetireTemplate marks a custom template deprecated and inactive. It stays, so tests
// created from it keep their link; it no longer seeds new tests.
func (s *Service) RetireTemplate(ctx context.Context, actor *core.User, id string) (*core.TestTemplate, error) {
	if err := allow(actor, TemplateCurators, "retire templates"); err != nil {
		return nil, err
	}
	if !core.ValidID(id) {
		return nil, core.Errorf(core.ENOTFOUND, "test template %q not found", id)
	}
	var t *core.TestTemplate
	err := s.store.Update(ctx, func(tx core.Tx) error {
		var err error
		if t, err = tx.TestTemplateByID(ctx, id); err != nil {
			return err
		}
		if t.Source != core.SourceCustom {
			return readOnly("template", t.Source)
		}
		t.Deprecated, t.Active = true, false
		if err := tx.UpsertTestTemplate(ctx, t); err != nil {
			return err
		}
		if _, err := tx.SetTestTemplatesActive(ctx, []string{id}, false); err != nil {
			return err
		}
		return recordChange(ctx, tx, actor, "template.retire", "test_template", t.ID, map[string]any{"name": t.Name})
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// BulkResult says how many of the requested entries exist and were set.
type BulkResult struct {
	Requested int  `json:"requested"`
	Updated   int  `json:"updated"`
	Active    bool `json:"active"`
}

func checkIDs(ids []string) error {
	if len(ids) == 0 {
		return core.FieldError("ids", "is required: at least one id")
	}
	if len(ids) > 1000 {
		return core.FieldError("ids", "at most 1000 ids at a time")
	}
	for _, id := range ids {
		if !core.ValidID(id) {
			return core.FieldError("ids", "%q is not an id", id)
		}
	}
	return nil
}

// BulkActivateTemplates switches many templates on or off at once.
func (s *Service) BulkActivateTemplates(ctx context.Context, actor *core.User, ids []string, active bool) (*BulkResult, error) {
	if err := allow(actor, TemplateCurators, "switch templates on or off"); err != nil {
		return nil, err
	}
	return s.bulk(ctx, actor, "template.bulk_activate", "test_template", ids, active, func(tx core.Tx) (int, error) {
		return tx.SetTestTemplatesActive(ctx, ids, active)
	})
}

// BulkActivateRules switches many detection rules on or off at once.
func (s *Service) BulkActivateRules(ctx context.Context, actor *core.User, ids []string, active bool) (*BulkResult, error) {
	if err := allow(actor, RuleCurators, "switch detection rules on or off"); err != nil {
		return nil, err
	}
	return s.bulk(ctx, actor, "detection_rule.bulk_activate", "detection_rule", ids, active, func(tx core.Tx) (int, error) {
		return tx.SetDetectionRulesActive(ctx, ids, active)
	})
}

func (s *Service) bulk(ctx context.Context, actor *core.User, action, kind string, ids []string, active bool, set func(core.Tx) (int, error)) (*BulkResult, error) {
	if err := checkIDs(ids); err != nil {
		return nil, err
	}
	res := &BulkResult{Requested: len(ids), Active: active}
	err := s.store.Update(ctx, func(tx core.Tx) error {
		var err error
		if res.Updated, err = set(tx); err != nil {
			return err
		}
		return recordChange(ctx, tx, actor, action, kind, "", map[string]any{"ids": ids, "active": active, "updated": res.Updated})
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// RuleInput is a custom detection rule, or the changes to one (nil: unchanged).
type RuleInput struct {
	Title          *string           `json:"title"`
	Description    *string           `json:"description"`
	Status         *string           `json:"status"`
	Level          *string           `json:"level" api:"enum=rule_level"`
	Author         *string           `json:"author"`
	Language       *string           `json:"language"`
	Query          *string           `json:"query"`
	Raw            *string           `json:"raw"`
	LogSource      *map[string]any   `json:"log_source"`
	Tags           *[]string         `json:"tags"`
	FalsePositives *[]string         `json:"false_positives"`
	TechniqueIDs   *[]string         `json:"technique_ids"`
	Active         *bool             `json:"active"`
	Detection      *map[string]any   `json:"detection"`
	References     *[]string         `json:"references"`
	Metadata       *map[string]any   `json:"metadata"`
	Related        *[]map[string]any `json:"related"`
}

func (in *RuleInput) contentChanged() bool {
	return in.Title != nil || in.Description != nil || in.Status != nil || in.Level != nil || in.Author != nil ||
		in.Language != nil || in.Query != nil || in.Raw != nil || in.LogSource != nil || in.Tags != nil ||
		in.FalsePositives != nil || in.TechniqueIDs != nil || in.Detection != nil || in.References != nil ||
		in.Metadata != nil || in.Related != nil
}

func (in *RuleInput) apply(r *core.DetectionRule) error {
	err := core.CheckTexts(
		core.TextField{Name: "title", Value: deref(in.Title), Max: core.MaxNameBytes},
		core.TextField{Name: "description", Value: deref(in.Description), Max: core.MaxTextBytes},
		core.TextField{Name: "status", Value: deref(in.Status), Max: 100},
		core.TextField{Name: "level", Value: deref(in.Level), Max: 100},
		core.TextField{Name: "author", Value: deref(in.Author), Max: core.MaxNameBytes},
		core.TextField{Name: "language", Value: deref(in.Language), Max: 100},
		core.TextField{Name: "query", Value: deref(in.Query), Max: core.MaxTextBytes},
		core.TextField{Name: "raw", Value: deref(in.Raw), Max: core.MaxTextBytes},
	)
	if err != nil {
		return err
	}
	for _, l := range []struct {
		name string
		list *[]string
	}{{"tags", in.Tags}, {"false_positives", in.FalsePositives}, {"technique_ids", in.TechniqueIDs}, {"references", in.References}} {
		if err := core.CheckList(l.name, derefList(l.list), core.MaxListItems, core.MaxNameBytes*4); err != nil {
			return err
		}
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	set(&r.Title, in.Title)
	set(&r.Description, in.Description)
	set(&r.Status, in.Status)
	set(&r.Author, in.Author)
	set(&r.Language, in.Language)
	set(&r.Query, in.Query)
	if in.Raw != nil {
		r.Raw = *in.Raw
	}
	if in.Level != nil {
		lv := strings.ToLower(strings.TrimSpace(*in.Level))
		if lv != "" && !slices.Contains(core.RuleLevels, lv) {
			return core.FieldError("level", "%q is not a level (informational, low, medium, high, critical)", *in.Level)
		}
		r.Level = lv
	}
	if in.Tags != nil {
		r.Tags = core.Strings(*in.Tags)
	}
	if in.FalsePositives != nil {
		r.FalsePositives = core.Strings(*in.FalsePositives)
	}
	if in.TechniqueIDs != nil {
		r.TechniqueIDs = *in.TechniqueIDs
	}
	for _, j := range []struct {
		dst *core.JSON
		v   any
		set bool
	}{
		{&r.LogSource, in.LogSource, in.LogSource != nil},
		{&r.Detection, in.Detection, in.Detection != nil},
		{&r.References, in.References, in.References != nil},
		{&r.Metadata, in.Metadata, in.Metadata != nil},
		{&r.Related, in.Related, in.Related != nil},
	} {
		if j.set {
			doc, err := marshal(j.v)
			if err != nil {
				return err
			}
			*j.dst = doc
		}
	}
	return nil
}

// CreateRule stores a new custom detection rule.
func (s *Service) CreateRule(ctx context.Context, actor *core.User, in RuleInput) (*core.DetectionRule, error) {
	if err := allow(actor, RuleEditors, "write detection rules"); err != nil {
		return nil, err
	}
	r := &core.DetectionRule{ID: core.NewID(), Source: core.SourceCustom, Format: "custom", Active: true, CreatedBy: &actor.ID}
	r.ExternalID = r.ID
	if err := in.apply(r); err != nil {
		return nil, err
	}
	if in.Active != nil {
		r.Active = *in.Active
	}
	err := s.store.Update(ctx, func(tx core.Tx) error {
		if err := tx.UpsertDetectionRule(ctx, r); err != nil {
			return err
		}
		return recordChange(ctx, tx, actor, "detection_rule.create", "detection_rule", r.ID, map[string]any{"title": r.Title})
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// UpdateRule edits a custom rule, or switches any rule on or off.
func (s *Service) UpdateRule(ctx context.Context, actor *core.User, id string, in RuleInput) (*core.DetectionRule, error) {
	if !core.ValidID(id) {
		return nil, core.Errorf(core.ENOTFOUND, "detection rule %q not found", id)
	}
	var r *core.DetectionRule
	err := s.store.Update(ctx, func(tx core.Tx) error {
		var err error
		if r, err = tx.DetectionRuleByID(ctx, id); err != nil {
			return err
		}
		if in.contentChanged() {
			if err := allow(actor, RuleEditors, "write detection rules"); err != nil {
				return err
			}
			if r.Source != core.SourceCustom {
				return readOnly("detection rule", r.Source)
			}
			if err := in.apply(r); err != nil {
				return err
			}
			if err := tx.UpsertDetectionRule(ctx, r); err != nil {
				return err
			}
		}
		if in.Active != nil {
			if err := allow(actor, RuleCurators, "switch detection rules on or off"); err != nil {
				return err
			}
			if _, err := tx.SetDetectionRulesActive(ctx, []string{id}, *in.Active); err != nil {
				return err
			}
			r.Active = *in.Active
		}
		if !in.contentChanged() && in.Active == nil {
			return core.Errorf(core.EINVALID, "nothing to change")
		}
		return recordChange(ctx, tx, actor, "detection_rule.update", "detection_rule", r.ID, map[string]any{"title": r.Title, "active": r.Active})
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// RetireRule marks a custom rule deprecated and inactive; its detection results stay.
func (s *Service) RetireRule(ctx context.Context, actor *core.User, id string) (*core.DetectionRule, error) {
	if err := allow(actor, RuleCurators, "retire detection rules"); err != nil {
		return nil, err
	}
	if !core.ValidID(id) {
		return nil, core.Errorf(core.ENOTFOUND, "detection rule %q not found", id)
	}
	var r *core.DetectionRule
	err := s.store.Update(ctx, func(tx core.Tx) error {
		var err error
		if r, err = tx.DetectionRuleByID(ctx, id); err != nil {
			return err
		}
		if r.Source != core.SourceCustom {
			return readOnly("detection rule", r.Source)
		}
		r.Deprecated, r.Active, r.Status = true, false, "deprecated"
		if err := tx.UpsertDetectionRule(ctx, r); err != nil {
			return err
		}
		if _, err := tx.SetDetectionRulesActive(ctx, []string{id}, false); err != nil {
			return err
		}
		return recordChange(ctx, tx, actor, "detection_rule.retire", "detection_rule", r.ID, map[string]any{"title": r.Title})
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

func marshal(v any) (core.JSON, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, core.FieldError("body", "cannot encode: %v", err)
	}
	return core.JSON(b), nil
}

// Package catalog is the read side of the reference catalog: ATT&CK tactics and
// techniques with what hangs off them, test templates, detection rules and their
// links, the import runs that filled the catalog and the technique reviews ATT&CK
// upgrades queued. Custom entries are written by package curation, imported ones by
// package importer.
package catalog

import (
	"context"
	"strings"

	"github.com/aegis-sec/aegis/core"
)

// Service reads the catalog.
type Service struct{ store core.Store }

// New returns a service on st.
func New(st core.Store) *Service { return &Service{store: st} }

// Tactics lists the tactics of a domain (every domain when empty) in matrix order.
func (s *Service) Tactics(ctx context.Context, domain string) ([]*core.Tactic, error) {
	list, err := core.Read(ctx, s.store, func(tx core.Tx) ([]*core.Tactic, error) { return tx.ListTactics(ctx, domain) })
	if list == nil {
		list = []*core.Tactic{}
	}
	return list, err
}

// Techniques lists one page of techniques; a filter value the catalog does not know (a
// tactic, a status) is refused naming the allowed values.
func (s *Service) Techniques(ctx context.Context, f core.TechniqueFilter) ([]*core.Technique, int, error) {
	return core.ReadPage(ctx, s.store, func(tx core.Tx) ([]*core.Technique, int, error) {
		tactics, err := tx.ListTactics(ctx, "")
		if err != nil {
			return nil, 0, err
		}
		if err := f.Check(tactics); err != nil {
			return nil, 0, err
		}
		return tx.ListTechniques(ctx, f)
	})
}

// Technique finds one technique by its id or its ATT&CK id, in any case.
func (s *Service) Technique(ctx context.Context, ref string) (*core.Technique, error) {
	return core.Read(ctx, s.store, func(tx core.Tx) (*core.Technique, error) { return core.TechniqueByRef(ctx, tx, ref) })
}

// List is one page of a list and the total that match.
type List[T any] struct {
	Items []T
	Total int
}

func listOf[T any](items []T, total int) List[T] {
	if items == nil {
		items = []T{}
	}
	return List[T]{Items: items, Total: total}
}

// TechniqueDetail is a technique and the first page of each thing that hangs off it,
// read in one transaction.
type TechniqueDetail struct {
	Technique *core.Technique
	Tests     List[*core.Test]
	Templates List[*core.TestTemplate]
	Rules     List[*core.DetectionRule]
	Defenses  List[*core.TechniqueDefense]
	// Subs are every sub-technique (at most a few dozen), not a page.
	Subs List[*core.Technique]
}

// MaxSubs bounds the sub-techniques read for a detail; ATT&CK's largest parent has
// fewer than 20.
const MaxSubs = 500

// TechniqueDetail reads a technique by id or ATT&CK id with the first page (p) of its
// tests, templates, detection rules and defenses, and its sub-techniques.
func (s *Service) TechniqueDetail(ctx context.Context, ref string, p core.Page) (*TechniqueDetail, error) {
	return core.Read(ctx, s.store, func(tx core.Tx) (*TechniqueDetail, error) {
		te, err := core.TechniqueByRef(ctx, tx, ref)
		if err != nil {
			return nil, err
		}
		d := &TechniqueDetail{Technique: te}
		tests, n, err := tx.ListTests(ctx, core.TestFilter{TechniqueID: te.ID, Page: p})
		if err != nil {
			return nil, err
		}
		d.Tests = listOf(tests, n)
		tpls, n, err := tx.ListTestTemplates(ctx, core.TemplateFilter{TechniqueID: te.ExternalID, Page: p})
		if err != nil {
			return nil, err
		}
		d.Templates = listOf(tpls, n)
		rules, n, err := tx.ListDetectionRules(ctx, core.RuleFilter{TechniqueID: te.ExternalID, Page: p})
		if err != nil {
			return nil, err
		}
		d.Rules = listOf(rules, n)
		defs, err := tx.DefensesOfTechnique(ctx, te.ID)
		if err != nil {
			return nil, err
		}
		lo := min(p.Offset, len(defs))
		d.Defenses = listOf(defs[lo:min(lo+p.Limit, len(defs))], len(defs))
		var subs []*core.Technique
		if !te.IsSubtechnique {
			all, _, err := tx.ListTechniques(ctx, core.TechniqueFilter{Search: te.ExternalID + ".", Page: core.Page{Limit: MaxSubs}})
			if err != nil {
				return nil, err
			}
			for _, x := range all {
				if x.ParentID != nil && *x.ParentID == te.ID {
					subs = append(subs, x)
				}
			}
		}
		d.Subs = listOf(subs, len(subs))
		return d, nil
	})
}

// Templates lists one page of test templates; the technique filter takes an ATT&CK id
// in any case.
func (s *Service) Templates(ctx context.Context, f core.TemplateFilter) ([]*core.TestTemplate, int, error) {
	f.TechniqueID = core.TechniqueFilterID(f.TechniqueID)
	return core.ReadPage(ctx, s.store, func(tx core.Tx) ([]*core.TestTemplate, int, error) { return tx.ListTestTemplates(ctx, f) })
}

// Template reads one test template.
func (s *Service) Template(ctx context.Context, id string) (*core.TestTemplate, error) {
	return core.Read(ctx, s.store, func(tx core.Tx) (*core.TestTemplate, error) { return tx.TestTemplateByID(ctx, id) })
}

// Rules lists one page of detection rules; the technique filter takes an ATT&CK id and
// the level filter a level, in any case.
func (s *Service) Rules(ctx context.Context, f core.RuleFilter) ([]*core.DetectionRule, int, error) {
	f.TechniqueID, f.Level = core.TechniqueFilterID(f.TechniqueID), strings.ToLower(f.Level)
	if err := f.Check(); err != nil {
		return nil, 0, err
	}
	return core.ReadPage(ctx, s.store, func(tx core.Tx) ([]*core.DetectionRule, int, error) { return tx.ListDetectionRules(ctx, f) })
}

// Rule reads one detection rule.
func (s *Service) Rule(ctx context.Context, id string) (*core.DetectionRule, error) {
	return core.Read(ctx, s.store, func(tx core.Tx) (*core.DetectionRule, error) { return tx.DetectionRuleByID(ctx, id) })
}

// RulesForTemplate lists one page of the detection rules expected to fire on a template
// (ENOTFOUND when the template does not exist).
func (s *Service) RulesForTemplate(ctx context.Context, id string, p core.Page) ([]*core.LinkedRule, int, error) {
	return core.ReadPage(ctx, s.store, func(tx core.Tx) ([]*core.LinkedRule, int, error) {
		if _, err := tx.TestTemplateByID(ctx, id); err != nil {
			return nil, 0, err
		}
		return tx.RulesForTemplate(ctx, id, p)
	})
}

// TemplatesForRule lists one page of the templates a detection rule is expected to
// fire on (ENOTFOUND when the rule does not exist).
func (s *Service) TemplatesForRule(ctx context.Context, id string, p core.Page) ([]*core.LinkedTemplate, int, error) {
	return core.ReadPage(ctx, s.store, func(tx core.Tx) ([]*core.LinkedTemplate, int, error) {
		if _, err := tx.DetectionRuleByID(ctx, id); err != nil {
			return nil, 0, err
		}
		return tx.TemplatesForRule(ctx, id, p)
	})
}

// ImportRuns lists one page of import runs, newest first.
func (s *Service) ImportRuns(ctx context.Context, f core.ImportRunFilter) ([]*core.ImportRun, int, error) {
	return core.ReadPage(ctx, s.store, func(tx core.Tx) ([]*core.ImportRun, int, error) { return tx.ListImportRuns(ctx, f) })
}

// ImportRun reads one import run.
func (s *Service) ImportRun(ctx context.Context, id string) (*core.ImportRun, error) {
	return core.Read(ctx, s.store, func(tx core.Tx) (*core.ImportRun, error) { return tx.ImportRunByID(ctx, id) })
}

// Reviews lists one page of the technique reviews ATT&CK upgrades queued.
func (s *Service) Reviews(ctx context.Context, f core.ReviewFilter) ([]*core.TechniqueReview, int, error) {
	return core.ReadPage(ctx, s.store, func(tx core.Tx) ([]*core.TechniqueReview, int, error) { return tx.ListTechniqueReviews(ctx, f) })
}

// ResolveReview closes a technique review in one transaction: remapped to target
// (an ATT&CK id, any case), or dismissed.
func (s *Service) ResolveReview(ctx context.Context, actor *core.User, id, target string, dismiss bool, note string) (*core.TechniqueReview, *core.RemapReport, error) {
	if !dismiss {
		target, _ = core.NormalizeTechniqueID(target)
	}
	var r *core.TechniqueReview
	var rep *core.RemapReport
	err := s.store.Update(ctx, func(tx core.Tx) error {
		var err error
		r, rep, err = core.ResolveTechniqueReview(ctx, tx, actor, id, target, dismiss, note)
		return err
	})
	return r, rep, err
}

package core

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Detection rules are associated with the test templates they are expected to fire on:
// a rule and a template go together when they share a technique (or the rule covers the
// template's parent technique, which includes it) and their platforms are compatible.
// Each link carries the reason, so a technician opening a template sees which rules
// should fire and why.

// AssocTemplate is what the association needs to know of a template.
type AssocTemplate struct {
	ID         string
	Techniques []string // ATT&CK ids
	Platforms  []string
}

// AssocRule is what the association needs to know of a detection rule: its techniques
// and the platforms its log source implies (empty when the log source says nothing).
type AssocRule struct {
	ID         string
	Techniques []string
	Platforms  []string
}

// AssocLink is one template ↔ rule link.
type AssocLink struct {
	TemplateID string
	RuleID     string
	Reason     string
}

// platformFamilies folds the many spellings of platforms in templates (Atomic, CALDERA,
// LOLBAS, GTFOBins) and rule log sources (Sigma product, Elastic OS tags and indices)
// into families that can be compared.
var platformFamilies = map[string]string{
	"windows": "windows", "win": "windows",
	"linux": "linux", "unix": "linux",
	"macos": "macos", "darwin": "macos", "osx": "macos", "mac": "macos",
	"iaas:aws": "aws", "aws": "aws", "amazon": "aws",
	"iaas:azure": "azure", "azure": "azure", "azure-ad": "azure", "azure ad": "azure", "entra": "azure", "entra id": "azure",
	"iaas:gcp": "gcp", "gcp": "gcp", "google cloud": "gcp",
	"office-365": "m365", "office 365": "m365", "m365": "m365", "microsoft365": "m365", "saas": "saas",
	"google-workspace": "google-workspace", "google workspace": "google-workspace",
	"containers": "containers", "kubernetes": "containers", "docker": "containers",
	"network": "network", "network devices": "network",
	"esxi": "esxi", "iaas": "iaas", "okta": "okta", "github": "github",
}

// PlatformFamily returns the family of a platform name, or "" when it is not known.
func PlatformFamily(p string) string { return platformFamilies[strings.ToLower(strings.TrimSpace(p))] }

func families(ps []string) map[string]bool {
	out := map[string]bool{}
	for _, p := range ps {
		if f := PlatformFamily(p); f != "" {
			out[f] = true
		}
	}
	return out
}

// Associate computes every template ↔ rule link.
func Associate(templates []AssocTemplate, rules []AssocRule) []AssocLink {
	byTechnique := map[string][]int{}
	for i, r := range rules {
		for _, t := range r.Techniques {
			byTechnique[t] = append(byTechnique[t], i)
		}
	}
	ruleFamilies := make([]map[string]bool, len(rules))
	for i, r := range rules {
		ruleFamilies[i] = families(r.Platforms)
	}
	var out []AssocLink
	for _, tpl := range templates {
		tf := families(tpl.Platforms)
		reasons := map[int][]string{}
		for _, tech := range tpl.Techniques {
			for _, i := range byTechnique[tech] {
				reasons[i] = append(reasons[i], "shares "+tech)
			}
			if parent := ParentTechniqueID(tech); parent != "" {
				for _, i := range byTechnique[parent] {
					reasons[i] = append(reasons[i], "covers "+parent+", the parent of "+tech)
				}
			}
		}
		for i, why := range reasons {
			platform, ok := compatible(tf, ruleFamilies[i])
			if !ok {
				continue
			}
			sort.Strings(why)
			out = append(out, AssocLink{TemplateID: tpl.ID, RuleID: rules[i].ID, Reason: strings.Join(dedupe(why), "; ") + "; " + platform})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].TemplateID != out[j].TemplateID {
			return out[i].TemplateID < out[j].TemplateID
		}
		return out[i].RuleID < out[j].RuleID
	})
	return out
}

// compatible says whether template and rule platforms overlap. A side that names no
// known platform constrains nothing (a rule for any OS, a template without platforms).
func compatible(tpl, rule map[string]bool) (string, bool) {
	if len(rule) == 0 {
		return "the rule's log source names no platform", true
	}
	if len(tpl) == 0 {
		return "the template names no platform", true
	}
	var both []string
	for f := range tpl {
		if rule[f] {
			both = append(both, f)
		}
	}
	if len(both) == 0 {
		return "", false
	}
	sort.Strings(both)
	return "both on " + strings.Join(both, ", "), true
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// AssociationRepo loads what the association needs and writes its result.
type AssociationRepo interface {
	// AssociationInputs returns active, non-deprecated templates, and the active,
	// non-deprecated detection rules that name a technique. It first makes the
	// transaction the only one recomputing the links until it ends: two recomputations
	// from different snapshots would both add (or remove) the same link.
	AssociationInputs(ctx context.Context) ([]AssocTemplate, []AssocRule, error)
	// AssociationSignatures returns the signature of every template and rule as of the
	// last recompute, by AssocKey.
	AssociationSignatures(ctx context.Context) (map[AssocKey]string, error)
	// AssociationLinks returns the stored links of the given templates and of the given
	// rules.
	AssociationLinks(ctx context.Context, templateIDs, ruleIDs []string) ([]AssocLink, error)
	ReplaceAssociations(ctx context.Context, add, remove []AssocLink) error
	// PutAssociationSignatures stores the signatures in set and forgets those in gone.
	PutAssociationSignatures(ctx context.Context, set map[AssocKey]string, gone []AssocKey) error
}

// AssocKey names a template (Side "template") or a rule (Side "rule").
type AssocKey struct {
	Side string
	ID   string
}

// Sides of an AssocKey.
const (
	AssocTemplateSide = "template"
	AssocRuleSide     = "rule"
)

// signature is all that a template's or rule's links depend on: its techniques (in
// the order they are given) and its platform families.
func signature(techniques, platforms []string) string {
	fs := make([]string, 0, len(platforms))
	for f := range families(platforms) {
		fs = append(fs, f)
	}
	sort.Strings(fs)
	return strings.Join(techniques, ",") + "|" + strings.Join(fs, ",")
}

// RecomputeAssociations brings test_template_detection_rules up to date, writing only
// what changed; it returns how many links were added and removed.
//
// A link depends only on its template's and its rule's techniques and platform
// families, so only the templates and rules whose signature changed since the last
// recompute (or that appeared or vanished) are revisited: their links are computed
// against every rule and template, compared with the stored ones, and the difference
// written. The links between two unchanged sides stand as they are.
func RecomputeAssociations(ctx context.Context, tx interface{ AssociationRepo }) (added, removed int, err error) {
	tpls, rules, err := tx.AssociationInputs(ctx)
	if err != nil {
		return 0, 0, err
	}
	kept, err := tx.AssociationSignatures(ctx)
	if err != nil {
		return 0, 0, err
	}
	now := make(map[AssocKey]string, len(tpls)+len(rules))
	for _, t := range tpls {
		now[AssocKey{AssocTemplateSide, t.ID}] = signature(t.Techniques, t.Platforms)
	}
	for _, r := range rules {
		now[AssocKey{AssocRuleSide, r.ID}] = signature(r.Techniques, r.Platforms)
	}
	set := map[AssocKey]string{}
	var gone []AssocKey
	dirty := map[AssocKey]bool{}
	for k, sig := range now {
		if old, ok := kept[k]; !ok || old != sig {
			set[k] = sig
			dirty[k] = true
		}
	}
	for k := range kept {
		if _, ok := now[k]; !ok {
			gone = append(gone, k)
			dirty[k] = true
		}
	}
	if len(dirty) == 0 {
		return 0, 0, nil
	}
	var dirtyTpls, cleanTpls []AssocTemplate
	for _, t := range tpls {
		if dirty[AssocKey{AssocTemplateSide, t.ID}] {
			dirtyTpls = append(dirtyTpls, t)
		} else {
			cleanTpls = append(cleanTpls, t)
		}
	}
	var dirtyRules []AssocRule
	for _, r := range rules {
		if dirty[AssocKey{AssocRuleSide, r.ID}] {
			dirtyRules = append(dirtyRules, r)
		}
	}
	// Every pair with a changed side: changed templates against all rules, unchanged
	// templates against changed rules.
	want := Associate(dirtyTpls, rules)
	if len(dirtyRules) > 0 && len(cleanTpls) > 0 {
		want = append(want, Associate(cleanTpls, dirtyRules)...)
	}
	var tplIDs, ruleIDs []string
	for k := range dirty {
		if k.Side == AssocTemplateSide {
			tplIDs = append(tplIDs, k.ID)
		} else {
			ruleIDs = append(ruleIDs, k.ID)
		}
	}
	sort.Strings(tplIDs)
	sort.Strings(ruleIDs)
	current, err := tx.AssociationLinks(ctx, tplIDs, ruleIDs)
	if err != nil {
		return 0, 0, err
	}
	type pair struct{ tpl, rule string }
	have := make(map[pair]AssocLink, len(current))
	for _, l := range current {
		have[pair{l.TemplateID, l.RuleID}] = l
	}
	var add, remove []AssocLink
	seen := make(map[pair]bool, len(want))
	for _, l := range want {
		k := pair{l.TemplateID, l.RuleID}
		seen[k] = true
		if old, ok := have[k]; !ok || old.Reason != l.Reason {
			if ok {
				remove = append(remove, old)
			}
			add = append(add, l)
		}
	}
	for k, l := range have {
		if !seen[k] {
			remove = append(remove, l)
		}
	}
	sort.Slice(remove, func(i, j int) bool {
		return remove[i].TemplateID < remove[j].TemplateID || remove[i].TemplateID == remove[j].TemplateID && remove[i].RuleID < remove[j].RuleID
	})
	if len(add)+len(remove) > 0 {
		if err := tx.ReplaceAssociations(ctx, add, remove); err != nil {
			return 0, 0, fmt.Errorf("associate rules with templates: %w", err)
		}
	}
	sort.Slice(gone, func(i, j int) bool {
		return gone[i].Side < gone[j].Side || gone[i].Side == gone[j].Side && gone[i].ID < gone[j].ID
	})
	if err := tx.PutAssociationSignatures(ctx, set, gone); err != nil {
		return 0, 0, fmt.Errorf("associate rules with templates: %w", err)
	}
	return len(add), len(remove), nil
}

// LinkedRule is a detection rule expected to fire on a template, and why.
type LinkedRule struct {
	ID         string `db:"id" json:"id"`
	Source     string `db:"source" json:"source"`
	ExternalID string `db:"external_id" json:"external_id"`
	Title      string `db:"title" json:"title"`
	Format     string `db:"format" json:"format"`
	Level      string `db:"level" json:"level"`
	Status     string `db:"status" json:"status"`
	Reason     string `db:"reason" json:"reason"`
}

// LinkedTemplate is a test template a detection rule is expected to fire on, and why.
type LinkedTemplate struct {
	ID           string  `db:"id" json:"id"`
	Source       string  `db:"source" json:"source"`
	ExternalID   string  `db:"external_id" json:"external_id"`
	Name         string  `db:"name" json:"name"`
	TemplateType string  `db:"template_type" json:"template_type"`
	Platforms    Strings `db:"platforms" json:"platforms"`
	Reason       string  `db:"reason" json:"reason"`
}

// AssociationQueryRepo reads the template ↔ rule links.
type AssociationQueryRepo interface {
	RulesForTemplate(ctx context.Context, templateID string, p Page) ([]*LinkedRule, int, error)
	TemplatesForRule(ctx context.Context, ruleID string, p Page) ([]*LinkedTemplate, int, error)
}

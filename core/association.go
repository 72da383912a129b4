package core

import (
	"context"
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

// AssociationQueryRepo reads the template ↔ rule links. They are not stored: each read
// derives them with Associate from the active templates and rules that name the
// techniques in question, their techniques and platforms, so they can never be stale
// and an import writes nothing for them (issue 11: 256,797 link rows were rewritten
// after the first-party imports).
type AssociationQueryRepo interface {
	RulesForTemplate(ctx context.Context, templateID string, p Page) ([]*LinkedRule, int, error)
	TemplatesForRule(ctx context.Context, ruleID string, p Page) ([]*LinkedTemplate, int, error)
	// CountAssociations counts every template ↔ rule link (all templates against all
	// rules: a full Associate, for statistics).
	CountAssociations(ctx context.Context) (int, error)
}

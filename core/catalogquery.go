package core

import (
	"context"
	"slices"
	"strings"
)

// SourceCustom is the source of templates and rules written in Aegis rather than
// imported: the only ones the app may edit or retire.
const SourceCustom = "custom"

// TemplateFilter selects test templates in a listing.
type TemplateFilter struct {
	Search       string // in name and description
	TechniqueID  string // ATT&CK id; T1059 also matches the templates of T1059.001 and its siblings
	Platform     string
	Source       string
	TemplateType string
	// Status is "active", "inactive" or "deprecated"; empty means every template.
	Status string
	Page
}

// RuleFilter selects detection rules in a listing.
type RuleFilter struct {
	Search      string // in title and description
	TechniqueID string // ATT&CK id; a technique also matches its sub-techniques' rules
	Platform    string // the product of the rule's log source (windows, linux, ...)
	Source      string
	Level       string
	Kind        string // detection or hunting
	// Status is the rule's own maturity (stable, test, experimental, ...), or "active",
	// "inactive" or "deprecated" for Aegis's flags.
	Status string
	Page
}

// RuleLevels are the levels a detection rule can have (Sigma's; Elastic severities
// are a subset).
var RuleLevels = []string{"informational", "low", "medium", "high", "critical"}

// Check refuses a level no rule can have, naming the allowed ones.
func (f RuleFilter) Check() error {
	if f.Level != "" && !slices.Contains(RuleLevels, f.Level) {
		return FieldError("level", "unknown level %q (allowed: %s)", f.Level, strings.Join(RuleLevels, ", "))
	}
	if f.Kind != "" && f.Kind != RuleKindDetection && f.Kind != RuleKindHunting {
		return FieldError("kind", "unknown kind %q (allowed: %s, %s)", f.Kind, RuleKindDetection, RuleKindHunting)
	}
	return nil
}

// TechniqueDefense is a D3FEND defensive technique as it maps to one ATT&CK technique.
type TechniqueDefense struct {
	ID         string `db:"id" json:"id"`
	ExternalID string `db:"external_id" json:"external_id"`
	Name       string `db:"name" json:"name"`
	Tactic     string `db:"tactic" json:"tactic"`
	Definition string `db:"definition" json:"definition"`
	URI        string `db:"uri" json:"uri"`
	Relation   string `db:"relation" json:"relation"`
	Via        string `db:"via" json:"via"`
}

// CatalogQueryRepo reads the catalogs for the app and flips the flags users own.
type CatalogQueryRepo interface {
	ListTestTemplates(ctx context.Context, f TemplateFilter) ([]*TestTemplate, int, error)
	ListDetectionRules(ctx context.Context, f RuleFilter) ([]*DetectionRule, int, error)
	// SetTestTemplatesActive sets the active flag of the given templates and returns how
	// many exist.
	SetTestTemplatesActive(ctx context.Context, ids []string, active bool) (int, error)
	SetDetectionRulesActive(ctx context.Context, ids []string, active bool) (int, error)
	DefensesOfTechnique(ctx context.Context, techniqueID string) ([]*TechniqueDefense, error)
}

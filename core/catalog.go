package core

import (
	"context"
	"time"
)

// TestTemplate is a runnable procedure from a catalog (Atomic Red Team test, CALDERA
// ability, LOLBAS or GTFOBins command) or an organisation's own ("custom").
// Techniques are ATT&CK ids; the store links them through test_template_techniques.
type TestTemplate struct {
	ID                string  `db:"id" json:"id"`
	Source            string  `db:"source" json:"source"`
	ExternalID        string  `db:"external_id" json:"external_id"`
	TemplateType      string  `db:"template_type" json:"template_type"`
	Name              string  `db:"name" json:"name"`
	Description       string  `db:"description" json:"description"`
	Tactic            string  `db:"tactic" json:"tactic"`
	Platforms         Strings `db:"platforms" json:"platforms"`
	ExecutorName      string  `db:"executor_name" json:"executor_name"`
	Command           string  `db:"command" json:"command"`
	CleanupCommand    string  `db:"cleanup_command" json:"cleanup_command"`
	ElevationRequired bool    `db:"elevation_required" json:"elevation_required"`
	Executors         JSON    `db:"executors" json:"executors"`
	InputArguments    JSON    `db:"input_arguments" json:"input_arguments"`
	Dependencies      JSON    `db:"dependencies" json:"dependencies"`
	ManualSteps       string  `db:"manual_steps" json:"manual_steps"`
	// DependencyExecutor runs the dependency (prerequisite) commands when it differs
	// from the test's executor.
	DependencyExecutor string  `db:"dependency_executor" json:"dependency_executor"`
	Payloads           Strings `db:"payloads" json:"payloads"`
	References         JSON    `db:"refs" json:"references"`
	Author             string  `db:"author" json:"author"`
	// TemplateModified is the date (YYYY-MM-DD) the source last changed the template.
	TemplateModified string    `db:"template_modified" json:"template_modified"`
	Metadata         JSON      `db:"metadata" json:"metadata"`
	Active           bool      `db:"active" json:"active"`
	Deprecated       bool      `db:"deprecated" json:"deprecated"`
	SourceRef        string    `db:"source_ref" json:"source_ref"`
	ContentHash      string    `db:"content_hash" json:"-"`
	CreatedBy        *string   `db:"created_by" json:"created_by,omitempty"`
	CreatedAt        time.Time `db:"created_at" json:"created_at"`
	UpdatedAt        time.Time `db:"updated_at" json:"updated_at"`

	// TechniqueIDs are the ATT&CK ids the template exercises.
	TechniqueIDs []string `db:"-" json:"technique_ids"`
}

// Validate checks what every stored template must have.
func (t *TestTemplate) Validate() error {
	if t.Source == "" {
		return FieldError("source", "is required")
	}
	if t.ExternalID == "" {
		return FieldError("external_id", "is required")
	}
	if t.Name == "" {
		return FieldError("name", "is required")
	}
	for _, id := range t.TechniqueIDs {
		if !ValidTechniqueID(id) {
			return FieldError("technique_ids", "%q is not an ATT&CK technique id", id)
		}
	}
	return nil
}

// DetectionRule is a detection from a rule library (Sigma, Elastic) or written in Aegis
// ("custom").
type DetectionRule struct {
	ID         string `db:"id" json:"id"`
	Source     string `db:"source" json:"source"`
	ExternalID string `db:"external_id" json:"external_id"`
	Format     string `db:"format" json:"format"`
	RuleType   string `db:"rule_type" json:"rule_type"`
	// Kind is detection or hunting (a query run by hand, never counted as a detection).
	Kind        string `db:"kind" json:"kind"`
	Title       string `db:"title" json:"title"`
	Description string `db:"description" json:"description"`
	Status      string `db:"status" json:"status"`
	Level       string `db:"level" json:"level"`
	// Severity is the source's own severity word when it is no level (Elastic rules).
	Severity       string    `db:"severity" json:"severity"`
	RiskScore      int       `db:"risk_score" json:"risk_score"`
	Author         string    `db:"author" json:"author"`
	Language       string    `db:"language" json:"language"`
	Query          string    `db:"query" json:"query"`
	Raw            string    `db:"raw" json:"raw"`
	Detection      JSON      `db:"detection" json:"detection"`
	LogSource      JSON      `db:"log_source" json:"log_source"`
	IndexPatterns  Strings   `db:"index_patterns" json:"index_patterns"`
	Tags           Strings   `db:"tags" json:"tags"`
	Tactics        Strings   `db:"tactics" json:"tactics"`
	References     JSON      `db:"refs" json:"references"`
	FalsePositives Strings   `db:"false_positives" json:"false_positives"`
	Related        JSON      `db:"related" json:"related"`
	Metadata       JSON      `db:"metadata" json:"metadata"`
	RuleDate       string    `db:"rule_date" json:"rule_date"`
	RuleModified   string    `db:"rule_modified" json:"rule_modified"`
	Active         bool      `db:"active" json:"active"`
	Deprecated     bool      `db:"deprecated" json:"deprecated"`
	SourceRef      string    `db:"source_ref" json:"source_ref"`
	ContentHash    string    `db:"content_hash" json:"-"`
	CreatedBy      *string   `db:"created_by" json:"created_by,omitempty"`
	CreatedAt      time.Time `db:"created_at" json:"created_at"`
	UpdatedAt      time.Time `db:"updated_at" json:"updated_at"`

	TechniqueIDs []string `db:"-" json:"technique_ids"`
}

// Detection rule kinds: a detection raises alerts; a hunting rule is a query an
// analyst runs by hand, listed apart and never counted as a detection.
const (
	RuleKindDetection = "detection"
	RuleKindHunting   = "hunting"
)

// Validate checks what every stored rule must have.
func (r *DetectionRule) Validate() error {
	if r.Source == "" {
		return FieldError("source", "is required")
	}
	if r.ExternalID == "" {
		return FieldError("external_id", "is required")
	}
	if r.Title == "" {
		return FieldError("title", "is required")
	}
	if r.Kind != "" && r.Kind != RuleKindDetection && r.Kind != RuleKindHunting {
		return FieldError("kind", "%q is not a rule kind (allowed: detection, hunting)", r.Kind)
	}
	for _, id := range r.TechniqueIDs {
		if !ValidTechniqueID(id) {
			return FieldError("technique_ids", "%q is not an ATT&CK technique id", id)
		}
	}
	return nil
}

// CatalogRepo stores test templates and detection rules. Upserts key on
// (source, external id) and set the entity's id.
type CatalogRepo interface {
	UpsertTestTemplate(ctx context.Context, t *TestTemplate) error
	TestTemplateByID(ctx context.Context, id string) (*TestTemplate, error)
	UpsertDetectionRule(ctx context.Context, r *DetectionRule) error
	DetectionRuleByID(ctx context.Context, id string) (*DetectionRule, error)
	// EnsureTechnique returns the id of the technique with this ATT&CK id, creating a
	// placeholder that is "unknown to this release" when there is none yet.
	EnsureTechnique(ctx context.Context, externalID string) (string, error)
}

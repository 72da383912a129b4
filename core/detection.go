package core

import "context"

// FormatSigma is the format of detection rules written in Sigma (what the evaluator runs).
const FormatSigma = "sigma"

// SigmaRuleText is a stored Sigma rule as the evaluator needs it: its text and what
// to call it.
type SigmaRuleText struct {
	ID         string `db:"id"`
	Source     string `db:"source"`
	ExternalID string `db:"external_id"`
	Title      string `db:"title"`
	Raw        string `db:"raw"`
}

// SigmaRuleRepo lists the rules the evaluator compiles.
type SigmaRuleRepo interface {
	// SigmaRules lists the active, not deprecated Sigma rules of one source (every
	// source when source is empty), plain detection rules and correlation rules alike.
	SigmaRules(ctx context.Context, source string) ([]*SigmaRuleText, error)
	// RuleIDsOfTechnique lists the ids of the Sigma rules linked to a technique (by
	// internal id) or to its sub-techniques.
	SigmaRuleIDsOfTechnique(ctx context.Context, techniqueID string) ([]string, error)
}

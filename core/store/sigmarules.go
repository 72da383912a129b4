package store

import (
	"context"
	"fmt"

	"github.com/aegis-sec/aegis/core"
)

// SigmaRules lists the active, not deprecated Sigma rules, oldest first.
func (t *Tx) SigmaRules(ctx context.Context, source string) ([]*core.SigmaRuleText, error) {
	w := where{}
	w.add("format = ?", core.FormatSigma)
	w.add("active = TRUE AND deprecated = FALSE")
	if source != "" {
		w.add("source = ?", source)
	}
	out := []*core.SigmaRuleText{}
	if err := t.sel(ctx, &out, `SELECT id, source, external_id, title, raw FROM detection_rules`+w.sql()+` ORDER BY source, external_id`, w.args...); err != nil {
		return nil, fmt.Errorf("store: sigma rules: %w", err)
	}
	return out, nil
}

// SigmaRuleIDsOfTechnique lists the Sigma rules linked to a technique or to one of
// its sub-techniques.
func (t *Tx) SigmaRuleIDsOfTechnique(ctx context.Context, techniqueID string) ([]string, error) {
	out := []string{}
	err := t.sel(ctx, &out, `SELECT DISTINCT r.id FROM detection_rules r
		JOIN detection_rule_techniques l ON l.detection_rule_id = r.id
		JOIN techniques te ON te.id = l.technique_id
		WHERE r.format = ? AND r.active = TRUE AND r.deprecated = FALSE AND (te.id = ? OR te.parent_id = ?)
		ORDER BY r.id`, core.FormatSigma, techniqueID, techniqueID)
	if err != nil {
		return nil, fmt.Errorf("store: sigma rules of technique %s: %w", techniqueID, err)
	}
	return out, nil
}

package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/aegis-sec/aegis/core"
)

// techniqueMatch is the condition "linked to technique ext or one of its
// sub-techniques" over a link table; ext is a validated ATT&CK id, so it holds no LIKE
// wildcards.
func techniqueMatch(table, ownerCol, ext string) (string, []any) {
	return `id IN (SELECT l.` + ownerCol + ` FROM ` + table + ` l JOIN techniques te ON te.id = l.technique_id
		WHERE te.external_id = ? OR te.external_id LIKE ?)`, []any{ext, ext + ".%"}
}

// flagStatus turns the Aegis flags "active", "inactive" and "deprecated" into a
// condition; ok is false for any other status.
func flagStatus(status string) (cond string, ok bool) {
	switch status {
	case "active":
		return "(active = TRUE AND deprecated = FALSE)", true
	case "inactive":
		return "active = FALSE", true
	case "deprecated":
		return "deprecated = TRUE", true
	}
	return "", false
}

// ListTestTemplates returns one page of templates ordered by name, and the total.
func (t *Tx) ListTestTemplates(ctx context.Context, f core.TemplateFilter) ([]*core.TestTemplate, int, error) {
	w := where{}
	if f.Search != "" {
		w.fullText(t.dialect, templateIndex, f.Search)
	}
	if f.TechniqueID != "" {
		if !core.ValidTechniqueID(f.TechniqueID) {
			return nil, 0, core.FieldError("technique", "%q is not an ATT&CK technique id", f.TechniqueID)
		}
		cond, args := techniqueMatch("test_template_techniques", "test_template_id", f.TechniqueID)
		w.add(cond, args...)
	}
	if f.Platform != "" {
		w.add("CAST(platforms AS TEXT) "+t.like()+" ? ESCAPE '\\'", `%"`+escapeLike(f.Platform)+`"%`)
	}
	if f.Source != "" {
		w.add("source = ?", f.Source)
	}
	if f.TemplateType != "" {
		w.add("template_type = ?", f.TemplateType)
	}
	if f.Status != "" {
		cond, ok := flagStatus(f.Status)
		if !ok {
			return nil, 0, core.FieldError("status", "%q is not a template status (active, inactive, deprecated)", f.Status)
		}
		w.add(cond)
	}
	var total int
	if err := t.get(ctx, &total, `SELECT COUNT(*) FROM `+w.from("test_templates")+w.sql(), w.params()...); err != nil {
		return nil, 0, fmt.Errorf("store: count templates: %w", err)
	}
	p := f.Page.Normalize()
	out := []*core.TestTemplate{}
	if err := t.sel(ctx, &out, `SELECT `+strings.Join(templateFields, ", ")+` FROM `+w.from("test_templates")+w.sql()+
		` ORDER BY `+w.orderBy("name, id")+` LIMIT ? OFFSET ?`, w.listParams(p.Limit, p.Offset)...); err != nil {
		return nil, 0, fmt.Errorf("store: list templates: %w", err)
	}
	ids := make([]string, len(out))
	for i, te := range out {
		ids[i] = te.ID
	}
	links, err := t.techniquesOfMany(ctx, "test_template_techniques", "test_template_id", ids)
	if err != nil {
		return nil, 0, err
	}
	for _, te := range out {
		te.TechniqueIDs = links[te.ID]
	}
	return out, total, nil
}

// ListDetectionRules returns one page of rules ordered by title, and the total.
func (t *Tx) ListDetectionRules(ctx context.Context, f core.RuleFilter) ([]*core.DetectionRule, int, error) {
	w := where{}
	if f.Search != "" {
		// raw is the rule as written (a Sigma rule's detection, an Elastic query), so
		// a search for what a rule looks for finds it.
		w.fullText(t.dialect, ruleIndex, f.Search)
	}
	if f.TechniqueID != "" {
		if !core.ValidTechniqueID(f.TechniqueID) {
			return nil, 0, core.FieldError("technique", "%q is not an ATT&CK technique id", f.TechniqueID)
		}
		cond, args := techniqueMatch("detection_rule_techniques", "detection_rule_id", f.TechniqueID)
		w.add(cond, args...)
	}
	if f.Platform != "" {
		// The log source is a JSON object; PostgreSQL prints JSONB with a space after
		// the colon, SQLite keeps the text as written, so both spellings are matched.
		p := escapeLike(f.Platform)
		w.add("(CAST(log_source AS TEXT) "+t.like()+" ? ESCAPE '\\' OR CAST(log_source AS TEXT) "+t.like()+" ? ESCAPE '\\')",
			`%"product":"`+p+`"%`, `%"product": "`+p+`"%`)
	}
	if f.Source != "" {
		w.add("source = ?", f.Source)
	}
	if f.Level != "" {
		w.add("level = ?", f.Level)
	}
	if f.Kind != "" {
		w.add("kind = ?", f.Kind)
	}
	if f.Status != "" {
		if cond, ok := flagStatus(f.Status); ok {
			w.add(cond)
		} else {
			w.add("status = ?", f.Status)
		}
	}
	var total int
	if err := t.get(ctx, &total, `SELECT COUNT(*) FROM `+w.from("detection_rules")+w.sql(), w.params()...); err != nil {
		return nil, 0, fmt.Errorf("store: count rules: %w", err)
	}
	p := f.Page.Normalize()
	out := []*core.DetectionRule{}
	if err := t.sel(ctx, &out, `SELECT `+strings.Join(ruleFields, ", ")+` FROM `+w.from("detection_rules")+w.sql()+
		` ORDER BY `+w.orderBy("title, id")+` LIMIT ? OFFSET ?`, w.listParams(p.Limit, p.Offset)...); err != nil {
		return nil, 0, fmt.Errorf("store: list rules: %w", err)
	}
	ids := make([]string, len(out))
	for i, r := range out {
		ids[i] = r.ID
	}
	links, err := t.techniquesOfMany(ctx, "detection_rule_techniques", "detection_rule_id", ids)
	if err != nil {
		return nil, 0, err
	}
	for _, r := range out {
		r.TechniqueIDs = links[r.ID]
	}
	return out, total, nil
}

// techniquesOfMany returns the ATT&CK ids linked to each owner, in one query.
func (t *Tx) techniquesOfMany(ctx context.Context, table, ownerCol string, ownerIDs []string) (map[string][]string, error) {
	out := make(map[string][]string, len(ownerIDs))
	if len(ownerIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(ownerIDs))
	for i, id := range ownerIDs {
		args[i] = id
		out[id] = []string{}
	}
	var rows []struct {
		Owner      string `db:"owner"`
		ExternalID string `db:"external_id"`
	}
	q := `SELECT l.` + ownerCol + ` AS owner, te.external_id FROM ` + table + ` l JOIN techniques te ON te.id = l.technique_id
		WHERE l.` + ownerCol + ` IN (?` + strings.Repeat(",?", len(args)-1) + `) ORDER BY te.external_id`
	if err := t.sel(ctx, &rows, q, args...); err != nil {
		return nil, fmt.Errorf("store: techniques of %s: %w", table, err)
	}
	for _, r := range rows {
		out[r.Owner] = append(out[r.Owner], r.ExternalID)
	}
	return out, nil
}

func (t *Tx) setActive(ctx context.Context, table string, ids []string, active bool) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	args := []any{active, core.Now()}
	for _, id := range ids {
		args = append(args, id)
	}
	res, err := t.exec(ctx, `UPDATE `+table+` SET active = ?, updated_at = ? WHERE id IN (?`+strings.Repeat(",?", len(ids)-1)+`)`, args...)
	if err != nil {
		return 0, fmt.Errorf("store: set active on %s: %w", table, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// SetTestTemplatesActive sets the active flag of templates and returns how many exist.
func (t *Tx) SetTestTemplatesActive(ctx context.Context, ids []string, active bool) (int, error) {
	return t.setActive(ctx, "test_templates", ids, active)
}

// SetDetectionRulesActive sets the active flag of rules and returns how many exist.
func (t *Tx) SetDetectionRulesActive(ctx context.Context, ids []string, active bool) (int, error) {
	return t.setActive(ctx, "detection_rules", ids, active)
}

// DefensesOfTechnique lists the D3FEND techniques mapped to a technique.
func (t *Tx) DefensesOfTechnique(ctx context.Context, techniqueID string) ([]*core.TechniqueDefense, error) {
	out := []*core.TechniqueDefense{}
	err := t.sel(ctx, &out, `SELECT d.id, d.external_id, d.name, d.tactic, d.definition, d.uri, m.relation, m.via
		FROM defensive_technique_mappings m JOIN defensive_techniques d ON d.id = m.defensive_technique_id
		WHERE m.technique_id = ? ORDER BY d.external_id, m.relation, m.via`, techniqueID)
	if err != nil {
		return nil, fmt.Errorf("store: defenses of technique %s: %w", techniqueID, err)
	}
	return out, nil
}

package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/aegis-sec/aegis/core"
)

// AssociationInputs loads the techniques and platforms of every active template and
// of every active rule that names a technique. On PostgreSQL it first takes
// catalogLock, so the links are recomputed by one transaction at a time, each reading
// (read committed) what the one before it committed: two from different snapshots both
// added the same link (a unique-key violation) or removed links in opposite orders (a
// deadlock).
func (t *Tx) AssociationInputs(ctx context.Context) ([]core.AssocTemplate, []core.AssocRule, error) {
	if err := t.lockCatalog(ctx); err != nil {
		return nil, nil, err
	}
	var tplRows []struct {
		ID        string       `db:"id"`
		Platforms core.Strings `db:"platforms"`
	}
	if err := t.sel(ctx, &tplRows, `SELECT id, platforms FROM test_templates WHERE active AND NOT deprecated ORDER BY id`); err != nil {
		return nil, nil, fmt.Errorf("store: association templates: %w", err)
	}
	tplTech, err := t.techniquesBy(ctx, "test_template_techniques", "test_template_id")
	if err != nil {
		return nil, nil, err
	}
	tpls := make([]core.AssocTemplate, 0, len(tplRows))
	for _, r := range tplRows {
		tpls = append(tpls, core.AssocTemplate{ID: r.ID, Platforms: r.Platforms, Techniques: tplTech[r.ID]})
	}

	var ruleRows []struct {
		ID            string       `db:"id"`
		LogSource     core.JSON    `db:"log_source"`
		Tags          core.Strings `db:"tags"`
		IndexPatterns core.Strings `db:"index_patterns"`
	}
	if err := t.sel(ctx, &ruleRows, `SELECT id, log_source, tags, index_patterns FROM detection_rules WHERE active AND NOT deprecated AND kind = 'detection' ORDER BY id`); err != nil {
		return nil, nil, fmt.Errorf("store: association rules: %w", err)
	}
	ruleTech, err := t.techniquesBy(ctx, "detection_rule_techniques", "detection_rule_id")
	if err != nil {
		return nil, nil, err
	}
	rules := make([]core.AssocRule, 0, len(ruleRows))
	for _, r := range ruleRows {
		if len(ruleTech[r.ID]) == 0 {
			continue
		}
		rules = append(rules, core.AssocRule{ID: r.ID, Techniques: ruleTech[r.ID], Platforms: rulePlatforms(r.LogSource, r.Tags, r.IndexPatterns)})
	}
	return tpls, rules, nil
}

// AssociationSignatures returns what the links were last computed from.
func (t *Tx) AssociationSignatures(ctx context.Context) (map[core.AssocKey]string, error) {
	var rows []struct {
		Side      string `db:"side"`
		OwnerID   string `db:"owner_id"`
		Signature string `db:"signature"`
	}
	if err := t.sel(ctx, &rows, `SELECT side, owner_id, signature FROM association_inputs`); err != nil {
		return nil, fmt.Errorf("store: association signatures: %w", err)
	}
	out := make(map[core.AssocKey]string, len(rows))
	for _, r := range rows {
		out[core.AssocKey{Side: r.Side, ID: r.OwnerID}] = r.Signature
	}
	return out, nil
}

// AssociationLinks returns the links of the given templates and rules.
func (t *Tx) AssociationLinks(ctx context.Context, templateIDs, ruleIDs []string) ([]core.AssocLink, error) {
	var out []core.AssocLink
	for _, side := range []struct {
		col string
		ids []string
	}{{"test_template_id", templateIDs}, {"detection_rule_id", ruleIDs}} {
		for start := 0; start < len(side.ids); start += inChunk {
			chunk := side.ids[start:min(start+inChunk, len(side.ids))]
			var links []core.AssocLink
			if err := t.sel(ctx, &links, `SELECT test_template_id AS templateid, detection_rule_id AS ruleid, reason
				FROM test_template_detection_rules WHERE `+side.col+` IN (`+placeholders(len(chunk))+`)`, anys(chunk)...); err != nil {
				return nil, fmt.Errorf("store: association links: %w", err)
			}
			out = append(out, links...)
		}
	}
	return out, nil
}

// PutAssociationSignatures stores what the links were computed from.
func (t *Tx) PutAssociationSignatures(ctx context.Context, set map[core.AssocKey]string, gone []core.AssocKey) error {
	del := make([][]any, 0, len(gone)+len(set))
	for _, k := range gone {
		del = append(del, []any{k.Side, k.ID})
	}
	ins := make([][]any, 0, len(set))
	for k, sig := range set {
		del = append(del, []any{k.Side, k.ID})
		ins = append(ins, []any{k.Side, k.ID, sig})
	}
	sort.Slice(ins, func(i, j int) bool {
		return ins[i][0].(string) < ins[j][0].(string) || ins[i][0] == ins[j][0] && ins[i][1].(string) < ins[j][1].(string)
	})
	if err := t.deleteRows(ctx, "association_inputs", []string{"side", "owner_id"}, []string{"text", "text"}, del); err != nil {
		return fmt.Errorf("store: association signatures: %w", err)
	}
	if err := t.insertRows(ctx, "association_inputs", []string{"side", "owner_id", "signature"}, ins, ""); err != nil {
		return fmt.Errorf("store: association signatures: %w", err)
	}
	return nil
}

// rulePlatforms reads the platform a rule watches from what each format says: Sigma's
// logsource product, Elastic's "OS: Windows" tags and its index patterns.
func rulePlatforms(logSource core.JSON, tags, indices []string) []string {
	var out []string
	var ls map[string]any
	if json.Unmarshal(logSource, &ls) == nil {
		if p, ok := ls["product"].(string); ok && p != "" {
			out = append(out, p)
		}
	}
	for _, tag := range tags {
		if os, ok := strings.CutPrefix(tag, "OS: "); ok {
			out = append(out, os)
		}
	}
	for _, ix := range indices {
		switch {
		case strings.HasPrefix(ix, "winlogbeat"), strings.Contains(ix, "windows"):
			out = append(out, "windows")
		case strings.HasPrefix(ix, "auditbeat"), strings.Contains(ix, "linux"):
			out = append(out, "linux")
		case strings.Contains(ix, "aws"):
			out = append(out, "aws")
		case strings.Contains(ix, "azure"):
			out = append(out, "azure")
		case strings.Contains(ix, "gcp"):
			out = append(out, "gcp")
		case strings.Contains(ix, "o365"):
			out = append(out, "m365")
		}
	}
	return out
}

func (t *Tx) techniquesBy(ctx context.Context, table, ownerCol string) (map[string][]string, error) {
	var rows []struct {
		Owner string `db:"owner"`
		Ext   string `db:"external_id"`
	}
	if err := t.sel(ctx, &rows, `SELECT l.`+ownerCol+` AS owner, te.external_id FROM `+table+` l
		JOIN techniques te ON te.id = l.technique_id ORDER BY l.`+ownerCol+`, te.external_id`); err != nil {
		return nil, fmt.Errorf("store: techniques by %s: %w", table, err)
	}
	m := map[string][]string{}
	for _, r := range rows {
		m[r.Owner] = append(m[r.Owner], r.Ext)
	}
	return m, nil
}

// ReplaceAssociations removes and adds template ↔ rule links, many rows per statement.
func (t *Tx) ReplaceAssociations(ctx context.Context, add, remove []core.AssocLink) error {
	del := make([][]any, len(remove))
	for i, l := range remove {
		del[i] = []any{l.TemplateID, l.RuleID}
	}
	if err := t.deleteRows(ctx, "test_template_detection_rules", []string{"test_template_id", "detection_rule_id"}, []string{t.idType(), t.idType()}, del); err != nil {
		return fmt.Errorf("store: unlink rules from templates: %w", err)
	}
	now := core.Now()
	ins := make([][]any, len(add))
	for i, l := range add {
		ins[i] = []any{l.TemplateID, l.RuleID, l.Reason, now}
	}
	if err := t.insertRows(ctx, "test_template_detection_rules", []string{"test_template_id", "detection_rule_id", "reason", "created_at"}, ins, ""); err != nil {
		return fmt.Errorf("store: link rules to templates: %w", err)
	}
	return nil
}

// RulesForTemplate returns one page of the rules expected to fire on a template, the
// most severe first.
func (t *Tx) RulesForTemplate(ctx context.Context, templateID string, p core.Page) ([]*core.LinkedRule, int, error) {
	var total int
	if err := t.get(ctx, &total, `SELECT COUNT(*) FROM test_template_detection_rules WHERE test_template_id = ?`, templateID); err != nil {
		return nil, 0, fmt.Errorf("store: count rules of template %s: %w", templateID, err)
	}
	p = p.Normalize()
	out := []*core.LinkedRule{}
	err := t.sel(ctx, &out, `SELECT r.id, r.source, r.external_id, r.title, r.format, r.level, r.status, l.reason
		FROM test_template_detection_rules l JOIN detection_rules r ON r.id = l.detection_rule_id
		WHERE l.test_template_id = ?
		ORDER BY CASE r.level WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END, r.title, r.id
		LIMIT ? OFFSET ?`, templateID, p.Limit, p.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("store: rules of template %s: %w", templateID, err)
	}
	return out, total, nil
}

// TemplatesForRule returns one page of the templates a rule is expected to fire on.
func (t *Tx) TemplatesForRule(ctx context.Context, ruleID string, p core.Page) ([]*core.LinkedTemplate, int, error) {
	var total int
	if err := t.get(ctx, &total, `SELECT COUNT(*) FROM test_template_detection_rules WHERE detection_rule_id = ?`, ruleID); err != nil {
		return nil, 0, fmt.Errorf("store: count templates of rule %s: %w", ruleID, err)
	}
	p = p.Normalize()
	out := []*core.LinkedTemplate{}
	err := t.sel(ctx, &out, `SELECT tt.id, tt.source, tt.external_id, tt.name, tt.template_type, tt.platforms, l.reason
		FROM test_template_detection_rules l JOIN test_templates tt ON tt.id = l.test_template_id
		WHERE l.detection_rule_id = ? ORDER BY tt.name, tt.id LIMIT ? OFFSET ?`, ruleID, p.Limit, p.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("store: templates of rule %s: %w", ruleID, err)
	}
	return out, total, nil
}

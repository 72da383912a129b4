package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aegis-sec/aegis/core"
)

// The template ↔ detection-rule links are derived when they are read (see
// core.AssociationQueryRepo): the templates or rules on one side, then the active
// templates or rules on the other side that name one of their techniques (or, for a
// rule, the parent of a template's technique), through the technique indexes, and
// core.Associate over those. Only the techniques two sides have in common (directly or
// through the parent) can give a reason, so each candidate carries just those.

// AssociationInputs loads the techniques and platforms of every active template and
// of every active rule that names a technique: everything a full core.Associate needs.
func (t *Tx) AssociationInputs(ctx context.Context) ([]core.AssocTemplate, []core.AssocRule, error) {
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

// CountAssociations counts every link: a full core.Associate.
func (t *Tx) CountAssociations(ctx context.Context) (int, error) {
	tpls, rules, err := t.AssociationInputs(ctx)
	if err != nil {
		return 0, err
	}
	return len(core.Associate(tpls, rules)), nil
}

// withParents returns techs and the parent of each sub-technique among them, once each.
func withParents(techs []string) []string {
	seen := make(map[string]bool, 2*len(techs))
	out := make([]string, 0, 2*len(techs))
	for _, te := range techs {
		for _, x := range []string{te, core.ParentTechniqueID(te)} {
			if x != "" && !seen[x] {
				seen[x] = true
				out = append(out, x)
			}
		}
	}
	return out
}

// ruleCandidate is one row of rulesNaming: a rule's page columns and one of its
// techniques.
type ruleCandidate struct {
	core.LinkedRule
	LogSource     core.JSON    `db:"log_source"`
	Tags          core.Strings `db:"tags"`
	IndexPatterns core.Strings `db:"index_patterns"`
	Technique     string       `db:"technique"`
}

// rulesNaming returns the active detection rules that name one of techs (ATT&CK ids),
// each with those of techs it names, in the order orderBy gives their rows (the rule's
// page columns in display order).
func (t *Tx) rulesNaming(ctx context.Context, techs []string, orderBy string) ([]core.AssocRule, []*core.LinkedRule, error) {
	if len(techs) == 0 {
		return nil, nil, nil
	}
	var rows []ruleCandidate
	if err := t.sel(ctx, &rows, `SELECT r.id, r.source, r.external_id, r.title, r.format, r.level, r.status,
		r.log_source, r.tags, r.index_patterns, te.external_id AS technique
		FROM techniques te JOIN detection_rule_techniques l ON l.technique_id = te.id JOIN detection_rules r ON r.id = l.detection_rule_id
		WHERE te.external_id IN (`+placeholders(len(techs))+`) AND r.active AND NOT r.deprecated AND r.kind = 'detection'
		ORDER BY `+orderBy, anys(techs)...); err != nil {
		return nil, nil, fmt.Errorf("store: rules naming techniques: %w", err)
	}
	at := make(map[string]int, len(rows))
	var rules []core.AssocRule
	var shown []*core.LinkedRule
	for i := range rows {
		r := &rows[i]
		if k, ok := at[r.ID]; ok {
			rules[k].Techniques = append(rules[k].Techniques, r.Technique)
			continue
		}
		at[r.ID] = len(rules)
		rules = append(rules, core.AssocRule{ID: r.ID, Techniques: []string{r.Technique}, Platforms: rulePlatforms(r.LogSource, r.Tags, r.IndexPatterns)})
		shown = append(shown, &r.LinkedRule)
	}
	return rules, shown, nil
}

// activeTemplates returns the given templates that are active and not deprecated, with
// their techniques and platforms, in the order of ids.
func (t *Tx) activeTemplates(ctx context.Context, ids []string) ([]core.AssocTemplate, error) {
	var out []core.AssocTemplate
	for start := 0; start < len(ids); start += inChunk {
		chunk := ids[start:min(start+inChunk, len(ids))]
		var rows []struct {
			ID        string       `db:"id"`
			Platforms core.Strings `db:"platforms"`
		}
		if err := t.sel(ctx, &rows, `SELECT id, platforms FROM test_templates WHERE active AND NOT deprecated AND id IN (`+placeholders(len(chunk))+`)`, anys(chunk)...); err != nil {
			return nil, fmt.Errorf("store: association templates: %w", err)
		}
		techs, err := t.techniquesOfMany(ctx, "test_template_techniques", "test_template_id", chunk)
		if err != nil {
			return nil, err
		}
		plats := make(map[string]core.Strings, len(rows))
		for _, r := range rows {
			plats[r.ID] = r.Platforms
		}
		for _, id := range chunk {
			if p, ok := plats[id]; ok {
				out = append(out, core.AssocTemplate{ID: id, Platforms: p, Techniques: techs[id]})
			}
		}
	}
	return out, nil
}

// templateLinks derives the links of the given templates; rows orders the candidate
// rules (see rulesNaming), and shown is their page columns in that order.
func (t *Tx) templateLinks(ctx context.Context, templateIDs []string, orderBy string) ([]core.AssocLink, []*core.LinkedRule, error) {
	tpls, err := t.activeTemplates(ctx, templateIDs)
	if err != nil {
		return nil, nil, err
	}
	var techs []string
	for _, tp := range tpls {
		techs = append(techs, tp.Techniques...)
	}
	rules, shown, err := t.rulesNaming(ctx, withParents(techs), orderBy)
	if err != nil || len(rules) == 0 {
		return nil, nil, err
	}
	return core.Associate(tpls, rules), shown, nil
}

// RuleCounts says how many rules are expected to fire on each of the given templates.
func (t *Tx) RuleCounts(ctx context.Context, templateIDs []string) (map[string]int, error) {
	links, _, err := t.templateLinks(ctx, templateIDs, "r.id")
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(templateIDs))
	for _, l := range links {
		out[l.TemplateID]++
	}
	return out, nil
}

// RulesForTemplate returns one page of the rules expected to fire on a template, the
// most severe first.
func (t *Tx) RulesForTemplate(ctx context.Context, templateID string, p core.Page) ([]*core.LinkedRule, int, error) {
	links, shown, err := t.templateLinks(ctx, []string{templateID},
		`CASE r.level WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END, r.title, r.id, te.external_id`)
	if err != nil {
		return nil, 0, fmt.Errorf("store: rules of template %s: %w", templateID, err)
	}
	linked := keepLinked(shown, links, func(l core.AssocLink) string { return l.RuleID },
		func(r *core.LinkedRule) (string, *string) { return r.ID, &r.Reason })
	return pageOf(linked, p), len(linked), nil
}

// keepLinked keeps the items (in their order) that one of links names, by the id on
// their side (linkID gives it from a link, item an item's and where its reason goes),
// with that link's reason.
func keepLinked[T any](items []T, links []core.AssocLink, linkID func(core.AssocLink) string, item func(T) (string, *string)) []T {
	why := make(map[string]string, len(links))
	for _, l := range links {
		why[linkID(l)] = l.Reason
	}
	out := make([]T, 0, len(links))
	for _, it := range items {
		id, reason := item(it)
		if r, ok := why[id]; ok {
			*reason = r
			out = append(out, it)
		}
	}
	return out
}

// pageOf returns the page p of items.
func pageOf[T any](items []T, p core.Page) []T {
	p = p.Normalize()
	start := min(p.Offset, len(items))
	return items[start:min(start+p.Limit, len(items))]
}

// TemplatesForRule returns one page of the templates a rule is expected to fire on.
func (t *Tx) TemplatesForRule(ctx context.Context, ruleID string, p core.Page) ([]*core.LinkedTemplate, int, error) {
	var rows []struct {
		LogSource     core.JSON    `db:"log_source"`
		Tags          core.Strings `db:"tags"`
		IndexPatterns core.Strings `db:"index_patterns"`
	}
	if err := t.sel(ctx, &rows, `SELECT log_source, tags, index_patterns FROM detection_rules
		WHERE id = ? AND active AND NOT deprecated AND kind = 'detection'`, ruleID); err != nil {
		return nil, 0, fmt.Errorf("store: templates of rule %s: %w", ruleID, err)
	}
	if len(rows) == 0 {
		return []*core.LinkedTemplate{}, 0, nil
	}
	techs, err := t.techniquesOfMany(ctx, "detection_rule_techniques", "detection_rule_id", []string{ruleID})
	if err != nil {
		return nil, 0, err
	}
	rule := core.AssocRule{ID: ruleID, Techniques: techs[ruleID], Platforms: rulePlatforms(rows[0].LogSource, rows[0].Tags, rows[0].IndexPatterns)}
	if len(rule.Techniques) == 0 {
		return []*core.LinkedTemplate{}, 0, nil
	}
	// The templates that name one of the rule's techniques or a sub-technique of one.
	var cands []struct {
		core.LinkedTemplate
		Technique string `db:"technique"`
	}
	in := placeholders(len(rule.Techniques))
	if err := t.sel(ctx, &cands, `SELECT tt.id, tt.source, tt.external_id, tt.name, tt.template_type, tt.platforms, te.external_id AS technique
		FROM techniques te JOIN test_template_techniques l ON l.technique_id = te.id JOIN test_templates tt ON tt.id = l.test_template_id
		WHERE (te.external_id IN (`+in+`) OR substr(te.external_id, 1, 5) IN (`+in+`)) AND tt.active AND NOT tt.deprecated
		ORDER BY tt.name, tt.id, te.external_id`, append(anys(rule.Techniques), anys(rule.Techniques)...)...); err != nil {
		return nil, 0, fmt.Errorf("store: templates of rule %s: %w", ruleID, err)
	}
	at := map[string]int{}
	var tpls []core.AssocTemplate
	var shown []*core.LinkedTemplate
	for i := range cands {
		c := &cands[i]
		if k, ok := at[c.ID]; ok {
			tpls[k].Techniques = append(tpls[k].Techniques, c.Technique)
			continue
		}
		at[c.ID] = len(tpls)
		tpls = append(tpls, core.AssocTemplate{ID: c.ID, Platforms: c.Platforms, Techniques: []string{c.Technique}})
		shown = append(shown, &c.LinkedTemplate)
	}
	linked := keepLinked(shown, core.Associate(tpls, []core.AssocRule{rule}), func(l core.AssocLink) string { return l.TemplateID },
		func(tp *core.LinkedTemplate) (string, *string) { return tp.ID, &tp.Reason })
	return pageOf(linked, p), len(linked), nil
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

// countRules fills in how many rules are expected to fire on each template choice.
func (t *Tx) countRules(ctx context.Context, choices []core.TemplateChoice) error {
	var ids []string
	seen := map[string]bool{}
	for _, c := range choices {
		if !seen[c.TemplateID] {
			seen[c.TemplateID] = true
			ids = append(ids, c.TemplateID)
		}
	}
	n, err := t.RuleCounts(ctx, ids)
	if err != nil {
		return fmt.Errorf("store: template choices: %w", err)
	}
	for i := range choices {
		choices[i].Rules = n[choices[i].TemplateID]
	}
	return nil
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/aegis-sec/aegis/core"
)

var templateFields = []string{
	"id", "source", "external_id", "template_type", "name", "description", "tactic", "platforms",
	"executor_name", "command", "cleanup_command", "elevation_required", "executors", "input_arguments",
	"dependencies", "manual_steps", "payloads", "refs", "metadata", "active", "deprecated", "source_ref",
	"content_hash", "created_by", "created_at", "updated_at", "author", "template_modified", "dependency_executor",
}

var ruleFields = []string{
	"id", "source", "external_id", "format", "rule_type", "kind", "title", "description", "status", "level",
	"risk_score", "author", "language", "query", "raw", "detection", "log_source", "index_patterns", "tags",
	"tactics", "refs", "false_positives", "related", "metadata", "rule_date", "rule_modified", "active",
	"deprecated", "source_ref", "content_hash", "created_by", "created_at", "updated_at", "severity",
}

// upsertSQL builds an INSERT ... ON CONFLICT (source, external_id) DO UPDATE that
// rewrites every column except the ones the owner keeps (id, creation, and the
// flags listed in keep), returning the stored id.
func upsertSQL(table string, fields []string, keep ...string) string {
	return upsertOn(table, []string{"source", "external_id"}, fields, keep...)
}

// upsertOn is upsertSQL for any natural key.
func upsertOn(table string, conflict, fields []string, keep ...string) string {
	kept := map[string]bool{"id": true, "created_at": true, "created_by": true}
	for _, k := range append(conflict, keep...) {
		kept[k] = true
	}
	var sets []string
	for _, f := range fields {
		if !kept[f] {
			sets = append(sets, f+" = excluded."+f)
		}
	}
	return `INSERT INTO ` + table + ` (` + strings.Join(fields, ", ") + `) VALUES (:` + strings.Join(fields, ", :") +
		`) ON CONFLICT (` + strings.Join(conflict, ", ") + `) DO UPDATE SET ` + strings.Join(sets, ", ") + ` RETURNING id`
}

var (
	templateUpsert = upsertSQL("test_templates", templateFields, "active")
	ruleUpsert     = upsertSQL("detection_rules", ruleFields, "active")
)

// namedGet runs a named query that returns one value.
func (t *Tx) namedGet(ctx context.Context, dst any, q string, arg any) error {
	query, args, err := t.tx.BindNamed(q, arg)
	if err != nil {
		return err
	}
	return t.get(ctx, dst, query, args...)
}

func emptyJSON(j *core.JSON, empty string) {
	if len(*j) == 0 || string(*j) == "null" {
		*j = core.JSON(empty)
	}
}

// UpsertTestTemplate inserts or updates a template by (source, external id) and links
// its techniques. Whether a template is active is the users' choice: an update from
// its source keeps it.
func (t *Tx) UpsertTestTemplate(ctx context.Context, te *core.TestTemplate) error {
	if err := te.Validate(); err != nil {
		return err
	}
	fresh := ""
	if te.ID == "" {
		te.ID = core.NewID()
		fresh = te.ID
	}
	if te.TemplateType == "" {
		te.TemplateType = "custom"
	}
	for _, j := range []*core.JSON{&te.Executors, &te.InputArguments, &te.Dependencies, &te.References} {
		emptyJSON(j, "[]")
	}
	emptyJSON(&te.Metadata, "{}")
	now := core.Now()
	te.CreatedAt, te.UpdatedAt = now, now
	if t.holding && fresh != "" {
		if err := t.holdUpsert(ctx, "test_templates", "test_template_techniques", "test_template_id", templateUpsert, te, &te.ID,
			te.Source, te.ExternalID, te.TechniqueIDs); err != nil {
			return fmt.Errorf("store: upsert template %s/%s: %w", te.Source, te.ExternalID, err)
		}
		return nil
	}
	if err := t.namedGet(ctx, &te.ID, templateUpsert, te); err != nil {
		return fmt.Errorf("store: upsert template %s/%s: %w", te.Source, te.ExternalID, err)
	}
	return t.linkTechniques(ctx, "test_template_techniques", "test_template_id", te.ID, te.ID == fresh, te.TechniqueIDs)
}

// UpsertDetectionRule inserts or updates a rule by (source, external id) and links its
// techniques.
func (t *Tx) UpsertDetectionRule(ctx context.Context, r *core.DetectionRule) error {
	if err := r.Validate(); err != nil {
		return err
	}
	fresh := ""
	if r.ID == "" {
		r.ID = core.NewID()
		fresh = r.ID
	}
	if r.Format == "" {
		r.Format = "custom"
	}
	if r.Kind == "" {
		r.Kind = core.RuleKindDetection
	}
	for _, j := range []*core.JSON{&r.References, &r.Related} {
		emptyJSON(j, "[]")
	}
	for _, j := range []*core.JSON{&r.Detection, &r.LogSource, &r.Metadata} {
		emptyJSON(j, "{}")
	}
	now := core.Now()
	r.CreatedAt, r.UpdatedAt = now, now
	if t.holding && fresh != "" {
		if err := t.holdUpsert(ctx, "detection_rules", "detection_rule_techniques", "detection_rule_id", ruleUpsert, r, &r.ID,
			r.Source, r.ExternalID, r.TechniqueIDs); err != nil {
			return fmt.Errorf("store: upsert rule %s/%s: %w", r.Source, r.ExternalID, err)
		}
		return nil
	}
	if err := t.namedGet(ctx, &r.ID, ruleUpsert, r); err != nil {
		return fmt.Errorf("store: upsert rule %s/%s: %w", r.Source, r.ExternalID, err)
	}
	return t.linkTechniques(ctx, "detection_rule_techniques", "detection_rule_id", r.ID, r.ID == fresh, r.TechniqueIDs)
}

// linkTechniques replaces the technique links of one owner row, in one INSERT. A row
// the upsert just created (its id the one generated for it) has no links to clear.
func (t *Tx) linkTechniques(ctx context.Context, table, ownerCol, ownerID string, created bool, externalIDs []string) error {
	if !created {
		if _, err := t.exec(ctx, `DELETE FROM `+table+` WHERE `+ownerCol+` = ?`, ownerID); err != nil {
			return fmt.Errorf("store: clear %s: %w", table, err)
		}
	}
	rows, err := t.techniqueLinks(ctx, ownerID, externalIDs)
	if err != nil {
		return err
	}
	if err := t.insertRows(ctx, table, []string{ownerCol, "technique_id"}, rows, ""); err != nil {
		return fmt.Errorf("store: link %s to %v: %w", ownerID, externalIDs, err)
	}
	return nil
}

// techniqueLinks returns the (owner, technique id) rows linking ownerID to each
// technique once.
func (t *Tx) techniqueLinks(ctx context.Context, ownerID string, externalIDs []string) ([][]any, error) {
	seen := map[string]bool{}
	rows := make([][]any, 0, len(externalIDs))
	for _, ext := range externalIDs {
		if seen[ext] {
			continue
		}
		seen[ext] = true
		tid, err := t.EnsureTechnique(ctx, ext)
		if err != nil {
			return nil, err
		}
		rows = append(rows, []any{ownerID, tid})
	}
	return rows, nil
}

// EnsureTechnique returns the id of a technique, creating an "unknown to this release"
// placeholder for an id no imported ATT&CK release has (yet): other sources run ahead
// of the release in use, and their links must not be dropped.
func (t *Tx) EnsureTechnique(ctx context.Context, externalID string) (string, error) {
	if !core.ValidTechniqueID(externalID) {
		return "", core.FieldError("technique_id", "%q is not an ATT&CK technique id", externalID)
	}
	if t.holding {
		// A held transaction reads every technique id once: a miss then means a new
		// placeholder, held like the rows that link to it.
		if err := t.allTechniqueIDs(ctx); err != nil {
			return "", err
		}
	}
	if id, ok := t.techIDs[externalID]; ok {
		return id, nil
	}
	if !t.techAll {
		var id string
		err := t.get(ctx, &id, `SELECT id FROM techniques WHERE external_id = ?`, externalID)
		if err == nil {
			t.rememberTechnique(externalID, id)
			return id, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("store: find technique %s: %w", externalID, err)
		}
	}
	te := &core.Technique{ExternalID: externalID, Known: false}
	if parent := core.ParentTechniqueID(externalID); parent != "" {
		pid, err := t.EnsureTechnique(ctx, parent)
		if err != nil {
			return "", err
		}
		te.ParentID = &pid
	}
	// Another transaction (an ATT&CK import, a second writer) may be inserting the same
	// technique: the placeholder then yields to it, instead of failing on the unique key
	// or overwriting a real technique with a placeholder once that one commits. (A held
	// insert returns its id at once; the flush checks that it was written.)
	id, err := t.insertTechniqueIfAbsent(ctx, te)
	if err != nil {
		return "", err
	}
	if id == "" {
		if err := t.get(ctx, &id, `SELECT id FROM techniques WHERE external_id = ?`, externalID); err != nil {
			return "", fmt.Errorf("store: find technique %s: %w", externalID, err)
		}
	}
	t.rememberTechnique(externalID, id)
	return id, nil
}

// allTechniqueIDs reads every technique id into t.techIDs, once per transaction.
func (t *Tx) allTechniqueIDs(ctx context.Context) error {
	if t.techAll {
		return nil
	}
	var rows []struct {
		ExternalID string `db:"external_id"`
		ID         string `db:"id"`
	}
	if err := t.sel(ctx, &rows, `SELECT external_id, id FROM techniques`); err != nil {
		return fmt.Errorf("store: technique ids: %w", err)
	}
	for _, r := range rows {
		t.rememberTechnique(r.ExternalID, r.ID)
	}
	t.techAll = true
	return nil
}

// rememberTechnique keeps a technique's id for the rest of the transaction: an import
// links thousands of rows to the same few hundred techniques. Technique rows keep
// their id and external id once written (upserts go by external id, nothing deletes
// them), so the cache cannot go stale within a transaction.
func (t *Tx) rememberTechnique(externalID, id string) {
	if t.techIDs == nil {
		t.techIDs = map[string]string{}
	}
	t.techIDs[externalID] = id
}

// TestTemplateByID finds one template with its techniques.
func (t *Tx) TestTemplateByID(ctx context.Context, id string) (*core.TestTemplate, error) {
	var te core.TestTemplate
	if err := t.get(ctx, &te, `SELECT `+strings.Join(templateFields, ", ")+` FROM test_templates WHERE id = ?`, id); err != nil {
		return nil, notFound(err, "test template", id)
	}
	ids, err := t.linkedTechniques(ctx, "test_template_techniques", "test_template_id", id)
	te.TechniqueIDs = ids
	return &te, err
}

// DetectionRuleByID finds one rule with its techniques.
func (t *Tx) DetectionRuleByID(ctx context.Context, id string) (*core.DetectionRule, error) {
	var r core.DetectionRule
	if err := t.get(ctx, &r, `SELECT `+strings.Join(ruleFields, ", ")+` FROM detection_rules WHERE id = ?`, id); err != nil {
		return nil, notFound(err, "detection rule", id)
	}
	ids, err := t.linkedTechniques(ctx, "detection_rule_techniques", "detection_rule_id", id)
	r.TechniqueIDs = ids
	return &r, err
}

func (t *Tx) linkedTechniques(ctx context.Context, table, ownerCol, ownerID string) ([]string, error) {
	ids := []string{}
	err := t.sel(ctx, &ids, `SELECT te.external_id FROM `+table+` l JOIN techniques te ON te.id = l.technique_id
		WHERE l.`+ownerCol+` = ? ORDER BY te.external_id`, ownerID)
	if err != nil {
		return nil, fmt.Errorf("store: techniques of %s: %w", ownerID, err)
	}
	return ids, nil
}

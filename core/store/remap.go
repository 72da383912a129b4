package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/aegis-sec/aegis/core"
)

// techniqueRef is a table that points at techniques, and the columns that, with the
// technique, make a row unique (a move must not create a duplicate of a row that already
// points at the replacement).
type techniqueRef struct {
	table string
	key   []string
}

var techniqueRefs = []techniqueRef{
	{"test_template_techniques", []string{"test_template_id"}},
	{"detection_rule_techniques", []string{"detection_rule_id"}},
	{"threat_actor_techniques", []string{"threat_actor_id"}},
	{"technique_mitigations", []string{"mitigation_id"}},
	{"compliance_control_mappings", []string{"control_id", "mapping_type"}},
	{"defensive_technique_mappings", []string{"defensive_technique_id", "relation", "via"}},
}

// RetiredTechniques lists revoked or deprecated techniques that tests or links still
// point at, with how many rows of each table do.
func (t *Tx) RetiredTechniques(ctx context.Context) ([]core.RetiredTechnique, error) {
	var rows []struct {
		ID         string `db:"id"`
		ExternalID string `db:"external_id"`
		Revoked    bool   `db:"revoked"`
		RevokedBy  string `db:"revoked_by"`
		Deprecated bool   `db:"deprecated"`
		Release    string `db:"last_seen_release"`
	}
	if err := t.sel(ctx, &rows, `SELECT id, external_id, revoked, revoked_by, deprecated, last_seen_release
		FROM techniques WHERE revoked OR deprecated ORDER BY external_id`); err != nil {
		return nil, fmt.Errorf("store: retired techniques: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	counts := map[string]map[string]int{}
	tables := append([]string{"tests"}, func() []string {
		var ns []string
		for _, r := range techniqueRefs {
			ns = append(ns, r.table)
		}
		return ns
	}()...)
	for _, table := range tables {
		var cs []struct {
			TechniqueID string `db:"technique_id"`
			N           int    `db:"n"`
		}
		q := `SELECT x.technique_id, COUNT(*) AS n FROM ` + table + ` x JOIN techniques te ON te.id = x.technique_id
			WHERE te.revoked OR te.deprecated GROUP BY x.technique_id`
		if err := t.sel(ctx, &cs, q); err != nil {
			return nil, fmt.Errorf("store: dependents in %s: %w", table, err)
		}
		for _, c := range cs {
			if counts[c.TechniqueID] == nil {
				counts[c.TechniqueID] = map[string]int{}
			}
			counts[c.TechniqueID][table] = c.N
		}
	}
	var out []core.RetiredTechnique
	for _, r := range rows {
		if counts[r.ID] == nil {
			continue
		}
		out = append(out, core.RetiredTechnique{ID: r.ID, ExternalID: r.ExternalID, Revoked: r.Revoked, RevokedBy: r.RevokedBy,
			Deprecated: r.Deprecated, Release: r.Release, Dependents: counts[r.ID]})
	}
	return out, nil
}

// MoveTechniqueReferences re-points tests and links from one technique to another.
// Links that already exist for the replacement are merged (the old row is dropped).
func (t *Tx) MoveTechniqueReferences(ctx context.Context, from, to string) (map[string]int, []string, error) {
	if from == to {
		return nil, nil, core.Errorf(core.EINVALID, "a technique cannot be remapped to itself")
	}
	moved := map[string]int{}
	var testIDs []string
	if err := t.sel(ctx, &testIDs, `SELECT id FROM tests WHERE technique_id = ? ORDER BY id`, from); err != nil {
		return nil, nil, fmt.Errorf("store: tests of %s: %w", from, err)
	}
	if len(testIDs) > 0 {
		// Each moved test gets a new version: a client holding the old one must reload.
		if _, err := t.exec(ctx, `UPDATE tests SET technique_id = ?, version = version + 1, updated_at = ? WHERE technique_id = ?`,
			to, core.Now(), from); err != nil {
			return nil, nil, fmt.Errorf("store: move tests from %s: %w", from, err)
		}
		moved["tests"] = len(testIDs)
		if err := t.refreshCoverage(ctx, from, to); err != nil {
			return nil, nil, err
		}
	}
	for _, ref := range techniqueRefs {
		var same []string
		for _, k := range ref.key {
			same = append(same, "x."+k+" = "+ref.table+"."+k)
		}
		res, err := t.exec(ctx, `UPDATE `+ref.table+` SET technique_id = ? WHERE technique_id = ? AND NOT EXISTS (
			SELECT 1 FROM `+ref.table+` x WHERE x.technique_id = ? AND `+strings.Join(same, " AND ")+`)`, to, from, to)
		if err != nil {
			return nil, nil, fmt.Errorf("store: move %s from %s: %w", ref.table, from, err)
		}
		n, _ := res.RowsAffected()
		res, err = t.exec(ctx, `DELETE FROM `+ref.table+` WHERE technique_id = ?`, from)
		if err != nil {
			return nil, nil, fmt.Errorf("store: merge %s of %s: %w", ref.table, from, err)
		}
		m, _ := res.RowsAffected()
		if n+m > 0 {
			moved[ref.table] = int(n + m)
		}
	}
	return moved, testIDs, nil
}

const reviewColumns = `r.id, r.technique_id, te.external_id, r.reason, r.candidates, r.dependents, r.release, r.status,
	r.target_technique_id, r.resolved_by, r.resolved_at, r.note, r.created_at, r.updated_at`

// QueueTechniqueReview opens a review for a technique, or refreshes the open one. A
// closed review (resolved or dismissed) is a person's decision and is left alone.
func (t *Tx) QueueTechniqueReview(ctx context.Context, r *core.TechniqueReview) error {
	existing, err := t.reviewOf(ctx, r.TechniqueID)
	if err != nil {
		return err
	}
	emptyJSON(&r.Dependents, "{}")
	if r.Candidates == nil {
		r.Candidates = core.Strings{}
	}
	now := core.Now()
	if existing != nil {
		if existing.Status != core.ReviewOpen {
			*r = *existing
			return nil
		}
		_, err := t.exec(ctx, `UPDATE technique_reviews SET reason = ?, candidates = ?, dependents = ?, release = ?, updated_at = ? WHERE id = ?`,
			r.Reason, r.Candidates, r.Dependents, r.Release, now, existing.ID)
		if err != nil {
			return fmt.Errorf("store: refresh review %s: %w", existing.ID, err)
		}
		r.ID, r.Status, r.CreatedAt, r.UpdatedAt = existing.ID, existing.Status, existing.CreatedAt, now
		return nil
	}
	r.ID, r.Status, r.CreatedAt, r.UpdatedAt = core.NewID(), core.ReviewOpen, now, now
	_, err = t.exec(ctx, `INSERT INTO technique_reviews (id, technique_id, reason, candidates, dependents, release, status, note, created_at, updated_at)
		VALUES (?,?,?,?,?,?,?,?,?,?)`, r.ID, r.TechniqueID, r.Reason, r.Candidates, r.Dependents, r.Release, r.Status, r.Note, now, now)
	if err != nil {
		return fmt.Errorf("store: queue review of %s: %w", r.ExternalID, err)
	}
	return nil
}

func (t *Tx) reviewOf(ctx context.Context, techniqueID string) (*core.TechniqueReview, error) {
	var list []*core.TechniqueReview
	if err := t.sel(ctx, &list, `SELECT `+reviewColumns+` FROM technique_reviews r JOIN techniques te ON te.id = r.technique_id
		WHERE r.technique_id = ?`, techniqueID); err != nil {
		return nil, fmt.Errorf("store: review of %s: %w", techniqueID, err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list[0], nil
}

// TechniqueReviewOf returns the review of a technique, or nil.
func (t *Tx) TechniqueReviewOf(ctx context.Context, techniqueID string) (*core.TechniqueReview, error) {
	return t.reviewOf(ctx, techniqueID)
}

// ListTechniqueReviews returns one page of reviews, oldest first.
func (t *Tx) ListTechniqueReviews(ctx context.Context, f core.ReviewFilter) ([]*core.TechniqueReview, int, error) {
	w := where{}
	if f.Status != "" {
		w.add("r.status = ?", f.Status)
	}
	var total int
	if err := t.get(ctx, &total, `SELECT COUNT(*) FROM technique_reviews r`+w.sql(), w.args...); err != nil {
		return nil, 0, fmt.Errorf("store: count reviews: %w", err)
	}
	p := f.Page.Normalize()
	out := []*core.TechniqueReview{}
	if err := t.sel(ctx, &out, `SELECT `+reviewColumns+` FROM technique_reviews r JOIN techniques te ON te.id = r.technique_id`+
		w.sql()+` ORDER BY te.external_id LIMIT ? OFFSET ?`, append(w.args, p.Limit, p.Offset)...); err != nil {
		return nil, 0, fmt.Errorf("store: list reviews: %w", err)
	}
	return out, total, nil
}

// TechniqueReviewByID finds one review.
func (t *Tx) TechniqueReviewByID(ctx context.Context, id string) (*core.TechniqueReview, error) {
	var r core.TechniqueReview
	if err := t.get(ctx, &r, `SELECT `+reviewColumns+` FROM technique_reviews r JOIN techniques te ON te.id = r.technique_id WHERE r.id = ?`, id); err != nil {
		return nil, notFound(err, "technique review", id)
	}
	return &r, nil
}

// CloseTechniqueReview writes a review's decision (status, target, who, when, note).
func (t *Tx) CloseTechniqueReview(ctx context.Context, r *core.TechniqueReview) error {
	r.UpdatedAt = core.Now()
	_, err := t.exec(ctx, `UPDATE technique_reviews SET status = ?, target_technique_id = ?, resolved_by = ?, resolved_at = ?,
		note = ?, updated_at = ? WHERE id = ?`, r.Status, r.TargetTechniqueID, r.ResolvedBy, r.ResolvedAt, r.Note, r.UpdatedAt, r.ID)
	if err != nil {
		return fmt.Errorf("store: close review %s: %w", r.ID, err)
	}
	return nil
}

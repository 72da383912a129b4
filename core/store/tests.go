package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/aegis-sec/aegis/core"
)

// testFields are the columns of tests, in one list so insert, update and select agree.
var testFields = []string{
	"id", "title", "description", "technique_id", "template_id", "state", "version", "platform",
	"procedure", "command", "target", "executed_at", "executed_by", "attack_outcome", "red_notes",
	"prevented", "prevented_at", "alerted", "alerted_at", "logged", "logged_at", "not_applicable",
	"control_outcomes", "blue_notes", "review_round", "rejection_reason", "validated_at",
	"remediation_owner", "remediation_due", "remediation_status", "remediation_notes",
	"remediation_completed_at", "retest_of", "retest_depth", "assigned_red", "assigned_blue",
	"created_by", "created_at", "updated_at",
}

var (
	testColumns = strings.Join(testFields, ", ")
	testInsert  = `INSERT INTO tests (` + testColumns + `) VALUES (:` + strings.Join(testFields, ", :") + `)`
	testUpdate  = func() string {
		var sets []string
		for _, f := range testFields {
			switch f {
			case "id", "created_at", "created_by", "version":
				continue
			}
			sets = append(sets, f+" = :"+f)
		}
		// The version check is the optimistic lock: a writer that read an older version
		// changes nothing and learns about it from the affected row count.
		return `UPDATE tests SET ` + strings.Join(sets, ", ") + `, version = version + 1 WHERE id = :id AND version = :version`
	}()
)

// CreateTest inserts a new test at version 1.
func (t *Tx) CreateTest(ctx context.Context, te *core.Test) error {
	if te.State == "" {
		te.State = core.StateDraft
	}
	if te.RemediationStatus == "" {
		te.RemediationStatus = "none"
	}
	if err := te.Validate(); err != nil {
		return err
	}
	if te.ID == "" {
		te.ID = core.NewID()
	}
	if len(te.ControlOutcomes) == 0 {
		te.ControlOutcomes = core.JSON("[]")
	}
	now := core.Now()
	te.CreatedAt, te.UpdatedAt, te.Version = now, now, 1
	if _, err := t.tx.NamedExecContext(ctx, testInsert, te); err != nil {
		return fmt.Errorf("store: create test %q: %w", te.Title, err)
	}
	return t.refreshCoverage(ctx, te.TechniqueID)
}

// UpdateTest writes te when the stored version still equals te.Version; on success
// te.Version is the new version. A stale write is an ECONFLICT carrying the current
// version, and changes nothing.
func (t *Tx) UpdateTest(ctx context.Context, te *core.Test) error {
	if err := te.Validate(); err != nil {
		return err
	}
	te.UpdatedAt = core.Now()
	var before string
	if err := t.get(ctx, &before, `SELECT technique_id FROM tests WHERE id = ?`, te.ID); err != nil {
		return notFound(err, "test", te.ID)
	}
	res, err := t.tx.NamedExecContext(ctx, testUpdate, te)
	if err != nil {
		return fmt.Errorf("store: update test %s: %w", te.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		te.Version++
		return t.refreshCoverage(ctx, before, te.TechniqueID)
	}
	var current int
	if err := t.get(ctx, &current, `SELECT version FROM tests WHERE id=?`, te.ID); err != nil {
		return notFound(err, "test", te.ID)
	}
	return &core.Error{Code: core.ECONFLICT,
		Message: fmt.Sprintf("test %s was changed by someone else (version %d, you sent %d): reload and try again", te.ID, current, te.Version),
		Detail:  map[string]any{"current_version": current}}
}

// TestByID finds one test.
func (t *Tx) TestByID(ctx context.Context, id string) (*core.Test, error) {
	list, err := t.selectTests(ctx, `SELECT `+t.testSelect()+` FROM tests WHERE id=?`, id)
	if err == nil && len(list) == 0 {
		err = sql.ErrNoRows
	}
	if err != nil {
		return nil, notFound(err, "test", id)
	}
	return list[0], nil
}

// ListTests returns one page of tests, newest first, and the total that match f.
func (t *Tx) ListTests(ctx context.Context, f core.TestFilter) ([]*core.Test, int, error) {
	var total int
	count := testWhere(f, 0)
	countQuery := `SELECT COUNT(*) FROM tests` + count.sql()
	if q, args, ok := summaryTotal(f); ok {
		countQuery, count.args = q, args
	}
	if err := t.get(ctx, &total, countQuery, count.args...); err != nil {
		return nil, 0, fmt.Errorf("store: count tests: %w", err)
	}
	p := f.Page.Normalize()
	w := testWhere(f, p.Offset+p.Limit)
	out, err := t.selectTests(ctx, `SELECT `+t.testSelect()+` FROM tests`+w.sql()+` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
		append(w.args, p.Limit, p.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list tests: %w", err)
	}
	return out, total, nil
}

// summaryTotal answers the total of a test list from the per-technique counts kept on
// every write (technique_test_counts) when the filter allows it: no filter, a
// technique, and the states the summary counts (validated, rejected). An exact COUNT(*)
// over 100,000 tests costs PostgreSQL a walk of every row on each page; this reads one
// row per technique, and is as exact (TestListTestsTotalFromSummary).
func summaryTotal(f core.TestFilter) (string, []any, bool) {
	if f.CampaignID != "" || f.AssigneeID != "" || f.Since != nil || f.Until != nil {
		return "", nil, false
	}
	col := "tests"
	switch f.State {
	case "":
	case core.StateValidated:
		col = "validated"
	case core.StateRejected:
		col = "rejected"
	default:
		return "", nil, false
	}
	if f.TechniqueID != "" {
		return `SELECT COALESCE(SUM(` + col + `), 0) FROM technique_test_counts WHERE technique_id = ?`, []any{f.TechniqueID}, true
	}
	return `SELECT COALESCE(SUM(` + col + `), 0) FROM technique_test_counts`, nil, true
}

// testWhere is the condition of a test list. With an assignee and a page end (offset +
// limit), the page reads only candidates: no one index gives the order of "red or blue
// assignee", so it takes the newest pageEnd tests (with the other filters) of each
// column, each in order from its own index, and sorts only those, at most twice the
// page end. The count (pageEnd 0) reads both indexes whole.
func testWhere(f core.TestFilter, pageEnd int) where {
	w := where{}
	if f.State != "" {
		w.add("state = ?", f.State)
	}
	if f.TechniqueID != "" {
		w.add("technique_id = ?", f.TechniqueID)
	}
	if f.CampaignID != "" {
		w.add("id IN (SELECT test_id FROM campaign_tests WHERE campaign_id = ?)", f.CampaignID)
	}
	if f.Since != nil {
		w.add("created_at >= ?", f.Since.UTC())
	}
	if f.Until != nil {
		w.add("created_at < ?", f.Until.UTC())
	}
	if f.AssigneeID == "" {
		return w
	}
	if pageEnd <= 0 {
		w.add("(assigned_red = ? OR assigned_blue = ?)", f.AssigneeID, f.AssigneeID)
		return w
	}
	half := func(col string) (string, []any) {
		h := where{conds: append([]string{col + " = ?"}, w.conds...), args: append([]any{f.AssigneeID}, w.args...)}
		return `SELECT id FROM (SELECT id FROM tests` + h.sql() + ` ORDER BY created_at DESC, id DESC LIMIT ?) `, append(h.args, pageEnd)
	}
	red, redArgs := half("assigned_red")
	blue, blueArgs := half("assigned_blue")
	out := where{}
	out.add(`id IN (`+red+`r UNION `+blue+`b)`, append(redArgs, blueArgs...)...)
	return out
}

// coverageExpr derives a technique's coverage status from its tests: core.CoverageStatusOf
// in SQL, for the stored status the technique list filters on (a test holds the two to
// the same answers). It is applied on every write of a test, so the stored status can
// never disagree with the tests. A validated test without a validation time sorts last
// on both dialects (PostgreSQL would put NULL first in a descending order).
const coverageExpr = `CASE
	WHEN NOT EXISTS (SELECT 1 FROM tests x WHERE x.technique_id = techniques.id) THEN 'not_tested'
	WHEN NOT EXISTS (SELECT 1 FROM tests x WHERE x.technique_id = techniques.id AND x.state = 'validated') THEN 'in_progress'
	ELSE (SELECT CASE WHEN x.prevented OR x.alerted THEN 'covered' WHEN x.logged THEN 'partial' ELSE 'not_covered' END
		FROM tests x WHERE x.technique_id = techniques.id AND x.state = 'validated'
		ORDER BY x.validated_at IS NULL, x.validated_at DESC, x.updated_at DESC, x.id DESC LIMIT 1)
	END`

// refreshCoverage recomputes the coverage status and the coverage summaries of the
// given techniques. Every write of a test calls it in its own transaction, so neither
// can disagree with the tests.
func (t *Tx) refreshCoverage(ctx context.Context, techniqueIDs ...string) error {
	ids := make([]any, 0, len(techniqueIDs))
	seen := map[string]bool{}
	for _, id := range techniqueIDs {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	in := `(?` + strings.Repeat(",?", len(ids)-1) + `)`
	if _, err := t.exec(ctx, `UPDATE techniques SET coverage_status = `+coverageExpr+` WHERE id IN `+in, ids...); err != nil {
		return fmt.Errorf("store: coverage of %v: %w", techniqueIDs, err)
	}
	return t.refreshSummaries(ctx, in, ids)
}

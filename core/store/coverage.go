package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/aegis-sec/aegis/core"
)

// CoverageTechniques lists the techniques of a domain with their tactics and the number
// of active, live test templates that exercise each.
func (t *Tx) CoverageTechniques(ctx context.Context, domain string) ([]*core.CoverageTechnique, error) {
	w := where{}
	if domain != "" {
		cond, args := t.jsonHas("te.domains", domain)
		w.add(cond, args...)
	}
	out := []*core.CoverageTechnique{}
	if err := t.sel(ctx, &out, `SELECT te.id, te.external_id, te.name, te.parent_id, te.is_subtechnique, te.platforms, te.domains,
		te.coverage_status, te.last_seen_release, te.revoked, te.revoked_by, te.deprecated, te.known, COALESCE(n.templates, 0) AS templates
		FROM techniques te LEFT JOIN (SELECT l.technique_id, COUNT(*) AS templates FROM test_template_techniques l
			JOIN test_templates tt ON tt.id = l.test_template_id WHERE tt.active = TRUE AND tt.deprecated = FALSE
			GROUP BY l.technique_id) n ON n.technique_id = te.id`+w.sql()+` ORDER BY te.external_id`, w.args...); err != nil {
		return nil, fmt.Errorf("store: coverage techniques: %w", err)
	}
	var links []struct {
		Technique string `db:"technique_id"`
		Tactic    string `db:"tactic_id"`
	}
	if err := t.sel(ctx, &links, `SELECT technique_id, tactic_id FROM technique_tactics`); err != nil {
		return nil, fmt.Errorf("store: technique tactics: %w", err)
	}
	byID := make(map[string]*core.CoverageTechnique, len(out))
	for _, te := range out {
		byID[te.ID] = te
	}
	for _, l := range links {
		if te := byID[l.Technique]; te != nil {
			te.TacticIDs = append(te.TacticIDs, l.Tactic)
		}
	}
	return out, nil
}

// AttackReleases lists the ATT&CK releases of a domain that an import recorded.
func (t *Tx) AttackReleases(ctx context.Context, domain string) ([]string, error) {
	out := []string{}
	if err := t.sel(ctx, &out, `SELECT DISTINCT release_version FROM attack_release_techniques WHERE domain = ?`, domain); err != nil {
		return nil, fmt.Errorf("store: ATT&CK releases of %s: %w", domain, err)
	}
	return out, nil
}

// ReleaseTechniques lists the technique objects one release of a domain held.
func (t *Tx) ReleaseTechniques(ctx context.Context, domain, release string) ([]*core.ReleaseTechnique, error) {
	out := []*core.ReleaseTechnique{}
	if err := t.sel(ctx, &out, `SELECT domain, release_version, technique_id, tactic_ids, revoked, deprecated
		FROM attack_release_techniques WHERE domain = ? AND release_version = ?`, domain, release); err != nil {
		return nil, fmt.Errorf("store: techniques of ATT&CK %s %s: %w", domain, release, err)
	}
	return out, nil
}

// ReleaseTactics lists the tactics one release of a domain had, in its matrix order.
func (t *Tx) ReleaseTactics(ctx context.Context, domain, release string) ([]*core.ReleaseTactic, error) {
	out := []*core.ReleaseTactic{}
	if err := t.sel(ctx, &out, `SELECT domain, release_version, tactic_id, external_id, name, shortname, matrix_order
		FROM attack_release_tactics WHERE domain = ? AND release_version = ? ORDER BY matrix_order, external_id`, domain, release); err != nil {
		return nil, fmt.Errorf("store: tactics of ATT&CK %s %s: %w", domain, release, err)
	}
	return out, nil
}

func scopeWhere(w *where, s core.TestScope) {
	if s.Platform != "" {
		w.add("LOWER(platform) = ?", strings.ToLower(s.Platform))
	}
	if s.CampaignID != "" {
		w.add("id IN (SELECT test_id FROM campaign_tests WHERE campaign_id = ?)", s.CampaignID)
	}
}

// procedureKey is a validated test's procedure for scoring: its template, or its own
// procedure text (its title when it has none) when it was written by hand.
const procedureKey = `COALESCE(CAST(template_id AS TEXT), 'custom:' || LOWER(CASE WHEN procedure <> '' THEN procedure ELSE title END))`

// validatedApplicable selects the tests a score reads.
const validatedApplicable = `state = 'validated' AND not_applicable = FALSE AND validated_at IS NOT NULL`

// Validations lists the validated, applicable tests in scope. Without a scope it reads
// the summary kept on write (technique_cell_validations): the newest validation of each
// (technique, platform as recorded, procedure) cell, which is all a score reads
// (scoring.Technique keeps the newest validation per cell, platforms compared without
// letter case), so the scores come out the same as from every validation.
func (t *Tx) Validations(ctx context.Context, s core.TestScope) ([]core.ScoringRow, error) {
	var out []core.ScoringRow
	if s == (core.TestScope{}) {
		if err := t.sel(ctx, &out, `SELECT technique_id, test_id AS id, platform, procedure_key, validated_at, prevented, alerted, logged
			FROM technique_cell_validations`); err != nil {
			return nil, fmt.Errorf("store: validations: %w", err)
		}
		return out, nil
	}
	w := where{}
	w.add(validatedApplicable)
	scopeWhere(&w, s)
	if err := t.sel(ctx, &out, `SELECT technique_id, id, platform, `+procedureKey+` AS procedure_key,
		validated_at, COALESCE(prevented, FALSE) AS prevented, COALESCE(alerted, FALSE) AS alerted, COALESCE(logged, FALSE) AS logged
		FROM tests`+w.sql(), w.args...); err != nil {
		return nil, fmt.Errorf("store: validations: %w", err)
	}
	return out, nil
}

// StatusTests lists the tests in scope with the columns core.CoverageStatusOf reads, so a
// scoped coverage status follows the same rule as the stored one.
func (t *Tx) StatusTests(ctx context.Context, s core.TestScope) ([]*core.Test, error) {
	w := where{}
	scopeWhere(&w, s)
	var out []*core.Test
	if err := t.sel(ctx, &out, `SELECT id, technique_id, state, validated_at, updated_at, prevented, alerted, logged
		FROM tests`+w.sql(), w.args...); err != nil {
		return nil, fmt.Errorf("store: status tests: %w", err)
	}
	return out, nil
}

// testCountColumns count a technique's tests by state and outcome (TechniqueTestCounts).
const testCountColumns = `COUNT(*) AS tests,
		SUM(CASE WHEN state NOT IN ('validated','rejected') THEN 1 ELSE 0 END) AS in_progress,
		SUM(CASE WHEN state = 'validated' THEN 1 ELSE 0 END) AS validated,
		SUM(CASE WHEN state = 'rejected' THEN 1 ELSE 0 END) AS rejected,
		SUM(CASE WHEN ` + applicable + ` AND prevented THEN 1 ELSE 0 END) AS prevented,
		SUM(CASE WHEN ` + applicable + ` AND alerted THEN 1 ELSE 0 END) AS alerted,
		SUM(CASE WHEN ` + applicable + ` AND logged THEN 1 ELSE 0 END) AS logged,
		SUM(CASE WHEN ` + applicable + ` AND NOT COALESCE(prevented, FALSE) AND NOT COALESCE(alerted, FALSE) AND NOT COALESCE(logged, FALSE) THEN 1 ELSE 0 END) AS none`

const applicable = "state = 'validated' AND not_applicable = FALSE"

// TestCounts counts the tests in scope per technique; without a scope it reads the
// counts kept on write (technique_test_counts).
func (t *Tx) TestCounts(ctx context.Context, s core.TestScope) ([]core.TechniqueTestCounts, error) {
	var out []core.TechniqueTestCounts
	if s == (core.TestScope{}) {
		if err := t.sel(ctx, &out, `SELECT technique_id, tests, in_progress, validated, rejected, prevented, alerted, logged, none
			FROM technique_test_counts`); err != nil {
			return nil, fmt.Errorf("store: test counts: %w", err)
		}
		return out, nil
	}
	w := where{}
	scopeWhere(&w, s)
	if err := t.sel(ctx, &out, `SELECT technique_id, `+testCountColumns+` FROM tests`+w.sql()+` GROUP BY technique_id`, w.args...); err != nil {
		return nil, fmt.Errorf("store: test counts: %w", err)
	}
	return out, nil
}

// refreshSummaries recomputes the coverage summaries of the given techniques from their
// tests, set-based, in the caller's transaction (see refreshCoverage).
func (t *Tx) refreshSummaries(ctx context.Context, in string, ids []any) error {
	stmts := []string{
		`DELETE FROM technique_test_counts WHERE technique_id IN ` + in,
		`INSERT INTO technique_test_counts (technique_id, tests, in_progress, validated, rejected, prevented, alerted, logged, none)
		SELECT technique_id, ` + testCountColumns + ` FROM tests WHERE technique_id IN ` + in + ` GROUP BY technique_id`,
		`DELETE FROM technique_cell_validations WHERE technique_id IN ` + in,
		`INSERT INTO technique_cell_validations (technique_id, platform, procedure_key, test_id, validated_at, prevented, alerted, logged)
		SELECT technique_id, platform, procedure_key, id, validated_at, prevented, alerted, logged FROM (
			SELECT technique_id, platform, procedure_key, id, validated_at, prevented, alerted, logged,
				ROW_NUMBER() OVER (PARTITION BY technique_id, platform, procedure_key ORDER BY validated_at DESC, id DESC) AS n
			FROM (SELECT technique_id, platform, id, validated_at, ` + procedureKey + ` AS procedure_key,
					COALESCE(prevented, FALSE) AS prevented, COALESCE(alerted, FALSE) AS alerted, COALESCE(logged, FALSE) AS logged
				FROM tests WHERE technique_id IN ` + in + ` AND ` + validatedApplicable + `) v
		) ranked WHERE n = 1`,
	}
	for _, q := range stmts {
		if _, err := t.exec(ctx, q, ids...); err != nil {
			return fmt.Errorf("store: coverage summary: %w", err)
		}
	}
	return nil
}

// ActorUses lists the techniques of every live actor.
func (t *Tx) ActorUses(ctx context.Context) ([]core.ActorUse, error) {
	var out []core.ActorUse
	if err := t.sel(ctx, &out, `SELECT a.id AS actor_id, a.external_id AS actor_external_id, a.name AS actor_name, l.technique_id
		FROM threat_actor_techniques l JOIN threat_actors a ON a.id = l.threat_actor_id
		WHERE a.revoked = FALSE AND a.deprecated = FALSE ORDER BY a.name, a.id`); err != nil {
		return nil, fmt.Errorf("store: actor uses: %w", err)
	}
	return out, nil
}

// MetricTests lists every test's timestamps and facts.
func (t *Tx) MetricTests(ctx context.Context) ([]core.MetricTest, error) {
	var out []core.MetricTest
	if err := t.sel(ctx, &out, `SELECT id, title, technique_id, state, created_at, executed_at, executed_by, assigned_blue, validated_at,
		alerted_at, prevented, alerted, logged, not_applicable, remediation_status, remediation_completed_at, platform FROM tests`); err != nil {
		return nil, fmt.Errorf("store: metric tests: %w", err)
	}
	return out, nil
}

// TestStateCounts counts every test by state (an index-only scan of tests(state, ...)).
func (t *Tx) TestStateCounts(ctx context.Context) (map[core.TestState]int, error) {
	var rows []struct {
		State core.TestState `db:"state"`
		N     int            `db:"n"`
	}
	if err := t.sel(ctx, &rows, `SELECT state, COUNT(*) AS n FROM tests GROUP BY state`); err != nil {
		return nil, fmt.Errorf("store: tests by state: %w", err)
	}
	out := make(map[core.TestState]int, len(rows))
	for _, r := range rows {
		out[r.State] = r.N
	}
	return out, nil
}

// MeasuredTests lists the tests a metric can use (see core.CoverageRepo): every metric
// needs a validation time, and all but the remediation time a validated test. Reading
// only those rows and columns is what keeps a snapshot's metrics cheap at 100,000 tests.
// On SQLite the partial index tests_measured_idx (migration 0190) holds exactly these rows
// and columns; SQLite uses it only while this WHERE clause implies the index's, so change
// both together (TestSnapshotReadsTestsFromCoveringIndexes).
func (t *Tx) MeasuredTests(ctx context.Context) ([]core.MetricTest, error) {
	var out []core.MetricTest
	if err := t.sel(ctx, &out, `SELECT id, technique_id, state, executed_at, validated_at, alerted_at, prevented, alerted,
		not_applicable, remediation_status, remediation_completed_at FROM tests
		WHERE validated_at IS NOT NULL AND (state = 'validated' OR (remediation_status = 'completed' AND remediation_completed_at IS NOT NULL))`); err != nil {
		return nil, fmt.Errorf("store: measured tests: %w", err)
	}
	return out, nil
}

// DetectionTally counts the detection results recorded on validated tests.
func (t *Tx) DetectionTally(ctx context.Context) (core.DetectionTally, error) {
	var d core.DetectionTally
	if err := t.get(ctx, &d, `SELECT COUNT(*) AS results, COALESCE(SUM(CASE WHEN r.triggered THEN 1 ELSE 0 END), 0) AS triggered
		FROM test_detection_results r JOIN tests x ON x.id = r.test_id WHERE x.state = 'validated'`); err != nil {
		return d, fmt.Errorf("store: detection tally: %w", err)
	}
	return d, nil
}

// OperatorStats counts each user's work: tests executed, tests evaluated as the
// assigned blue technician (that went on to review or validation), approvals cast, and
// minutes logged.
func (t *Tx) OperatorStats(ctx context.Context) ([]*core.OperatorStats, error) {
	out := []*core.OperatorStats{}
	if err := t.sel(ctx, &out, `SELECT u.id AS user_id, u.username, u.role,
		(SELECT COUNT(*) FROM tests x WHERE x.executed_by = u.id) AS executed,
		(SELECT COUNT(*) FROM tests x WHERE x.assigned_blue = u.id AND x.state IN ('in_review','validated')) AS evaluated,
		(SELECT COUNT(*) FROM test_votes v WHERE v.user_id = u.id AND v.decision = 'approve') AS validated,
		(SELECT COALESCE(SUM(w.minutes), 0) FROM worklogs w WHERE w.user_id = u.id) AS minutes
		FROM users u ORDER BY u.username`); err != nil {
		return nil, fmt.Errorf("store: operator stats: %w", err)
	}
	return out, nil
}

const scoringConfigColumns = `id, formula_version, weights, active, created_by, created_at`

// ActiveScoringConfig returns the weights in force, or nil when none were ever saved.
func (t *Tx) ActiveScoringConfig(ctx context.Context) (*core.ScoringConfig, error) {
	var out []*core.ScoringConfig
	if err := t.sel(ctx, &out, `SELECT `+scoringConfigColumns+` FROM scoring_configs WHERE active = TRUE ORDER BY created_at DESC, id DESC LIMIT 1`); err != nil {
		return nil, fmt.Errorf("store: active scoring config: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out[0], nil
}

// SaveScoringConfig stores c as the active weights; the previous ones stay as history.
func (t *Tx) SaveScoringConfig(ctx context.Context, c *core.ScoringConfig) error {
	if c.ID == "" {
		c.ID = core.NewID()
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = core.Now()
	}
	c.Active = true
	if _, err := t.exec(ctx, `UPDATE scoring_configs SET active = FALSE WHERE active = TRUE`); err != nil {
		return fmt.Errorf("store: retire scoring config: %w", err)
	}
	if _, err := t.exec(ctx, `INSERT INTO scoring_configs (`+scoringConfigColumns+`) VALUES (?,?,?,?,?,?)`,
		c.ID, c.FormulaVersion, c.Weights, c.Active, c.CreatedBy, c.CreatedAt); err != nil {
		return fmt.Errorf("store: save scoring config: %w", err)
	}
	return nil
}

// ListScoringConfigs lists saved weights, newest first.
func (t *Tx) ListScoringConfigs(ctx context.Context, p core.Page) ([]*core.ScoringConfig, int, error) {
	out := []*core.ScoringConfig{}
	total, err := t.page(ctx, "scoring configs", "scoring_configs", scoringConfigColumns, where{}, "created_at DESC, id DESC", p, &out)
	return out, total, err
}

type snapshotRow struct {
	core.Snapshot
	Score  float64 `db:"org_score"`
	Scored bool    `db:"org_scored"`
}

const snapshotColumns = `id, name, taken_at, formula_version, org_score, org_scored, technique_count, tested_count, metrics, created_by, created_at`

func (r *snapshotRow) snapshot() *core.Snapshot {
	s := r.Snapshot
	s.OrgScore = nil
	if r.Scored {
		v := r.Score
		s.OrgScore = &v
	}
	return &s
}

// CreateSnapshot stores a snapshot, its technique states and every test's state now.
func (t *Tx) CreateSnapshot(ctx context.Context, s *core.Snapshot, states []core.SnapshotTechniqueState) error {
	if s.ID == "" {
		s.ID = core.NewID()
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = core.Now()
	}
	if len(s.Metrics) == 0 {
		s.Metrics = core.JSON("{}")
	}
	score, scored := 0.0, s.OrgScore != nil
	if scored {
		score = *s.OrgScore
	}
	if _, err := t.exec(ctx, `INSERT INTO coverage_snapshots (`+snapshotColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		s.ID, s.Name, s.TakenAt.UTC(), s.FormulaVersion, score, scored, s.TechniqueCount, s.TestedCount, s.Metrics, s.CreatedBy, s.CreatedAt); err != nil {
		return fmt.Errorf("store: create snapshot: %w", err)
	}
	// The technique states go in rows of snapshotBatch per statement: one round trip per
	// technique cost PostgreSQL more than the whole copy of the tests' states below.
	for start := 0; start < len(states); start += snapshotBatch {
		batch := states[start:min(len(states), start+snapshotBatch)]
		args := make([]any, 0, 7*len(batch))
		for _, st := range batch {
			sc, ok := 0.0, st.Score != nil
			if ok {
				sc = *st.Score
			}
			args = append(args, s.ID, st.TechniqueID, st.Status, sc, ok, st.TestCount, st.ValidatedCount)
		}
		if _, err := t.exec(ctx, `INSERT INTO snapshot_technique_states (snapshot_id, technique_id, status, score, scored, test_count, validated_count)
			VALUES `+strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?,?),", len(batch)), ","), args...); err != nil {
			return fmt.Errorf("store: snapshot technique states: %w", err)
		}
	}
	if _, err := t.exec(ctx, `INSERT INTO snapshot_test_states (snapshot_id, test_id, technique_id, state, outcome)
		SELECT ?, id, technique_id, state,
			CASE WHEN prevented THEN 'P' ELSE '' END || CASE WHEN alerted THEN 'A' ELSE '' END || CASE WHEN logged THEN 'L' ELSE '' END
		FROM tests`, s.ID); err != nil {
		return fmt.Errorf("store: snapshot tests: %w", err)
	}
	return nil
}

// snapshotBatch is how many technique states one statement of CreateSnapshot writes
// (7 parameters each, far below either database's limit).
const snapshotBatch = 200

// ListSnapshots lists snapshots, newest first.
func (t *Tx) ListSnapshots(ctx context.Context, p core.Page) ([]*core.Snapshot, int, error) {
	var rows []*snapshotRow
	total, err := t.page(ctx, "snapshots", "coverage_snapshots", snapshotColumns, where{}, "taken_at DESC, id DESC", p, &rows)
	if err != nil {
		return nil, 0, err
	}
	out := make([]*core.Snapshot, len(rows))
	for i, r := range rows {
		out[i] = r.snapshot()
	}
	return out, total, nil
}

// SnapshotByID finds one snapshot.
func (t *Tx) SnapshotByID(ctx context.Context, id string) (*core.Snapshot, error) {
	var r snapshotRow
	if err := t.get(ctx, &r, `SELECT `+snapshotColumns+` FROM coverage_snapshots WHERE id = ?`, id); err != nil {
		return nil, notFound(err, "snapshot", id)
	}
	return r.snapshot(), nil
}

// SnapshotTechniqueStates lists a snapshot's techniques by ATT&CK id.
func (t *Tx) SnapshotTechniqueStates(ctx context.Context, id string) ([]core.SnapshotTechniqueState, error) {
	var rows []struct {
		core.SnapshotTechniqueState
		Value  float64 `db:"score"`
		Scored bool    `db:"scored"`
	}
	if err := t.sel(ctx, &rows, `SELECT s.snapshot_id, s.technique_id, te.external_id, te.name, s.status, s.score, s.scored,
		s.test_count, s.validated_count FROM snapshot_technique_states s JOIN techniques te ON te.id = s.technique_id
		WHERE s.snapshot_id = ? ORDER BY te.external_id`, id); err != nil {
		return nil, fmt.Errorf("store: snapshot %s techniques: %w", id, err)
	}
	out := make([]core.SnapshotTechniqueState, len(rows))
	for i, r := range rows {
		out[i] = r.SnapshotTechniqueState
		out[i].Score = nil
		if r.Scored {
			v := r.Value
			out[i].Score = &v
		}
	}
	return out, nil
}

// SnapshotTestStates lists the tests a snapshot saw.
func (t *Tx) SnapshotTestStates(ctx context.Context, id string) ([]core.SnapshotTestState, error) {
	var out []core.SnapshotTestState
	if err := t.sel(ctx, &out, `SELECT s.test_id, s.technique_id, x.title, s.state, s.outcome
		FROM snapshot_test_states s JOIN tests x ON x.id = s.test_id WHERE s.snapshot_id = ? ORDER BY s.test_id`, id); err != nil {
		return nil, fmt.Errorf("store: snapshot %s tests: %w", id, err)
	}
	return out, nil
}

// PruneSnapshots keeps the newest keep snapshots.
func (t *Tx) PruneSnapshots(ctx context.Context, keep int) (int, error) {
	if keep < 1 {
		return 0, core.FieldError("keep", "must keep at least one snapshot, not %d", keep)
	}
	// The test states go first: their table has no foreign key to cascade from (migration
	// 0170), and its primary key starts with the snapshot id.
	if _, err := t.exec(ctx, `DELETE FROM snapshot_test_states WHERE snapshot_id IN (SELECT id FROM coverage_snapshots WHERE id NOT IN
		(SELECT id FROM (SELECT id FROM coverage_snapshots ORDER BY taken_at DESC, id DESC LIMIT ?) newest))`, keep); err != nil {
		return 0, fmt.Errorf("store: prune snapshot test states: %w", err)
	}
	res, err := t.exec(ctx, `DELETE FROM coverage_snapshots WHERE id NOT IN
		(SELECT id FROM (SELECT id FROM coverage_snapshots ORDER BY taken_at DESC, id DESC LIMIT ?) newest)`, keep)
	if err != nil {
		return 0, fmt.Errorf("store: prune snapshots: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

const jobRunColumns = `id, job, tick_at, instance, started_at, finished_at, outcome, error, summary`

// ClaimJobRun records r as running unless its tick was claimed already.
func (t *Tx) ClaimJobRun(ctx context.Context, r *core.JobRun) (bool, error) {
	if r.ID == "" {
		r.ID = core.NewID()
	}
	r.Outcome = "running"
	res, err := t.exec(ctx, `INSERT INTO job_runs (`+jobRunColumns+`) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (job, tick_at) DO NOTHING`,
		r.ID, r.Job, r.Tick.UTC(), r.Instance, r.StartedAt.UTC(), r.FinishedAt, r.Outcome, r.Error, r.Summary)
	if err != nil {
		return false, fmt.Errorf("store: claim job run %s: %w", r.Job, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// FinishJobRun records how a run ended.
func (t *Tx) FinishJobRun(ctx context.Context, r *core.JobRun) error {
	if _, err := t.exec(ctx, `UPDATE job_runs SET finished_at = ?, outcome = ?, error = ?, summary = ? WHERE id = ?`,
		r.FinishedAt, r.Outcome, r.Error, r.Summary, r.ID); err != nil {
		return fmt.Errorf("store: finish job run %s: %w", r.Job, err)
	}
	return nil
}

// ListJobRuns lists job runs, newest first.
func (t *Tx) ListJobRuns(ctx context.Context, f core.JobRunFilter) ([]*core.JobRun, int, error) {
	w := where{}
	if f.Job != "" {
		w.add("job = ?", f.Job)
	}
	if f.Outcome != "" {
		w.add("outcome = ?", f.Outcome)
	}
	out := []*core.JobRun{}
	total, err := t.page(ctx, "job runs", "job_runs", jobRunColumns, w, "started_at DESC, id DESC", f.Page, &out)
	return out, total, err
}

package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aegis-sec/aegis/core"
)

const campaignColumns = `id, name, description, status, threat_actor_id, recurrence, next_run_at, parent_campaign_id,
	start_date, end_date, created_by, source, external_id, created_at, updated_at`

// CreateCampaign inserts a campaign.
func (t *Tx) CreateCampaign(ctx context.Context, c *core.Campaign) error {
	if c.ID == "" {
		c.ID = core.NewID()
	}
	now := core.Now()
	c.CreatedAt, c.UpdatedAt = now, now
	if _, err := t.tx.NamedExecContext(ctx, `INSERT INTO campaigns (`+campaignColumns+`) VALUES (:id, :name, :description, :status,
		:threat_actor_id, :recurrence, :next_run_at, :parent_campaign_id, :start_date, :end_date, :created_by, :source, :external_id,
		:created_at, :updated_at)`, c); err != nil {
		return fmt.Errorf("store: create campaign %q: %w", c.Name, err)
	}
	return nil
}

// UpdateCampaign writes a campaign's fields.
func (t *Tx) UpdateCampaign(ctx context.Context, c *core.Campaign) error {
	c.UpdatedAt = core.Now()
	res, err := t.tx.NamedExecContext(ctx, `UPDATE campaigns SET name = :name, description = :description, status = :status,
		threat_actor_id = :threat_actor_id, recurrence = :recurrence, next_run_at = :next_run_at, start_date = :start_date,
		end_date = :end_date, updated_at = :updated_at WHERE id = :id`, c)
	if err != nil {
		return fmt.Errorf("store: update campaign %s: %w", c.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return core.Errorf(core.ENOTFOUND, "campaign %s not found", c.ID)
	}
	return nil
}

// DeleteCampaign deletes a campaign; its tests stay. Campaigns cloned from it keep
// their history but lose the link.
func (t *Tx) DeleteCampaign(ctx context.Context, id string) error {
	if _, err := t.exec(ctx, `UPDATE campaigns SET parent_campaign_id = NULL WHERE parent_campaign_id = ?`, id); err != nil {
		return fmt.Errorf("store: unlink clones of campaign %s: %w", id, err)
	}
	res, err := t.exec(ctx, `DELETE FROM campaigns WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("store: delete campaign %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return core.Errorf(core.ENOTFOUND, "campaign %s not found", id)
	}
	return nil
}

// CampaignByID finds one campaign.
func (t *Tx) CampaignByID(ctx context.Context, id string) (*core.Campaign, error) {
	var c core.Campaign
	if err := t.get(ctx, &c, `SELECT `+campaignColumns+` FROM campaigns WHERE id = ?`, id); err != nil {
		return nil, notFound(err, "campaign", id)
	}
	return &c, nil
}

// ListCampaigns lists campaigns, newest first.
func (t *Tx) ListCampaigns(ctx context.Context, f core.CampaignFilter) ([]*core.Campaign, int, error) {
	w := where{}
	if f.Status != "" {
		w.add("status = ?", f.Status)
	}
	if f.ThreatActorID != "" {
		w.add("threat_actor_id = ?", f.ThreatActorID)
	}
	if f.ParentID != "" {
		w.add("parent_campaign_id = ?", f.ParentID)
	}
	if f.Search != "" {
		w.search(t.like(), f.Search, "name", "description")
	}
	out := []*core.Campaign{}
	total, err := t.page(ctx, "campaigns", "campaigns", campaignColumns, w, "created_at DESC, id DESC", f.Page, &out)
	return out, total, err
}

// CampaignTests lists a campaign's tests in order, with dependencies and test facts.
func (t *Tx) CampaignTests(ctx context.Context, campaignID string) ([]*core.CampaignTest, error) {
	by, err := t.CampaignsTests(ctx, []string{campaignID})
	if err != nil {
		return nil, err
	}
	return by[campaignID], nil
}

// CampaignsProgress reads the progress of several campaigns from campaign_progress,
// which triggers keep on every write of campaign_tests, their dependencies and the
// tests' states (migration 0290): one row per campaign instead of counting each page's
// ~1,000 campaign tests and joining their dependencies. A draft waits when one of its
// dependencies is not a validated test of the same campaign, as campaign.ProgressOf
// decides from the tests themselves.
func (t *Tx) CampaignsProgress(ctx context.Context, campaignIDs []string) (map[string]core.CampaignProgress, error) {
	out := make(map[string]core.CampaignProgress, len(campaignIDs))
	if len(campaignIDs) == 0 {
		return out, nil
	}
	ids := make([]any, len(campaignIDs))
	for i, id := range campaignIDs {
		ids[i] = id
		out[id] = core.CampaignProgress{}
	}
	rows, err := t.query(ctx, `SELECT campaign_id, total, done, rejected, in_progress, ready, waiting FROM campaign_progress
		WHERE campaign_id IN (?`+strings.Repeat(",?", len(ids)-1)+`)`, ids...)
	if err != nil {
		return nil, fmt.Errorf("store: progress of campaigns %v: %w", campaignIDs, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var p core.CampaignProgress
		if err := rows.Scan(&id, &p.Total, &p.Done, &p.Rejected, &p.InProgress, &p.Ready, &p.Waiting); err != nil {
			return nil, fmt.Errorf("store: progress of campaigns %v: %w", campaignIDs, err)
		}
		out[id] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: progress of campaigns %v: %w", campaignIDs, err)
	}
	return out, nil
}

// CampaignsTests is CampaignTests for several campaigns in two queries, keyed by
// campaign id.
func (t *Tx) CampaignsTests(ctx context.Context, campaignIDs []string) (map[string][]*core.CampaignTest, error) {
	out := make(map[string][]*core.CampaignTest, len(campaignIDs))
	if len(campaignIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(campaignIDs))
	for i, id := range campaignIDs {
		args[i] = id
		out[id] = []*core.CampaignTest{}
	}
	in := `(?` + strings.Repeat(",?", len(args)-1) + `)`
	var rows []struct {
		CampaignID string         `db:"campaign_id"`
		TestID     string         `db:"test_id"`
		Position   int            `db:"position"`
		Title      string         `db:"title"`
		State      core.TestState `db:"state"`
		Technique  string         `db:"external_id"`
		Platform   string         `db:"platform"`
	}
	q := `SELECT ct.campaign_id, ct.test_id, ct.position, x.title, x.state, te.external_id, x.platform
		FROM campaign_tests ct JOIN tests x ON x.id = ct.test_id JOIN techniques te ON te.id = x.technique_id`
	if err := t.sel(ctx, &rows, q+` WHERE ct.campaign_id IN `+in+` ORDER BY ct.campaign_id, ct.position, ct.test_id`, args...); err != nil {
		return nil, fmt.Errorf("store: tests of campaigns %v: %w", campaignIDs, err)
	}
	var deps []struct {
		CampaignID string `db:"campaign_id"`
		TestID     string `db:"test_id"`
		On         string `db:"depends_on_test_id"`
	}
	if err := t.sel(ctx, &deps, `SELECT campaign_id, test_id, depends_on_test_id FROM campaign_test_dependencies
		WHERE campaign_id IN `+in+` ORDER BY campaign_id, test_id, depends_on_test_id`, args...); err != nil {
		return nil, fmt.Errorf("store: dependencies of campaigns %v: %w", campaignIDs, err)
	}
	type key struct{ campaign, test string }
	byID := map[key]*core.CampaignTest{}
	for _, r := range rows {
		ct := &core.CampaignTest{TestID: r.TestID, Position: r.Position, DependsOn: []string{}, Title: r.Title, State: r.State,
			TechniqueID: r.Technique, Platform: r.Platform}
		out[r.CampaignID] = append(out[r.CampaignID], ct)
		byID[key{r.CampaignID, r.TestID}] = ct
	}
	for _, d := range deps {
		if ct := byID[key{d.CampaignID, d.TestID}]; ct != nil {
			ct.DependsOn = append(ct.DependsOn, d.On)
		}
	}
	return out, nil
}

// SetCampaignTests replaces a campaign's tests and their dependencies.
func (t *Tx) SetCampaignTests(ctx context.Context, campaignID string, tests []*core.CampaignTest) error {
	if _, err := t.exec(ctx, `DELETE FROM campaign_test_dependencies WHERE campaign_id = ?`, campaignID); err != nil {
		return fmt.Errorf("store: clear dependencies of campaign %s: %w", campaignID, err)
	}
	if _, err := t.exec(ctx, `DELETE FROM campaign_tests WHERE campaign_id = ?`, campaignID); err != nil {
		return fmt.Errorf("store: clear tests of campaign %s: %w", campaignID, err)
	}
	for _, ct := range tests {
		if _, err := t.exec(ctx, `INSERT INTO campaign_tests (campaign_id, test_id, position) VALUES (?,?,?)`,
			campaignID, ct.TestID, ct.Position); err != nil {
			if isUniqueViolation(err) {
				return core.FieldError("tests", "test %s is listed twice", ct.TestID)
			}
			return fmt.Errorf("store: add test %s to campaign %s: %w", ct.TestID, campaignID, err)
		}
	}
	for _, ct := range tests {
		for _, on := range ct.DependsOn {
			if _, err := t.exec(ctx, `INSERT INTO campaign_test_dependencies (campaign_id, test_id, depends_on_test_id) VALUES (?,?,?)
				ON CONFLICT DO NOTHING`, campaignID, ct.TestID, on); err != nil {
				return fmt.Errorf("store: dependency %s → %s: %w", ct.TestID, on, err)
			}
		}
	}
	return nil
}

// DueRecurringCampaigns lists the recurring campaigns due at now, oldest first.
func (t *Tx) DueRecurringCampaigns(ctx context.Context, now time.Time) ([]*core.Campaign, error) {
	out := []*core.Campaign{}
	if err := t.sel(ctx, &out, `SELECT `+campaignColumns+` FROM campaigns WHERE recurrence <> 'none' AND next_run_at IS NOT NULL
		AND next_run_at <= ? AND status <> 'cancelled' ORDER BY next_run_at, id`, now.UTC()); err != nil {
		return nil, fmt.Errorf("store: due campaigns: %w", err)
	}
	return out, nil
}

// PendingDependencies lists the unvalidated tests that testID waits for.
func (t *Tx) PendingDependencies(ctx context.Context, testID string) ([]*core.CampaignTest, error) {
	var rows []struct {
		TestID string         `db:"id"`
		Title  string         `db:"title"`
		State  core.TestState `db:"state"`
	}
	if err := t.sel(ctx, &rows, `SELECT DISTINCT x.id, x.title, x.state FROM campaign_test_dependencies d JOIN tests x ON x.id = d.depends_on_test_id
		WHERE d.test_id = ? AND x.state <> 'validated' ORDER BY x.title, x.id`, testID); err != nil {
		return nil, fmt.Errorf("store: dependencies of test %s: %w", testID, err)
	}
	out := make([]*core.CampaignTest, len(rows))
	for i, r := range rows {
		out[i] = &core.CampaignTest{TestID: r.TestID, Title: r.Title, State: r.State, DependsOn: []string{}}
	}
	return out, nil
}

// TemplateChoices lists candidate templates with their expected detection rule counts.
func (t *Tx) TemplateChoices(ctx context.Context, q core.TemplateQuery) ([]core.TemplateChoice, error) {
	w := where{}
	w.add("tt.active = TRUE AND tt.deprecated = FALSE")
	var ids []string
	col := "te.external_id"
	if q.Source != "" {
		w.add("tt.source = ?", q.Source)
		ids, col = q.ExternalIDs, "tt.external_id"
	} else {
		ids = q.Techniques
	}
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	w.add(col+" IN (?"+strings.Repeat(",?", len(ids)-1)+")", args...)
	var out []core.TemplateChoice
	if err := t.sel(ctx, &out, `SELECT te.external_id AS technique, tt.id, tt.external_id, tt.name, tt.description, tt.command, tt.platforms,
		0 AS rules
		FROM test_templates tt JOIN test_template_techniques l ON l.test_template_id = tt.id JOIN techniques te ON te.id = l.technique_id`+
		w.sql()+` ORDER BY te.external_id, tt.name, tt.id`, w.args...); err != nil {
		return nil, fmt.Errorf("store: template choices: %w", err)
	}
	return out, t.countRules(ctx, out)
}

package core

import (
	"context"
	"time"
)

// CampaignStatus is where a test campaign stands.
type CampaignStatus string

const (
	CampaignPlanned   CampaignStatus = "planned"
	CampaignActive    CampaignStatus = "active"
	CampaignCompleted CampaignStatus = "completed"
	CampaignCancelled CampaignStatus = "cancelled"
)

// CampaignStatuses are the statuses a campaign moves through.
var CampaignStatuses = []CampaignStatus{CampaignPlanned, CampaignActive, CampaignCompleted, CampaignCancelled}

// Recurrence is how often a campaign is repeated.
type Recurrence string

const (
	RecurNone      Recurrence = "none"
	RecurWeekly    Recurrence = "weekly"
	RecurMonthly   Recurrence = "monthly"
	RecurQuarterly Recurrence = "quarterly"
)

// Recurrences are the repeat intervals a campaign may have.
var Recurrences = []Recurrence{RecurNone, RecurWeekly, RecurMonthly, RecurQuarterly}

// Campaign is a planned set of tests run together, in order.
type Campaign struct {
	ID               string         `db:"id" json:"id"`
	Name             string         `db:"name" json:"name"`
	Description      string         `db:"description" json:"description"`
	Status           CampaignStatus `db:"status" json:"status"`
	ThreatActorID    *string        `db:"threat_actor_id" json:"threat_actor_id,omitempty"`
	Recurrence       Recurrence     `db:"recurrence" json:"recurrence"`
	NextRunAt        *time.Time     `db:"next_run_at" json:"next_run_at,omitempty"`
	ParentCampaignID *string        `db:"parent_campaign_id" json:"parent_campaign_id,omitempty"`
	StartDate        *time.Time     `db:"start_date" json:"start_date,omitempty"`
	EndDate          *time.Time     `db:"end_date" json:"end_date,omitempty"`
	CreatedBy        *string        `db:"created_by" json:"created_by,omitempty"`
	Source           string         `db:"source" json:"source"`
	ExternalID       string         `db:"external_id" json:"external_id"`
	CreatedAt        time.Time      `db:"created_at" json:"created_at"`
	UpdatedAt        time.Time      `db:"updated_at" json:"updated_at"`
}

// CampaignTest is a test's place in a campaign and the tests it waits for.
type CampaignTest struct {
	TestID    string   `json:"test_id"`
	Position  int      `json:"position"`
	DependsOn []string `json:"depends_on"`
	// Read-only facts of the test, filled by reads.
	Title       string    `json:"title,omitempty"`
	State       TestState `json:"state,omitempty"`
	TechniqueID string    `json:"technique_id,omitempty"` // ATT&CK id
	Platform    string    `json:"platform,omitempty"`
}

// CampaignFilter selects campaigns.
type CampaignFilter struct {
	Status        CampaignStatus
	ThreatActorID string
	ParentID      string
	Search        string
	Page
}

// CampaignRepo stores test campaigns.
type CampaignRepo interface {
	CreateCampaign(ctx context.Context, c *Campaign) error
	UpdateCampaign(ctx context.Context, c *Campaign) error
	DeleteCampaign(ctx context.Context, id string) error
	CampaignByID(ctx context.Context, id string) (*Campaign, error)
	ListCampaigns(ctx context.Context, f CampaignFilter) ([]*Campaign, int, error)
	// CampaignTests lists a campaign's tests in order with their dependencies.
	CampaignTests(ctx context.Context, campaignID string) ([]*CampaignTest, error)
	// SetCampaignTests replaces a campaign's tests and dependencies.
	SetCampaignTests(ctx context.Context, campaignID string, tests []*CampaignTest) error
	// DueRecurringCampaigns lists recurring campaigns whose next run is at or before now.
	DueRecurringCampaigns(ctx context.Context, now time.Time) ([]*Campaign, error)
	// PendingDependencies lists the tests that testID waits for, in any campaign,
	// that are not validated yet.
	PendingDependencies(ctx context.Context, testID string) ([]*CampaignTest, error)
	// TemplateChoices lists active templates that test the given techniques (ATT&CK
	// ids), or, with Source and ExternalIDs, the named templates of a source.
	TemplateChoices(ctx context.Context, q TemplateQuery) ([]TemplateChoice, error)
}

// TemplateQuery selects templates for building a campaign.
type TemplateQuery struct {
	Techniques  []string
	Source      string
	ExternalIDs []string
}

// TemplateChoice is a template that could test a technique, with how many detection
// rules are expected to fire on it.
type TemplateChoice struct {
	TechniqueID string  `db:"technique"` // ATT&CK id
	TemplateID  string  `db:"id"`
	ExternalID  string  `db:"external_id"`
	Name        string  `db:"name"`
	Description string  `db:"description"`
	Command     string  `db:"command"`
	Platforms   Strings `db:"platforms"`
	Rules       int     `db:"rules"`
}

package core

import "context"

// CampaignPageRepo reads what a page of the campaign list shows besides the campaigns.
type CampaignPageRepo interface {
	// CampaignsTests is CampaignTests for several campaigns at once, keyed by campaign
	// id (every id present, empty when it has no tests): a page of campaigns and their
	// progress in a fixed number of queries.
	CampaignsTests(ctx context.Context, campaignIDs []string) (map[string][]*CampaignTest, error)
	// CampaignsProgress is the progress of several campaigns as kept on every write,
	// keyed by campaign id (every id present, zero when it has no tests).
	CampaignsProgress(ctx context.Context, campaignIDs []string) (map[string]CampaignProgress, error)
}

// CampaignProgress counts a campaign's tests: Done are validated, Rejected rejected,
// Ready and Waiting the drafts whose dependencies are all validated tests of the
// campaign and those with one that is not (or is not in the campaign), InProgress the
// tests in every other state.
type CampaignProgress struct {
	Total, Done, Rejected, InProgress, Ready, Waiting int
}

// CampaignStateCount is how many of a campaign's tests are in one state; for drafts,
// Waiting says they wait for a dependency that is not validated (or not in the
// campaign).
type CampaignStateCount struct {
	State   TestState `db:"state"`
	Waiting bool      `db:"waiting"`
	N       int       `db:"n"`
}

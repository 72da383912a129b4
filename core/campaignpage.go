package core

import "context"

// CampaignPageRepo reads what a page of the campaign list shows besides the campaigns.
type CampaignPageRepo interface {
	// CampaignsTests is CampaignTests for several campaigns at once, keyed by campaign
	// id (every id present, empty when it has no tests): a page of campaigns and their
	// progress in a fixed number of queries.
	CampaignsTests(ctx context.Context, campaignIDs []string) (map[string][]*CampaignTest, error)
	// CampaignsStateCounts counts the tests of several campaigns by state, drafts split
	// by whether a dependency is not yet validated (what a campaign's progress shows),
	// keyed by campaign id (every id present, empty when it has no tests).
	CampaignsStateCounts(ctx context.Context, campaignIDs []string) (map[string][]CampaignStateCount, error)
}

// CampaignStateCount is how many of a campaign's tests are in one state; for drafts,
// Waiting says they wait for a dependency that is not validated (or not in the
// campaign).
type CampaignStateCount struct {
	State   TestState `db:"state"`
	Waiting bool      `db:"waiting"`
	N       int       `db:"n"`
}

package core

import "context"

// CampaignPageRepo reads what a page of the campaign list shows besides the campaigns.
type CampaignPageRepo interface {
	// CampaignsTests is CampaignTests for several campaigns at once, keyed by campaign
	// id (every id present, empty when it has no tests): a page of campaigns and their
	// progress in a fixed number of queries.
	CampaignsTests(ctx context.Context, campaignIDs []string) (map[string][]*CampaignTest, error)
	// CampaignsTestStates is CampaignsTests with only each test's id, position, state
	// and dependencies: what a campaign's progress counts.
	CampaignsTestStates(ctx context.Context, campaignIDs []string) (map[string][]*CampaignTest, error)
}

-- The campaign list counts each listed campaign's tests by state
-- (CampaignsStateCounts: GROUP BY campaign_id, state). campaign_tests_state_idx is
-- ordered (campaign_id, test_id, state), so SQLite sorted every page's ~1,000 rows in
-- a temporary B-tree to group them; in this order the groups come out of the index
-- (half the query's time in the sqlite3 shell on the scale-1 database).
CREATE INDEX campaign_tests_campaign_state_idx ON campaign_tests(campaign_id, state);

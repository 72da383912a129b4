DROP INDEX IF EXISTS campaign_tests_campaign_state_idx;

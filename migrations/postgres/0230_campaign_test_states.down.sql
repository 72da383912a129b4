DROP TRIGGER IF EXISTS tests_state_to_campaign_tests ON tests;
DROP FUNCTION IF EXISTS tests_state_to_campaign_tests();
DROP TRIGGER IF EXISTS campaign_tests_state_on_add ON campaign_tests;
DROP FUNCTION IF EXISTS campaign_tests_take_state();
DROP INDEX IF EXISTS campaign_tests_state_idx;
ALTER TABLE campaign_tests DROP COLUMN state;

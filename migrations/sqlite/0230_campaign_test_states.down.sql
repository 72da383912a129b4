DROP TRIGGER IF EXISTS tests_state_to_campaign_tests;
DROP TRIGGER IF EXISTS campaign_tests_state_on_move;
DROP TRIGGER IF EXISTS campaign_tests_state_on_add;
DROP INDEX IF EXISTS campaign_tests_state_idx;
ALTER TABLE campaign_tests DROP COLUMN state;

-- A page of the campaign list shows each campaign's progress: its tests counted by
-- state, drafts split by whether their dependencies are validated. It looked up every
-- test of the page's campaigns in the tests table for its state, about 1,000 index
-- searches per page at 100,000 tests and nearly half of the server's CPU under the
-- mixed reads of BenchmarkScale. campaign_tests now keeps each test's state, copied
-- by triggers whenever a campaign test is added or a test's state changes (every
-- write path, not only the store's), and the index below answers a page's counts
-- from one range of it per campaign.
ALTER TABLE campaign_tests ADD COLUMN state TEXT NOT NULL DEFAULT '';
UPDATE campaign_tests SET state = (SELECT state FROM tests WHERE tests.id = campaign_tests.test_id);
CREATE INDEX campaign_tests_state_idx ON campaign_tests(campaign_id, test_id, state);
CREATE TRIGGER campaign_tests_state_on_add AFTER INSERT ON campaign_tests BEGIN
    UPDATE campaign_tests SET state = COALESCE((SELECT state FROM tests WHERE id = new.test_id), '')
    WHERE campaign_id = new.campaign_id AND test_id = new.test_id;
END;
CREATE TRIGGER campaign_tests_state_on_move AFTER UPDATE OF test_id ON campaign_tests BEGIN
    UPDATE campaign_tests SET state = COALESCE((SELECT state FROM tests WHERE id = new.test_id), '')
    WHERE campaign_id = new.campaign_id AND test_id = new.test_id;
END;
CREATE TRIGGER tests_state_to_campaign_tests AFTER UPDATE OF state ON tests WHEN old.state IS NOT new.state BEGIN
    UPDATE campaign_tests SET state = new.state WHERE test_id = new.id;
END;

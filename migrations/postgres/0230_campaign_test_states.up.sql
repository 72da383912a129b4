-- A page of the campaign list shows each campaign's progress: its tests counted by
-- state, drafts split by whether their dependencies are validated. It looked up every
-- test of the page's campaigns in the tests table for its state, about 1,000 index
-- searches per page at 100,000 tests. campaign_tests now keeps each test's state,
-- copied by triggers whenever a campaign test is added or a test's state changes
-- (every write path, not only the store's), and the index below answers a page's
-- counts from one range of it per campaign.
ALTER TABLE campaign_tests ADD COLUMN state TEXT NOT NULL DEFAULT '';
UPDATE campaign_tests ct SET state = t.state FROM tests t WHERE t.id = ct.test_id;
CREATE INDEX campaign_tests_state_idx ON campaign_tests(campaign_id, test_id, state);

-- The state is taken before the row is written; an unknown test gets '' and the
-- foreign key then refuses the row as before.
CREATE FUNCTION campaign_tests_take_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.state := COALESCE((SELECT state FROM tests WHERE id = NEW.test_id), '');
    RETURN NEW;
END
$$;
CREATE TRIGGER campaign_tests_state_on_add BEFORE INSERT OR UPDATE OF test_id ON campaign_tests
    FOR EACH ROW EXECUTE FUNCTION campaign_tests_take_state();

CREATE FUNCTION tests_state_to_campaign_tests() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE campaign_tests SET state = NEW.state WHERE test_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER tests_state_to_campaign_tests AFTER UPDATE OF state ON tests
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION tests_state_to_campaign_tests();

-- The campaign list shows each campaign's progress: its tests counted by state, drafts
-- split by whether they wait for a dependency. Each page counted ~1,000 campaign tests
-- and joined ~275 dependencies (CampaignsStateCounts, two queries): 17–18% of the
-- server's CPU under the mixed reads of BenchmarkScale for 10% of the requests. The
-- counts are now kept on write, by triggers (every write path, not only the store's):
--
-- campaign_tests.waiting says whether a campaign test waits: it is a draft and one of
-- its dependencies in that campaign is not a validated test of the campaign (as
-- campaign.ProgressOf decides from the tests). It is recomputed for a campaign test
-- whenever its state or its dependencies change, and for the tests that depend on it
-- whenever its state changes or it joins or leaves the campaign.
--
-- campaign_progress holds, per campaign, what the list shows: its tests, how many are
-- done, rejected, in progress, ready and waiting; a campaign without tests has no row.
-- It follows campaign_tests, so a deleted campaign or test (ON DELETE CASCADE) takes
-- its share with it.
ALTER TABLE campaign_tests ADD COLUMN waiting INTEGER NOT NULL DEFAULT 0;
CREATE INDEX campaign_test_dependencies_on_idx ON campaign_test_dependencies(campaign_id, depends_on_test_id);

CREATE VIEW campaign_tests_waiting AS
    SELECT ct.campaign_id, ct.test_id, (ct.state = 'draft' AND EXISTS (
        SELECT 1 FROM campaign_test_dependencies d WHERE d.campaign_id = ct.campaign_id
            AND d.test_id = ct.test_id AND NOT EXISTS (
                SELECT 1 FROM campaign_tests v WHERE v.campaign_id = d.campaign_id
                    AND v.test_id = d.depends_on_test_id AND v.state = 'validated'))) AS waiting
    FROM campaign_tests ct;
UPDATE campaign_tests SET waiting = 1 WHERE state = 'draft' AND (SELECT w.waiting FROM campaign_tests_waiting w
    WHERE w.campaign_id = campaign_tests.campaign_id AND w.test_id = campaign_tests.test_id);

CREATE TABLE campaign_progress (
    campaign_id TEXT NOT NULL PRIMARY KEY,
    total       INTEGER NOT NULL,
    done        INTEGER NOT NULL,
    rejected    INTEGER NOT NULL,
    in_progress INTEGER NOT NULL,
    ready       INTEGER NOT NULL,
    waiting     INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO campaign_progress (campaign_id, total, done, rejected, in_progress, ready, waiting)
    SELECT campaign_id, COUNT(*), SUM(state = 'validated'), SUM(state = 'rejected'),
        SUM(state NOT IN ('validated', 'rejected', 'draft')), SUM(state = 'draft' AND NOT waiting),
        SUM(state = 'draft' AND waiting)
    FROM campaign_tests GROUP BY campaign_id;

-- The progress follows each row of campaign_tests in and out of a campaign and a
-- (state, waiting): done is validated, rejected rejected, ready and waiting are the
-- drafts that do not and do wait, in_progress every other state.
CREATE TRIGGER campaign_progress_on_add AFTER INSERT ON campaign_tests BEGIN
    INSERT INTO campaign_progress (campaign_id, total, done, rejected, in_progress, ready, waiting)
        VALUES (new.campaign_id, 0, 0, 0, 0, 0, 0) ON CONFLICT (campaign_id) DO NOTHING;
    UPDATE campaign_progress SET total = total + 1, done = done + (new.state = 'validated'),
        rejected = rejected + (new.state = 'rejected'),
        in_progress = in_progress + (new.state NOT IN ('validated', 'rejected', 'draft')),
        ready = ready + (new.state = 'draft' AND NOT new.waiting), waiting = waiting + (new.state = 'draft' AND new.waiting)
        WHERE campaign_id = new.campaign_id;
    DELETE FROM campaign_progress WHERE campaign_id = new.campaign_id AND total = 0;
END;
CREATE TRIGGER campaign_progress_on_remove AFTER DELETE ON campaign_tests BEGIN
    INSERT INTO campaign_progress (campaign_id, total, done, rejected, in_progress, ready, waiting)
        VALUES (old.campaign_id, 0, 0, 0, 0, 0, 0) ON CONFLICT (campaign_id) DO NOTHING;
    UPDATE campaign_progress SET total = total - 1, done = done - (old.state = 'validated'),
        rejected = rejected - (old.state = 'rejected'),
        in_progress = in_progress - (old.state NOT IN ('validated', 'rejected', 'draft')),
        ready = ready - (old.state = 'draft' AND NOT old.waiting), waiting = waiting - (old.state = 'draft' AND old.waiting)
        WHERE campaign_id = old.campaign_id;
    DELETE FROM campaign_progress WHERE campaign_id = old.campaign_id AND total = 0;
END;
CREATE TRIGGER campaign_progress_on_change AFTER UPDATE OF campaign_id, state, waiting ON campaign_tests
    WHEN old.campaign_id IS NOT new.campaign_id OR old.state IS NOT new.state OR old.waiting IS NOT new.waiting BEGIN
    INSERT INTO campaign_progress (campaign_id, total, done, rejected, in_progress, ready, waiting)
        VALUES (old.campaign_id, 0, 0, 0, 0, 0, 0) ON CONFLICT (campaign_id) DO NOTHING;
    UPDATE campaign_progress SET total = total - 1, done = done - (old.state = 'validated'),
        rejected = rejected - (old.state = 'rejected'),
        in_progress = in_progress - (old.state NOT IN ('validated', 'rejected', 'draft')),
        ready = ready - (old.state = 'draft' AND NOT old.waiting), waiting = waiting - (old.state = 'draft' AND old.waiting)
        WHERE campaign_id = old.campaign_id;
    DELETE FROM campaign_progress WHERE campaign_id = old.campaign_id AND total = 0;
    INSERT INTO campaign_progress (campaign_id, total, done, rejected, in_progress, ready, waiting)
        VALUES (new.campaign_id, 0, 0, 0, 0, 0, 0) ON CONFLICT (campaign_id) DO NOTHING;
    UPDATE campaign_progress SET total = total + 1, done = done + (new.state = 'validated'),
        rejected = rejected + (new.state = 'rejected'),
        in_progress = in_progress + (new.state NOT IN ('validated', 'rejected', 'draft')),
        ready = ready + (new.state = 'draft' AND NOT new.waiting), waiting = waiting + (new.state = 'draft' AND new.waiting)
        WHERE campaign_id = new.campaign_id;
    DELETE FROM campaign_progress WHERE campaign_id = new.campaign_id AND total = 0;
END;

-- waiting, recomputed for the campaign tests a change can move (the view above).
CREATE TRIGGER campaign_tests_waiting_on_add AFTER INSERT ON campaign_tests BEGIN
    UPDATE campaign_tests SET waiting = (SELECT w.waiting FROM campaign_tests_waiting w
        WHERE w.campaign_id = campaign_tests.campaign_id AND w.test_id = campaign_tests.test_id)
    WHERE campaign_id = new.campaign_id AND (test_id = new.test_id OR test_id IN (
        SELECT test_id FROM campaign_test_dependencies WHERE campaign_id = new.campaign_id AND depends_on_test_id = new.test_id));
END;
CREATE TRIGGER campaign_tests_waiting_on_remove AFTER DELETE ON campaign_tests BEGIN
    UPDATE campaign_tests SET waiting = (SELECT w.waiting FROM campaign_tests_waiting w
        WHERE w.campaign_id = campaign_tests.campaign_id AND w.test_id = campaign_tests.test_id)
    WHERE campaign_id = old.campaign_id AND test_id IN (
        SELECT test_id FROM campaign_test_dependencies WHERE campaign_id = old.campaign_id AND depends_on_test_id = old.test_id);
END;
CREATE TRIGGER campaign_tests_waiting_on_change AFTER UPDATE OF campaign_id, test_id, state ON campaign_tests BEGIN
    UPDATE campaign_tests SET waiting = (SELECT w.waiting FROM campaign_tests_waiting w
        WHERE w.campaign_id = campaign_tests.campaign_id AND w.test_id = campaign_tests.test_id)
    WHERE (campaign_id = new.campaign_id AND (test_id = new.test_id OR test_id IN (
            SELECT test_id FROM campaign_test_dependencies WHERE campaign_id = new.campaign_id AND depends_on_test_id = new.test_id)))
        OR (campaign_id = old.campaign_id AND test_id IN (
            SELECT test_id FROM campaign_test_dependencies WHERE campaign_id = old.campaign_id AND depends_on_test_id = old.test_id));
END;
CREATE TRIGGER campaign_tests_waiting_on_dependency_add AFTER INSERT ON campaign_test_dependencies BEGIN
    UPDATE campaign_tests SET waiting = (SELECT w.waiting FROM campaign_tests_waiting w
        WHERE w.campaign_id = campaign_tests.campaign_id AND w.test_id = campaign_tests.test_id)
    WHERE campaign_id = new.campaign_id AND test_id = new.test_id;
END;
CREATE TRIGGER campaign_tests_waiting_on_dependency_remove AFTER DELETE ON campaign_test_dependencies BEGIN
    UPDATE campaign_tests SET waiting = (SELECT w.waiting FROM campaign_tests_waiting w
        WHERE w.campaign_id = campaign_tests.campaign_id AND w.test_id = campaign_tests.test_id)
    WHERE campaign_id = old.campaign_id AND test_id = old.test_id;
END;
CREATE TRIGGER campaign_tests_waiting_on_dependency_change AFTER UPDATE ON campaign_test_dependencies BEGIN
    UPDATE campaign_tests SET waiting = (SELECT w.waiting FROM campaign_tests_waiting w
        WHERE w.campaign_id = campaign_tests.campaign_id AND w.test_id = campaign_tests.test_id)
    WHERE (campaign_id = old.campaign_id AND test_id = old.test_id) OR (campaign_id = new.campaign_id AND test_id = new.test_id);
END;

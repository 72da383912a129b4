-- The campaign list shows each campaign's progress: its tests counted by state, drafts
-- split by whether they wait for a dependency. Each page counted ~1,000 campaign tests
-- and joined ~275 dependencies (CampaignsStateCounts, two queries). The counts are now
-- kept on write, by triggers (every write path, not only the store's):
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
ALTER TABLE campaign_tests ADD COLUMN waiting BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX campaign_test_dependencies_on_idx ON campaign_test_dependencies(campaign_id, depends_on_test_id);

CREATE TABLE campaign_progress (
    campaign_id UUID NOT NULL PRIMARY KEY,
    total       INTEGER NOT NULL,
    done        INTEGER NOT NULL,
    rejected    INTEGER NOT NULL,
    in_progress INTEGER NOT NULL,
    ready       INTEGER NOT NULL,
    waiting     INTEGER NOT NULL
);
-- waiting, recomputed for the campaign tests of campaign c that are test t (own) or
-- depend on it (dependents).
CREATE FUNCTION campaign_tests_rewait(c UUID, t UUID, own BOOLEAN, dependents BOOLEAN) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE campaign_tests ct SET waiting = w.waiting FROM (
        SELECT x.campaign_id, x.test_id, (x.state = 'draft' AND EXISTS (
            SELECT 1 FROM campaign_test_dependencies d WHERE d.campaign_id = x.campaign_id
                AND d.test_id = x.test_id AND NOT EXISTS (
                    SELECT 1 FROM campaign_tests v WHERE v.campaign_id = d.campaign_id
                        AND v.test_id = d.depends_on_test_id AND v.state = 'validated'))) AS waiting
        FROM campaign_tests x
        WHERE x.campaign_id = c AND ((own AND x.test_id = t) OR (dependents AND x.test_id IN (
            SELECT test_id FROM campaign_test_dependencies WHERE campaign_id = c AND depends_on_test_id = t)))
    ) w
    WHERE ct.campaign_id = w.campaign_id AND ct.test_id = w.test_id AND ct.waiting IS DISTINCT FROM w.waiting;
END
$$;
-- Fill waiting, then the counts, before any trigger follows them.
SELECT campaign_tests_rewait(campaign_id, test_id, true, false) FROM campaign_tests WHERE state = 'draft';
INSERT INTO campaign_progress (campaign_id, total, done, rejected, in_progress, ready, waiting)
    SELECT campaign_id, COUNT(*), COUNT(*) FILTER (WHERE state = 'validated'), COUNT(*) FILTER (WHERE state = 'rejected'),
        COUNT(*) FILTER (WHERE state NOT IN ('validated', 'rejected', 'draft')),
        COUNT(*) FILTER (WHERE state = 'draft' AND NOT waiting), COUNT(*) FILTER (WHERE state = 'draft' AND waiting)
    FROM campaign_tests GROUP BY campaign_id;

-- The progress follows each row of campaign_tests in and out of a campaign and a
-- (state, waiting): done is validated, rejected rejected, ready and waiting are the
-- drafts that do not and do wait, in_progress every other state.
CREATE FUNCTION campaign_progress_add(c UUID, s TEXT, w BOOLEAN, delta INTEGER) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO campaign_progress AS p (campaign_id, total, done, rejected, in_progress, ready, waiting)
        VALUES (c, delta, CASE WHEN s = 'validated' THEN delta ELSE 0 END, CASE WHEN s = 'rejected' THEN delta ELSE 0 END,
            CASE WHEN s NOT IN ('validated', 'rejected', 'draft') THEN delta ELSE 0 END,
            CASE WHEN s = 'draft' AND NOT w THEN delta ELSE 0 END, CASE WHEN s = 'draft' AND w THEN delta ELSE 0 END)
        ON CONFLICT (campaign_id) DO UPDATE SET total = p.total + EXCLUDED.total, done = p.done + EXCLUDED.done,
            rejected = p.rejected + EXCLUDED.rejected, in_progress = p.in_progress + EXCLUDED.in_progress,
            ready = p.ready + EXCLUDED.ready, waiting = p.waiting + EXCLUDED.waiting;
    DELETE FROM campaign_progress WHERE campaign_id = c AND total = 0;
END
$$;

CREATE FUNCTION campaign_progress_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM campaign_progress_add(OLD.campaign_id, OLD.state, OLD.waiting, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM campaign_progress_add(NEW.campaign_id, NEW.state, NEW.waiting, 1);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER campaign_progress_on_add_remove AFTER INSERT OR DELETE ON campaign_tests
    FOR EACH ROW EXECUTE FUNCTION campaign_progress_follow();
CREATE TRIGGER campaign_progress_on_change AFTER UPDATE OF campaign_id, state, waiting ON campaign_tests
    FOR EACH ROW WHEN (OLD.campaign_id IS DISTINCT FROM NEW.campaign_id OR OLD.state IS DISTINCT FROM NEW.state
        OR OLD.waiting IS DISTINCT FROM NEW.waiting)
    EXECUTE FUNCTION campaign_progress_follow();

-- A campaign test's own waiting follows its state and its dependencies; its dependents'
-- follow its state and whether it is in the campaign.
CREATE FUNCTION campaign_tests_waiting_follow() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    dep BOOLEAN := TG_TABLE_NAME = 'campaign_test_dependencies';
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM campaign_tests_rewait(OLD.campaign_id, OLD.test_id, dep, NOT dep);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM campaign_tests_rewait(NEW.campaign_id, NEW.test_id, true, NOT dep);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER campaign_tests_waiting_on_add_remove AFTER INSERT OR DELETE ON campaign_tests
    FOR EACH ROW EXECUTE FUNCTION campaign_tests_waiting_follow();
CREATE TRIGGER campaign_tests_waiting_on_change AFTER UPDATE OF campaign_id, test_id, state ON campaign_tests
    FOR EACH ROW EXECUTE FUNCTION campaign_tests_waiting_follow();
CREATE TRIGGER campaign_tests_waiting_on_dependency AFTER INSERT OR DELETE OR UPDATE ON campaign_test_dependencies
    FOR EACH ROW EXECUTE FUNCTION campaign_tests_waiting_follow();

-- Coverage: scoring and snapshots read validated tests by technique; the index holds
-- every column they read so neither database visits the table rows.
CREATE INDEX tests_scoring_idx ON tests(state, technique_id, platform, template_id, validated_at, prevented, alerted, logged, not_applicable);

-- A score of 0 and no score at all are different things (an untested technique is
-- unscored): the score columns of snapshots say which they hold.
ALTER TABLE coverage_snapshots ADD COLUMN org_scored BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE snapshot_technique_states ADD COLUMN scored BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX coverage_snapshots_taken_idx ON coverage_snapshots(taken_at);

-- Each test as a snapshot saw it, so that comparing two snapshots can say which tests
-- changed state or outcome between them. outcome lists P, A, L (prevented, alerted,
-- logged) as recorded on the test.
CREATE TABLE snapshot_test_states (
    snapshot_id      TEXT NOT NULL REFERENCES coverage_snapshots(id) ON DELETE CASCADE,
    test_id          TEXT NOT NULL REFERENCES tests(id) ON DELETE CASCADE,
    technique_id     TEXT NOT NULL REFERENCES techniques(id),
    state            TEXT NOT NULL,
    outcome          TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (snapshot_id, test_id)
);

-- A campaign test may wait for several others (campaign_tests.depends_on_test_id holds
-- one at most and is not used).
CREATE TABLE campaign_test_dependencies (
    campaign_id        TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    test_id            TEXT NOT NULL REFERENCES tests(id) ON DELETE CASCADE,
    depends_on_test_id TEXT NOT NULL REFERENCES tests(id) ON DELETE CASCADE,
    PRIMARY KEY (campaign_id, test_id, depends_on_test_id)
);
CREATE INDEX campaigns_recurrence_idx ON campaigns(recurrence, next_run_at);
CREATE INDEX campaigns_parent_idx ON campaigns(parent_campaign_id);

-- Runs of scheduled jobs. (job, tick_at) is unique: of several instances that share
-- the database, the first to claim a tick runs it and the others skip it.
CREATE TABLE job_runs (
    id               TEXT PRIMARY KEY,
    job              TEXT NOT NULL,
    tick_at          TIMESTAMP NOT NULL,
    instance         TEXT NOT NULL DEFAULT '',
    started_at       TIMESTAMP NOT NULL,
    finished_at      TIMESTAMP,
    outcome          TEXT NOT NULL CHECK (outcome IN ('running','succeeded','failed')),
    error            TEXT NOT NULL DEFAULT '',
    summary          TEXT NOT NULL DEFAULT '',
    UNIQUE (job, tick_at)
);
CREATE INDEX job_runs_started_idx ON job_runs(started_at);

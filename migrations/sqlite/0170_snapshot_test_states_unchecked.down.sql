CREATE TABLE snapshot_test_states_old (
    snapshot_id      TEXT NOT NULL REFERENCES coverage_snapshots(id) ON DELETE CASCADE,
    test_id          TEXT NOT NULL REFERENCES tests(id) ON DELETE CASCADE,
    technique_id     TEXT NOT NULL REFERENCES techniques(id),
    state            TEXT NOT NULL,
    outcome          TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (snapshot_id, test_id)
);
INSERT INTO snapshot_test_states_old (snapshot_id, test_id, technique_id, state, outcome)
    SELECT snapshot_id, test_id, technique_id, state, outcome FROM snapshot_test_states;
DROP TABLE snapshot_test_states;
ALTER TABLE snapshot_test_states_old RENAME TO snapshot_test_states;

-- A snapshot copies the state of every test (100,000 rows at the scale of issue 12) in one
-- INSERT ... SELECT FROM tests. Its three foreign keys cost three lookups per row, more
-- than the copy itself, and guard nothing: the rows come from the tests table in the same
-- statement, tests and techniques are never deleted (a remap moves tests, it does not
-- delete the technique), and PruneSnapshots deletes a snapshot's rows with it. The table
-- is rebuilt without them (SQLite cannot drop a constraint).
CREATE TABLE snapshot_test_states_new (
    snapshot_id      TEXT NOT NULL,
    test_id          TEXT NOT NULL,
    technique_id     TEXT NOT NULL,
    state            TEXT NOT NULL,
    outcome          TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (snapshot_id, test_id)
);
INSERT INTO snapshot_test_states_new (snapshot_id, test_id, technique_id, state, outcome)
    SELECT snapshot_id, test_id, technique_id, state, outcome FROM snapshot_test_states;
DROP TABLE snapshot_test_states;
ALTER TABLE snapshot_test_states_new RENAME TO snapshot_test_states;

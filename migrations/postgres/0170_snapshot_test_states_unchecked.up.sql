-- A snapshot copies the state of every test (100,000 rows at the scale of issue 12) in one
-- INSERT ... SELECT FROM tests. Its three foreign keys fired three triggers per row, each
-- locking the parent row, which cost many times the copy itself, and guard nothing: the
-- rows come from the tests table in the same statement, tests and techniques are never
-- deleted (a remap moves tests, it does not delete the technique), and PruneSnapshots
-- deletes a snapshot's rows with it.
ALTER TABLE snapshot_test_states DROP CONSTRAINT snapshot_test_states_snapshot_id_fkey;
ALTER TABLE snapshot_test_states DROP CONSTRAINT snapshot_test_states_test_id_fkey;
ALTER TABLE snapshot_test_states DROP CONSTRAINT snapshot_test_states_technique_id_fkey;

DROP INDEX tests_measured_idx;
DROP INDEX tests_snapshot_idx;

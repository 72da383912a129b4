DROP TABLE job_runs;
DROP INDEX campaigns_parent_idx;
DROP INDEX campaigns_recurrence_idx;
DROP TABLE campaign_test_dependencies;
DROP TABLE snapshot_test_states;
DROP INDEX coverage_snapshots_taken_idx;
ALTER TABLE snapshot_technique_states DROP COLUMN scored;
ALTER TABLE coverage_snapshots DROP COLUMN org_scored;
DROP INDEX tests_scoring_idx;

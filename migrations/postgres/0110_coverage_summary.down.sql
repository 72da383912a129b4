DROP INDEX tests_assigned_blue_idx;
DROP INDEX tests_assigned_red_idx;
DROP INDEX tests_technique_created_idx;
DROP INDEX tests_state_created_idx;
DROP INDEX tests_created_idx;
DROP TABLE technique_cell_validations;
DROP TABLE technique_test_counts;

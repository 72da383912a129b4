DROP INDEX IF EXISTS tests_retest_once_idx;

-- A test is retested at most once: completing its remediation creates the retest, and
-- this key makes a second retest of the same test impossible even if two completions
-- were ever to race past the version check. NULLs (tests that are no retest) are
-- distinct in a unique index on both SQLite and PostgreSQL.
CREATE UNIQUE INDEX tests_retest_once_idx ON tests(retest_of);

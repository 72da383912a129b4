-- The coverage generation: a number the store raises in the same transaction as every
-- write to what the unfiltered coverage model reads (techniques, tactics and their
-- links, templates and their technique links, the kept test counts and cells), so a
-- reader may keep those inputs between requests and knows they are current while the
-- number has not moved (core/store Tx.commit, core/coverage build).
CREATE TABLE coverage_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  BIGINT NOT NULL
);
INSERT INTO coverage_generation (id, n) VALUES (1, 0);

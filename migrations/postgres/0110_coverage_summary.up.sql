-- Coverage summaries, kept by the store in the same transaction as every write of a
-- test (core/store refreshCoverage), so the unfiltered matrix and the organisation
-- score read a few rows per technique instead of every test.

-- Tests per technique by where they stand and, among the validated applicable ones,
-- by outcome: what TestCounts answers without a scope.
CREATE TABLE technique_test_counts (
    technique_id UUID PRIMARY KEY REFERENCES techniques(id) ON DELETE CASCADE,
    tests        INTEGER NOT NULL,
    in_progress  INTEGER NOT NULL,
    validated    INTEGER NOT NULL,
    rejected     INTEGER NOT NULL,
    prevented    INTEGER NOT NULL,
    alerted      INTEGER NOT NULL,
    logged       INTEGER NOT NULL,
    none         INTEGER NOT NULL
);

-- The newest validated, applicable test of each (technique, platform as recorded,
-- procedure) cell: a score reads nothing else (scoring.Technique keeps the newest
-- validation per cell).
CREATE TABLE technique_cell_validations (
    technique_id  UUID NOT NULL REFERENCES techniques(id) ON DELETE CASCADE,
    platform      TEXT NOT NULL,
    procedure_key TEXT NOT NULL,
    test_id       UUID NOT NULL REFERENCES tests(id) ON DELETE CASCADE,
    validated_at  TIMESTAMPTZ NOT NULL,
    prevented     BOOLEAN NOT NULL,
    alerted       BOOLEAN NOT NULL,
    logged        BOOLEAN NOT NULL,
    PRIMARY KEY (technique_id, platform, procedure_key)
);

INSERT INTO technique_test_counts (technique_id, tests, in_progress, validated, rejected, prevented, alerted, logged, none)
SELECT technique_id, COUNT(*),
    SUM(CASE WHEN state NOT IN ('validated','rejected') THEN 1 ELSE 0 END),
    SUM(CASE WHEN state = 'validated' THEN 1 ELSE 0 END),
    SUM(CASE WHEN state = 'rejected' THEN 1 ELSE 0 END),
    SUM(CASE WHEN state = 'validated' AND not_applicable = FALSE AND prevented THEN 1 ELSE 0 END),
    SUM(CASE WHEN state = 'validated' AND not_applicable = FALSE AND alerted THEN 1 ELSE 0 END),
    SUM(CASE WHEN state = 'validated' AND not_applicable = FALSE AND logged THEN 1 ELSE 0 END),
    SUM(CASE WHEN state = 'validated' AND not_applicable = FALSE AND NOT COALESCE(prevented, FALSE) AND NOT COALESCE(alerted, FALSE) AND NOT COALESCE(logged, FALSE) THEN 1 ELSE 0 END)
FROM tests GROUP BY technique_id;

INSERT INTO technique_cell_validations (technique_id, platform, procedure_key, test_id, validated_at, prevented, alerted, logged)
SELECT technique_id, platform, procedure_key, id, validated_at, prevented, alerted, logged FROM (
    SELECT technique_id, platform, procedure_key, id, validated_at, prevented, alerted, logged,
        ROW_NUMBER() OVER (PARTITION BY technique_id, platform, procedure_key ORDER BY validated_at DESC, id DESC) AS n
    FROM (SELECT technique_id, platform, id, validated_at,
            COALESCE(CAST(template_id AS TEXT), 'custom:' || LOWER(CASE WHEN procedure <> '' THEN procedure ELSE title END)) AS procedure_key,
            COALESCE(prevented, FALSE) AS prevented, COALESCE(alerted, FALSE) AS alerted, COALESCE(logged, FALSE) AS logged
        FROM tests WHERE state = 'validated' AND not_applicable = FALSE AND validated_at IS NOT NULL) v
) ranked WHERE n = 1;

-- The test list's default order (newest first) and its filters, so a page is an index
-- range instead of a scan and sort of every test.
CREATE INDEX tests_created_idx ON tests(created_at, id);
CREATE INDEX tests_state_created_idx ON tests(state, created_at, id);
CREATE INDEX tests_technique_created_idx ON tests(technique_id, created_at, id);
CREATE INDEX tests_assigned_red_idx ON tests(assigned_red, created_at, id);
CREATE INDEX tests_assigned_blue_idx ON tests(assigned_blue, created_at, id);

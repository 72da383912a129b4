-- The review queue of ATT&CK upgrades: a technique that a new release revoked or
-- deprecated while tests, templates, rules, actors or controls still point at it, and
-- whose replacement is not unambiguous, waits here for a person to decide.
CREATE TABLE technique_reviews (
    id                 TEXT PRIMARY KEY,
    technique_id       TEXT NOT NULL UNIQUE REFERENCES techniques(id),
    reason             TEXT NOT NULL,
    candidates         TEXT NOT NULL DEFAULT '[]',
    dependents         TEXT NOT NULL DEFAULT '{}',
    release            TEXT NOT NULL DEFAULT '',
    status             TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','resolved','dismissed')),
    target_technique_id TEXT REFERENCES techniques(id),
    resolved_by        TEXT REFERENCES users(id),
    resolved_at        TIMESTAMP,
    note               TEXT NOT NULL DEFAULT '',
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
CREATE INDEX technique_reviews_status_idx ON technique_reviews(status);

-- The review queue of ATT&CK upgrades: a technique that a new release revoked or
-- deprecated while tests, templates, rules, actors or controls still point at it, and
-- whose replacement is not unambiguous, waits here for a person to decide.
CREATE TABLE technique_reviews (
    id                 UUID PRIMARY KEY,
    technique_id       UUID NOT NULL UNIQUE REFERENCES techniques(id),
    reason             TEXT NOT NULL,
    candidates         JSONB NOT NULL DEFAULT '[]',
    dependents         JSONB NOT NULL DEFAULT '{}',
    release            TEXT NOT NULL DEFAULT '',
    status             TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','resolved','dismissed')),
    target_technique_id UUID REFERENCES techniques(id),
    resolved_by        UUID REFERENCES users(id),
    resolved_at        TIMESTAMPTZ,
    note               TEXT NOT NULL DEFAULT '',
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX technique_reviews_status_idx ON technique_reviews(status);

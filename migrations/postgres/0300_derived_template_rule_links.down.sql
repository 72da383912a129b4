-- The tables come back empty, with no signatures: the next recompute of the code that
-- stored the links (an import, a curation, a review) computes every link anew.
CREATE TABLE test_template_detection_rules (
    test_template_id  UUID NOT NULL REFERENCES test_templates(id) ON DELETE CASCADE,
    detection_rule_id UUID NOT NULL REFERENCES detection_rules(id) ON DELETE CASCADE,
    reason            TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (test_template_id, detection_rule_id)
);
CREATE TABLE association_inputs (
    side      TEXT NOT NULL CHECK (side IN ('template', 'rule')),
    owner_id  TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (side, owner_id)
);

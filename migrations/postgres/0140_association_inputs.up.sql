-- What the template ↔ detection-rule links were last computed from: one row per active
-- template and rule with techniques, its techniques and platform families as text
-- (core.RecomputeAssociations). A recompute only revisits the templates and rules whose
-- signature changed, appeared or vanished since; the links of the others stand.
-- owner_id is a template or rule id; no foreign key: a vanished owner is what the next
-- recompute looks for.
CREATE TABLE association_inputs (
    side      TEXT NOT NULL CHECK (side IN ('template', 'rule')),
    owner_id  TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (side, owner_id)
);

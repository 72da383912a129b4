-- Issue 11: the template ↔ detection-rule links are derived when they are read
-- (core.AssociationQueryRepo: the templates or rules on one side, the other side's
-- active records that name one of their techniques or its parent through the technique
-- indexes, and core.Associate over those). They were stored, 256,797 rows after the
-- first-party imports, kept up to date by every import, curation and review with the
-- signatures of what they were computed from; both tables go. Nothing else referred to
-- them, and the derived links are what the stored ones were after each recompute.
DROP TABLE test_template_detection_rules;
DROP TABLE association_inputs;

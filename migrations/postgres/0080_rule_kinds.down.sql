DROP INDEX detection_rules_kind_idx;
ALTER TABLE detection_rules DROP COLUMN kind;

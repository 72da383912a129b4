-- What a detection rule is for: detection (raises alerts) or hunting (a query an
-- analyst runs by hand, such as Elastic's hunting queries).
ALTER TABLE detection_rules ADD COLUMN kind TEXT NOT NULL DEFAULT 'detection';
CREATE INDEX detection_rules_kind_idx ON detection_rules(kind);

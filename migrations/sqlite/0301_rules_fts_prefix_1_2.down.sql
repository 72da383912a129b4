-- Back to migration 0200's prefix indexes (1, 2 and 3 characters).
DROP TRIGGER detection_rules_fts_insert;
DROP TRIGGER detection_rules_fts_delete;
DROP TRIGGER detection_rules_fts_update;
DROP TABLE detection_rules_fts;

CREATE VIRTUAL TABLE detection_rules_fts USING fts5(title, external_id, description, query, raw, content='detection_rules', content_rowid='rowid', prefix='1 2 3');
INSERT INTO detection_rules_fts(detection_rules_fts) VALUES ('rebuild');
CREATE TRIGGER detection_rules_fts_insert AFTER INSERT ON detection_rules BEGIN
    INSERT INTO detection_rules_fts(rowid, title, external_id, description, query, raw) VALUES (new.rowid, new.title, new.external_id, new.description, new.query, new.raw);
END;
CREATE TRIGGER detection_rules_fts_delete AFTER DELETE ON detection_rules BEGIN
    INSERT INTO detection_rules_fts(detection_rules_fts, rowid, title, external_id, description, query, raw) VALUES ('delete', old.rowid, old.title, old.external_id, old.description, old.query, old.raw);
END;
CREATE TRIGGER detection_rules_fts_update AFTER UPDATE OF title, external_id, description, query, raw ON detection_rules BEGIN
    INSERT INTO detection_rules_fts(detection_rules_fts, rowid, title, external_id, description, query, raw) VALUES ('delete', old.rowid, old.title, old.external_id, old.description, old.query, old.raw);
    INSERT INTO detection_rules_fts(rowid, title, external_id, description, query, raw) VALUES (new.rowid, new.title, new.external_id, new.description, new.query, new.raw);
END;

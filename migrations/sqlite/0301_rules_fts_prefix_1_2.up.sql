-- Issue 11: the detection rules' FTS5 index (migration 0200) keeps prefix indexes of 1
-- and 2 characters, no longer 3. Every indexed word was written four times (itself and
-- its 1-, 2- and 3-character prefixes) and the rules' raw text is most of an Elastic
-- import (15.8 MB of TOML for 2,064 rules): inserting those texts into an FTS5 table took
-- 0.87 s of CPU with prefix='1 2 3' and 0.55 s with '1 2' (SQLite 3.40, medians of three).
-- Prefix indexes only speed up prefix queries;
-- the rows found and their bm25 rank are the same. A 3-character prefix is answered by
-- reading the terms that start with it (0.3 → 0.4 ms for pow*; 16 three-letter
-- prefixes, the search bound, 1.8 → 21 ms). The index is rebuilt from the rows.
DROP TRIGGER detection_rules_fts_insert;
DROP TRIGGER detection_rules_fts_delete;
DROP TRIGGER detection_rules_fts_update;
DROP TABLE detection_rules_fts;

CREATE VIRTUAL TABLE detection_rules_fts USING fts5(title, external_id, description, query, raw, content='detection_rules', content_rowid='rowid', prefix='1 2');
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

-- Full-text search (issue 16) over the catalogs users search most: test templates,
-- detection rules, techniques and threat actors. Each table gets an FTS5 index over the
-- columns its ?search= looks at (external content: the text stays in the table, the
-- index holds words and positions), filled from the rows already there and kept in step
-- by triggers. unicode61 splits words at punctuation, so T1059.001 is the words t1059
-- and 001, and folds case and diacritics. Searches are written by store.where.fullText.
-- Prefix indexes of 1 to 3 characters keep short prefixes (a user still typing, or
-- sixteen one-letter words) from scanning every word of the index: the sixteen-letter
-- search took 240 ms over the SigmaHQ rules without them, 50 ms with.
-- The update triggers fire only when an indexed column changes (not on active flags or
-- timestamps). The rowid links the index to its row: rowids are only renumbered by
-- VACUUM, which Aegis does not run; after one, INSERT INTO <table>_fts(<table>_fts)
-- VALUES ('rebuild') repairs an index.

CREATE VIRTUAL TABLE test_templates_fts USING fts5(name, external_id, description, command, content='test_templates', content_rowid='rowid', prefix='1 2 3');
INSERT INTO test_templates_fts(test_templates_fts) VALUES ('rebuild');
CREATE TRIGGER test_templates_fts_insert AFTER INSERT ON test_templates BEGIN
    INSERT INTO test_templates_fts(rowid, name, external_id, description, command) VALUES (new.rowid, new.name, new.external_id, new.description, new.command);
END;
CREATE TRIGGER test_templates_fts_delete AFTER DELETE ON test_templates BEGIN
    INSERT INTO test_templates_fts(test_templates_fts, rowid, name, external_id, description, command) VALUES ('delete', old.rowid, old.name, old.external_id, old.description, old.command);
END;
CREATE TRIGGER test_templates_fts_update AFTER UPDATE OF name, external_id, description, command ON test_templates BEGIN
    INSERT INTO test_templates_fts(test_templates_fts, rowid, name, external_id, description, command) VALUES ('delete', old.rowid, old.name, old.external_id, old.description, old.command);
    INSERT INTO test_templates_fts(rowid, name, external_id, description, command) VALUES (new.rowid, new.name, new.external_id, new.description, new.command);
END;

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

CREATE VIRTUAL TABLE techniques_fts USING fts5(external_id, name, content='techniques', content_rowid='rowid', prefix='1 2 3');
INSERT INTO techniques_fts(techniques_fts) VALUES ('rebuild');
CREATE TRIGGER techniques_fts_insert AFTER INSERT ON techniques BEGIN
    INSERT INTO techniques_fts(rowid, external_id, name) VALUES (new.rowid, new.external_id, new.name);
END;
CREATE TRIGGER techniques_fts_delete AFTER DELETE ON techniques BEGIN
    INSERT INTO techniques_fts(techniques_fts, rowid, external_id, name) VALUES ('delete', old.rowid, old.external_id, old.name);
END;
CREATE TRIGGER techniques_fts_update AFTER UPDATE OF external_id, name ON techniques BEGIN
    INSERT INTO techniques_fts(techniques_fts, rowid, external_id, name) VALUES ('delete', old.rowid, old.external_id, old.name);
    INSERT INTO techniques_fts(rowid, external_id, name) VALUES (new.rowid, new.external_id, new.name);
END;

CREATE VIRTUAL TABLE threat_actors_fts USING fts5(name, external_id, aliases, description, content='threat_actors', content_rowid='rowid', prefix='1 2 3');
INSERT INTO threat_actors_fts(threat_actors_fts) VALUES ('rebuild');
CREATE TRIGGER threat_actors_fts_insert AFTER INSERT ON threat_actors BEGIN
    INSERT INTO threat_actors_fts(rowid, name, external_id, aliases, description) VALUES (new.rowid, new.name, new.external_id, new.aliases, new.description);
END;
CREATE TRIGGER threat_actors_fts_delete AFTER DELETE ON threat_actors BEGIN
    INSERT INTO threat_actors_fts(threat_actors_fts, rowid, name, external_id, aliases, description) VALUES ('delete', old.rowid, old.name, old.external_id, old.aliases, old.description);
END;
CREATE TRIGGER threat_actors_fts_update AFTER UPDATE OF name, external_id, aliases, description ON threat_actors BEGIN
    INSERT INTO threat_actors_fts(threat_actors_fts, rowid, name, external_id, aliases, description) VALUES ('delete', old.rowid, old.name, old.external_id, old.aliases, old.description);
    INSERT INTO threat_actors_fts(rowid, name, external_id, aliases, description) VALUES (new.rowid, new.name, new.external_id, new.aliases, new.description);
END;

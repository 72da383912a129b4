-- Full-text search of detection rules and test templates kept out of the write
-- (issue 11). Migration 0200 made search_doc a generated column of both tables: every
-- insert and every update of an indexed column computed the document inside the
-- writer's transaction. For SigmaHQ's 3,141 rules (4.7 MB of rule text) that was
-- 1.2-1.7 s of to_tsvector and regexp_replace and 0.5-1 s of GIN insertions, most of
-- the import's write phase on PostgreSQL.
--
-- Now each table's documents live in <table>_fts (the name of the FTS5 table that
-- plays the same part on SQLite), one row per catalog row, and are written after the
-- writer's transaction, set-based and only for the rows whose indexed text changed:
--
--   - statement triggers put the id of every inserted row, and of every updated row
--     whose indexed columns changed, into search_fts_queue, in the writer's own
--     transaction: a rolled-back write leaves no entry, a committed one always does;
--   - after the commit the store (Store.IndexSearch) takes the queue's entries and
--     writes their documents in one statement per table, under a transaction-level
--     advisory lock so that index steps run one at a time; the statement reads the
--     queue and the rows in one snapshot, so a document is never older than the entry
--     it consumed, and an entry committed later is left to the next step;
--   - an entry left by a crash between the two is consumed by the next step (the
--     store runs one after migrating, and after every write of these tables).
--
-- A document is the same tsvector as before (search_doc_* below, the expression of
-- migration 0200), so searches find and rank exactly as they did. Techniques and threat
-- actors keep their generated columns: a name and an id, too small to matter.

CREATE FUNCTION search_doc_detection_rule(title text, external_id text, description text, query text, raw text)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('simple', regexp_replace($1, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'A') ||
        setweight(to_tsvector('simple', regexp_replace($2, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'B') ||
        setweight(to_tsvector('simple', regexp_replace($3, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'C') ||
        setweight(to_tsvector('simple', regexp_replace($4, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'D') ||
        setweight(to_tsvector('simple', regexp_replace($5, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'D')
$$;

CREATE FUNCTION search_doc_test_template(name text, external_id text, description text, command text)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('simple', regexp_replace($1, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'A') ||
        setweight(to_tsvector('simple', regexp_replace($2, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'B') ||
        setweight(to_tsvector('simple', regexp_replace($3, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'C') ||
        setweight(to_tsvector('simple', regexp_replace($4, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'D')
$$;

-- Rows whose document must be (re)written; no key: an id may be queued twice.
CREATE TABLE search_fts_queue (
    tbl text NOT NULL,
    id  uuid NOT NULL
);

CREATE TABLE detection_rules_fts (
    id         uuid PRIMARY KEY REFERENCES detection_rules(id) ON DELETE CASCADE,
    search_doc tsvector NOT NULL
);
CREATE TABLE test_templates_fts (
    id         uuid PRIMARY KEY REFERENCES test_templates(id) ON DELETE CASCADE,
    search_doc tsvector NOT NULL
);

INSERT INTO detection_rules_fts (id, search_doc)
    SELECT id, search_doc_detection_rule(title, external_id, description, query, raw) FROM detection_rules;
INSERT INTO test_templates_fts (id, search_doc)
    SELECT id, search_doc_test_template(name, external_id, description, command) FROM test_templates;

DROP INDEX detection_rules_search_idx;
ALTER TABLE detection_rules DROP COLUMN search_doc;
DROP INDEX test_templates_search_idx;
ALTER TABLE test_templates DROP COLUMN search_doc;
CREATE INDEX detection_rules_fts_idx ON detection_rules_fts USING GIN (search_doc);
CREATE INDEX test_templates_fts_idx ON test_templates_fts USING GIN (search_doc);

-- One trigger per event: PostgreSQL allows transition tables only on single-event
-- triggers without column lists, so the update triggers compare the indexed columns
-- themselves (an import that changes a rule's level, or a deprecation, queues nothing).
CREATE FUNCTION detection_rules_fts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_fts_queue (tbl, id) SELECT 'detection_rules', n.id FROM new_rows n;
    RETURN NULL;
END $$;
CREATE FUNCTION detection_rules_fts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_fts_queue (tbl, id)
        SELECT 'detection_rules', n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE (n.title, n.external_id, n.description, n.query, n.raw) IS DISTINCT FROM
              (o.title, o.external_id, o.description, o.query, o.raw);
    RETURN NULL;
END $$;
CREATE TRIGGER detection_rules_fts_insert AFTER INSERT ON detection_rules
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION detection_rules_fts_inserted();
CREATE TRIGGER detection_rules_fts_update AFTER UPDATE ON detection_rules
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION detection_rules_fts_updated();

CREATE FUNCTION test_templates_fts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_fts_queue (tbl, id) SELECT 'test_templates', n.id FROM new_rows n;
    RETURN NULL;
END $$;
CREATE FUNCTION test_templates_fts_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_fts_queue (tbl, id)
        SELECT 'test_templates', n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE (n.name, n.external_id, n.description, n.command) IS DISTINCT FROM
              (o.name, o.external_id, o.description, o.command);
    RETURN NULL;
END $$;
CREATE TRIGGER test_templates_fts_insert AFTER INSERT ON test_templates
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION test_templates_fts_inserted();
CREATE TRIGGER test_templates_fts_update AFTER UPDATE ON test_templates
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION test_templates_fts_updated();

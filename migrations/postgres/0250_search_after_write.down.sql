DROP TRIGGER IF EXISTS detection_rules_fts_insert ON detection_rules;
DROP TRIGGER IF EXISTS detection_rules_fts_update ON detection_rules;
DROP TRIGGER IF EXISTS test_templates_fts_insert ON test_templates;
DROP TRIGGER IF EXISTS test_templates_fts_update ON test_templates;
DROP FUNCTION IF EXISTS detection_rules_fts_inserted();
DROP FUNCTION IF EXISTS detection_rules_fts_updated();
DROP FUNCTION IF EXISTS test_templates_fts_inserted();
DROP FUNCTION IF EXISTS test_templates_fts_updated();
DROP TABLE IF EXISTS detection_rules_fts;
DROP TABLE IF EXISTS test_templates_fts;
DROP TABLE IF EXISTS search_fts_queue;
DROP FUNCTION IF EXISTS search_doc_detection_rule(text, text, text, text, text);
DROP FUNCTION IF EXISTS search_doc_test_template(text, text, text, text);

-- Back to migration 0200's generated columns.
ALTER TABLE test_templates ADD COLUMN search_doc tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', regexp_replace(name, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'A') ||
    setweight(to_tsvector('simple', regexp_replace(external_id, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'B') ||
    setweight(to_tsvector('simple', regexp_replace(description, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'C') ||
    setweight(to_tsvector('simple', regexp_replace(command, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'D')
) STORED;
CREATE INDEX test_templates_search_idx ON test_templates USING GIN (search_doc);

ALTER TABLE detection_rules ADD COLUMN search_doc tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', regexp_replace(title, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'A') ||
    setweight(to_tsvector('simple', regexp_replace(external_id, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'B') ||
    setweight(to_tsvector('simple', regexp_replace(description, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'C') ||
    setweight(to_tsvector('simple', regexp_replace(query, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'D') ||
    setweight(to_tsvector('simple', regexp_replace(raw, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'D')
) STORED;
CREATE INDEX detection_rules_search_idx ON detection_rules USING GIN (search_doc);

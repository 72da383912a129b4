DROP INDEX IF EXISTS test_templates_search_idx;
ALTER TABLE test_templates DROP COLUMN IF EXISTS search_doc;
DROP INDEX IF EXISTS detection_rules_search_idx;
ALTER TABLE detection_rules DROP COLUMN IF EXISTS search_doc;
DROP INDEX IF EXISTS techniques_search_idx;
ALTER TABLE techniques DROP COLUMN IF EXISTS search_doc;
DROP INDEX IF EXISTS threat_actors_search_idx;
ALTER TABLE threat_actors DROP COLUMN IF EXISTS search_doc;

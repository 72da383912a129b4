ALTER TABLE test_templates DROP COLUMN dependency_executor;
ALTER TABLE test_templates DROP COLUMN template_modified;
ALTER TABLE test_templates DROP COLUMN author;
ALTER TABLE detection_rules DROP COLUMN severity;

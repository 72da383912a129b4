-- Record fields the host used to drop: a detection rule's own severity word (Elastic's
-- "severity" when it is no level), a template's author, the date it was last modified
-- and the executor of its dependency commands.
ALTER TABLE detection_rules ADD COLUMN severity TEXT NOT NULL DEFAULT '';
ALTER TABLE test_templates ADD COLUMN author TEXT NOT NULL DEFAULT '';
ALTER TABLE test_templates ADD COLUMN template_modified TEXT NOT NULL DEFAULT '';
ALTER TABLE test_templates ADD COLUMN dependency_executor TEXT NOT NULL DEFAULT '';
-- Rows written before these columns existed lack them, and an unchanged record is never
-- written again: forget the content hash of these kinds so that the next import of each
-- source writes them once (counted as updated) and fills the new columns.
UPDATE import_records SET content_hash = '' WHERE kind IN ('detection_rule', 'test_template');

-- A record that several scopes bring (ATT&CK domains imported one run each, two
-- locations of one framework) is kept once per scope and merged on read, so one scope's
-- run never erases what another brought. Each row also keeps the file the record was
-- read from (a file that could not be read deprecates nothing) and the record itself,
-- compressed, so the merge can be redone when a scope changes.
ALTER TABLE import_records ADD COLUMN scope TEXT NOT NULL DEFAULT '';
UPDATE import_records SET scope = source_ref;
ALTER TABLE import_records ALTER COLUMN scope DROP DEFAULT;
ALTER TABLE import_records ADD COLUMN file TEXT NOT NULL DEFAULT '';
ALTER TABLE import_records ADD COLUMN data TEXT NOT NULL DEFAULT '';
ALTER TABLE import_records DROP CONSTRAINT import_records_source_kind_external_id_key;
ALTER TABLE import_records ADD CONSTRAINT import_records_scope_key UNIQUE (source, importer_type, scope, kind, external_id);
DROP INDEX import_records_scope_idx;
CREATE INDEX import_records_key_idx ON import_records(source, kind, external_id);

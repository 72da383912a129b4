-- Back to one row per (source, kind, external id): the most recently written scope wins.
DELETE FROM import_records r WHERE EXISTS (SELECT 1 FROM import_records x WHERE x.source = r.source AND x.kind = r.kind
    AND x.external_id = r.external_id AND (x.updated_at > r.updated_at OR (x.updated_at = r.updated_at AND x.id > r.id)));
DROP INDEX import_records_key_idx;
ALTER TABLE import_records DROP CONSTRAINT import_records_scope_key;
ALTER TABLE import_records ADD CONSTRAINT import_records_source_kind_external_id_key UNIQUE (source, kind, external_id);
CREATE INDEX import_records_scope_idx ON import_records(source, importer_type, source_ref);
ALTER TABLE import_records DROP COLUMN data;
ALTER TABLE import_records DROP COLUMN file;
ALTER TABLE import_records DROP COLUMN scope;

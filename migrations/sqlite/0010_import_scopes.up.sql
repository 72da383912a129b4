-- A record that several scopes bring (ATT&CK domains imported one run each, two
-- locations of one framework) is kept once per scope and merged on read, so one scope's
-- run never erases what another brought. Each row also keeps the file the record was
-- read from (a file that could not be read deprecates nothing) and the record itself,
-- compressed, so the merge can be redone when a scope changes.
CREATE TABLE import_records_new (
    id              TEXT PRIMARY KEY,
    source          TEXT NOT NULL,
    importer_type   TEXT NOT NULL,
    scope           TEXT NOT NULL,
    source_ref      TEXT NOT NULL,
    file            TEXT NOT NULL DEFAULT '',
    kind            TEXT NOT NULL,
    external_id     TEXT NOT NULL,
    entity_id       TEXT NOT NULL,
    content_hash    TEXT NOT NULL,
    data            TEXT NOT NULL DEFAULT '',
    deprecated      BOOLEAN NOT NULL DEFAULT FALSE,
    first_run_id    TEXT NOT NULL,
    last_run_id     TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    UNIQUE (source, importer_type, scope, kind, external_id)
);
INSERT INTO import_records_new (id, source, importer_type, scope, source_ref, file, kind, external_id, entity_id,
    content_hash, data, deprecated, first_run_id, last_run_id, created_at, updated_at)
SELECT id, source, importer_type, source_ref, source_ref, '', kind, external_id, entity_id,
    content_hash, '', deprecated, first_run_id, last_run_id, created_at, updated_at FROM import_records;
DROP TABLE import_records;
ALTER TABLE import_records_new RENAME TO import_records;
CREATE INDEX import_records_key_idx ON import_records(source, kind, external_id);

-- What each import source last delivered: one row per (source, kind, external id), with
-- the hash of the record's content, so a re-import can tell unchanged records without
-- touching them, and records that vanished from the same source location can be
-- marked deprecated.
CREATE TABLE import_records (
    id              TEXT PRIMARY KEY,
    source          TEXT NOT NULL,
    importer_type   TEXT NOT NULL,
    source_ref      TEXT NOT NULL,
    kind            TEXT NOT NULL,
    external_id     TEXT NOT NULL,
    entity_id       TEXT NOT NULL,
    content_hash    TEXT NOT NULL,
    deprecated      BOOLEAN NOT NULL DEFAULT FALSE,
    first_run_id    TEXT NOT NULL,
    last_run_id     TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    UNIQUE (source, kind, external_id)
);
CREATE INDEX import_records_scope_idx ON import_records(source, importer_type, source_ref);

-- Back to one row per (source, kind, external id): the most recently written scope wins.
CREATE TABLE import_records_old (
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
INSERT INTO import_records_old (id, source, importer_type, source_ref, kind, external_id, entity_id, content_hash,
    deprecated, first_run_id, last_run_id, created_at, updated_at)
SELECT id, source, importer_type, source_ref, kind, external_id, entity_id, content_hash,
    deprecated, first_run_id, last_run_id, created_at, updated_at FROM import_records r
WHERE NOT EXISTS (SELECT 1 FROM import_records x WHERE x.source = r.source AND x.kind = r.kind
    AND x.external_id = r.external_id AND (x.updated_at > r.updated_at OR (x.updated_at = r.updated_at AND x.id > r.id)));
DROP TABLE import_records;
ALTER TABLE import_records_old RENAME TO import_records;
CREATE INDEX import_records_scope_idx ON import_records(source, importer_type, source_ref);

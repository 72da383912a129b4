-- Issue 11: re-imports skip unchanged files. Per plugin and importer, the file states
-- (path, size, time, SHA-256) the plugin reported in the latest successful run, with
-- what they are valid for: the run's source, the key of its configuration and plugin
-- binary, and the scope its records were kept under. A run replaces its row.
CREATE TABLE import_files (
    plugin_name      TEXT NOT NULL,
    importer_type    TEXT NOT NULL,
    run_id           UUID NOT NULL REFERENCES import_runs(id) ON DELETE CASCADE,
    source_location  TEXT NOT NULL,
    files_key        TEXT NOT NULL,
    scope            TEXT NOT NULL,
    file_count       INTEGER NOT NULL,
    -- gzip of a JSON array of {"p","s","t","h"}: one row, read only by the next run.
    states           BYTEA NOT NULL,
    PRIMARY KEY (plugin_name, importer_type)
);
CREATE INDEX import_files_run_idx ON import_files(run_id);

-- The run's summary: files the plugin read, and files it skipped as unchanged (their
-- records are kept and counted in unchanged).
ALTER TABLE import_runs ADD COLUMN files_read INTEGER NOT NULL DEFAULT 0;
ALTER TABLE import_runs ADD COLUMN files_unchanged INTEGER NOT NULL DEFAULT 0;

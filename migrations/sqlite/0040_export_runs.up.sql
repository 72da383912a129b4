-- Export runs: who exported what scope through which plugin, and how it ended. The
-- artifacts of a succeeded run are stored with it in the same transaction, so a failed
-- run never leaves half an artifact behind.
CREATE TABLE export_runs (
    id               TEXT PRIMARY KEY,
    plugin_name      TEXT NOT NULL,
    exporter_type    TEXT NOT NULL DEFAULT '',
    scope            TEXT NOT NULL DEFAULT '{}',
    outcome          TEXT NOT NULL CHECK (outcome IN ('running','succeeded','failed')),
    error            TEXT NOT NULL DEFAULT '',
    records          INTEGER NOT NULL DEFAULT 0,
    artifacts        INTEGER NOT NULL DEFAULT 0,
    size_bytes       INTEGER NOT NULL DEFAULT 0,
    sha256           TEXT NOT NULL DEFAULT '',
    warning_count    INTEGER NOT NULL DEFAULT 0,
    warnings         TEXT NOT NULL DEFAULT '[]',
    triggered_by     TEXT NOT NULL DEFAULT '',
    user_id          TEXT REFERENCES users(id) ON DELETE SET NULL,
    started_at       TIMESTAMP NOT NULL,
    finished_at      TIMESTAMP,
    duration_ms      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX export_runs_plugin_idx ON export_runs(plugin_name, started_at);

CREATE TABLE export_artifacts (
    id               TEXT PRIMARY KEY,
    run_id           TEXT NOT NULL REFERENCES export_runs(id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    name             TEXT NOT NULL,
    media_type       TEXT NOT NULL,
    size_bytes       INTEGER NOT NULL,
    sha256           TEXT NOT NULL,
    data             BLOB NOT NULL,
    UNIQUE (run_id, name)
);

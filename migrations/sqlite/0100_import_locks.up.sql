-- One import of a plugin at a time, across processes (the CLI beside a server on one
-- SQLite file): the holder row names the process (host:pid) so that a lock left by a
-- process that died can be taken over. PostgreSQL also holds an advisory lock.
CREATE TABLE import_locks (
    plugin      TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    acquired_at TIMESTAMP NOT NULL
);

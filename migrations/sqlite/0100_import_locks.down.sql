DROP TABLE import_locks;

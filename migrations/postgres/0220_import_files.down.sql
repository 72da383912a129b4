ALTER TABLE import_runs DROP COLUMN files_unchanged;
ALTER TABLE import_runs DROP COLUMN files_read;
DROP TABLE import_files;

DROP TABLE IF EXISTS export_artifacts;
DROP TABLE IF EXISTS export_runs;

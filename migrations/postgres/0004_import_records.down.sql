DROP TABLE IF EXISTS import_records;

-- Migration 0250 moves PostgreSQL's search documents of detection rules and test
-- templates out of the writer's transaction (see postgres/0250). SQLite keeps its FTS5
-- tables of migration 0200, kept by triggers in the writer's transaction: an FTS5
-- insert is cheap next to to_tsvector, and SQLite has one writer anyway. Nothing to do.
SELECT 1;

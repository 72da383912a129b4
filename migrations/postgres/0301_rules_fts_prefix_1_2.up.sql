-- Migration 0301 rebuilds SQLite's FTS5 index of detection rules with fewer prefix
-- indexes. PostgreSQL's tsvector documents have no prefix indexes: nothing to do.
SELECT 1;

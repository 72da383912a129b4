-- Nothing was changed on SQLite by 0250.
SELECT 1;

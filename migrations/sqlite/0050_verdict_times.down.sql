-- The cleared times were wrong; there is nothing to restore.
SELECT 1;

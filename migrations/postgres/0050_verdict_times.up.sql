-- A prevented/alerted/logged time says when that happened: a verdict that is not true
-- keeps none (earlier versions stamped false verdicts too).
UPDATE tests SET prevented_at = NULL WHERE prevented_at IS NOT NULL AND (prevented IS NULL OR NOT prevented);
UPDATE tests SET alerted_at = NULL WHERE alerted_at IS NOT NULL AND (alerted IS NULL OR NOT alerted);
UPDATE tests SET logged_at = NULL WHERE logged_at IS NOT NULL AND (logged IS NULL OR NOT logged);

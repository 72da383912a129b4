-- What an evaluated detection result matched: the ids of the matching events and the
-- search identifiers (selections, filters) that were true for them.
ALTER TABLE test_detection_results ADD COLUMN matched_event_ids TEXT NOT NULL DEFAULT '[]';
ALTER TABLE test_detection_results ADD COLUMN matched_searches TEXT NOT NULL DEFAULT '[]';

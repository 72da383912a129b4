ALTER TABLE test_detection_results DROP COLUMN matched_searches;
ALTER TABLE test_detection_results DROP COLUMN matched_event_ids;

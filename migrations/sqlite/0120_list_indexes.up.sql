-- Every list endpoint's default order and equality filters are served by an index, so a
-- page costs the same at any size (core/store TestListQueriesUseIndexes explains each
-- list query on both databases and fails on a sort or a full scan of a growing table).
CREATE INDEX campaigns_created_idx ON campaigns(created_at, id);
CREATE INDEX campaigns_status_created_idx ON campaigns(status, created_at, id);
CREATE INDEX campaigns_actor_created_idx ON campaigns(threat_actor_id, created_at, id);
CREATE INDEX campaigns_parent_created_idx ON campaigns(parent_campaign_id, created_at, id);
CREATE INDEX api_tokens_user_created_idx ON api_tokens(user_id, created_at, id);
CREATE INDEX evidences_test_uploaded_idx ON evidences(test_id, uploaded_at, id);
CREATE INDEX notifications_user_created_idx ON notifications(user_id, created_at, id);
CREATE INDEX notifications_user_read_created_idx ON notifications(user_id, read_at, created_at, id);
CREATE INDEX worklogs_test_seq_idx ON worklogs(test_id, seq);
CREATE INDEX worklogs_user_seq_idx ON worklogs(user_id, seq);
CREATE INDEX import_runs_started_idx ON import_runs(started_at, id);
CREATE INDEX export_runs_started_idx ON export_runs(started_at, id);
CREATE INDEX job_runs_job_started_idx ON job_runs(job, started_at, id);
CREATE INDEX scoring_configs_created_idx ON scoring_configs(created_at, id);
CREATE INDEX test_templates_name_idx ON test_templates(name, id);
CREATE INDEX detection_rules_title_idx ON detection_rules(title, id);
CREATE INDEX threat_actors_name_idx ON threat_actors(name, id);
CREATE INDEX campaign_profiles_name_idx ON campaign_profiles(name, id);
CREATE INDEX compliance_controls_order_idx ON compliance_controls(framework_id, family, external_id);
CREATE INDEX intel_items_published_idx ON intel_items(published_at, id);

ALTER TABLE snapshot_test_states ADD CONSTRAINT snapshot_test_states_snapshot_id_fkey
    FOREIGN KEY (snapshot_id) REFERENCES coverage_snapshots(id) ON DELETE CASCADE;
ALTER TABLE snapshot_test_states ADD CONSTRAINT snapshot_test_states_test_id_fkey
    FOREIGN KEY (test_id) REFERENCES tests(id) ON DELETE CASCADE;
ALTER TABLE snapshot_test_states ADD CONSTRAINT snapshot_test_states_technique_id_fkey
    FOREIGN KEY (technique_id) REFERENCES techniques(id);

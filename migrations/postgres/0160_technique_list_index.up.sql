-- The technique list counts and pages the techniques that are not revoked, ordered by
-- ATT&CK id: this index answers both without reading the technique rows (several MB of
-- descriptions), which every page of the list otherwise scanned to count them.
CREATE INDEX techniques_revoked_external_idx ON techniques(revoked, external_id);

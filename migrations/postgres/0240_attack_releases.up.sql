-- Issues 12 and 14: what each imported ATT&CK release contained. A technique row holds
-- only the release it was last seen in, so after an upgrade every technique says the
-- newest and an older release's matrix could not be shown. The ATT&CK import writes one
-- row per technique object of the release it reads, with the release's tactics of it and
-- whether the release itself marked it revoked or deprecated (its matrix leaves those
-- out); a re-import of the release rewrites the same rows.
CREATE TABLE attack_release_techniques (
    domain           TEXT NOT NULL,
    release_version  TEXT NOT NULL,
    technique_id     UUID NOT NULL REFERENCES techniques(id) ON DELETE CASCADE,
    -- JSON array of the tactic ids the release put the technique in.
    tactic_ids       JSONB NOT NULL DEFAULT '[]',
    revoked          BOOLEAN NOT NULL DEFAULT FALSE,
    deprecated       BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (domain, release_version, technique_id)
);
CREATE INDEX attack_release_techniques_technique_idx ON attack_release_techniques(technique_id);

-- A database imported before this table knows one release per technique, the one it was
-- last seen in, with today's tactics: record that much, so the matrix of that release
-- shows what it showed before.
INSERT INTO attack_release_techniques (domain, release_version, technique_id, tactic_ids, revoked, deprecated)
SELECT d.dom, te.last_seen_release, te.id,
    COALESCE((SELECT jsonb_agg(tt.tactic_id::text) FROM technique_tactics tt JOIN tactics ta ON ta.id = tt.tactic_id
        WHERE tt.technique_id = te.id AND ta.domain = d.dom), '[]'::jsonb),
    te.revoked, te.deprecated
FROM techniques te CROSS JOIN LATERAL jsonb_array_elements_text(te.domains) AS d(dom)
WHERE te.known AND te.last_seen_release <> '';

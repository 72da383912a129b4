-- Issue 14: each imported ATT&CK release's tactics as that release had them (name,
-- kill-chain shortname, column position). The tactics table holds the newest release's,
-- so the matrix of an older release showed today's names and order. The ATT&CK import
-- writes one row per tactic the release put a technique in; a re-import rewrites them.
CREATE TABLE attack_release_tactics (
    domain           TEXT NOT NULL,
    release_version  TEXT NOT NULL,
    tactic_id        UUID NOT NULL REFERENCES tactics(id) ON DELETE CASCADE,
    external_id      TEXT NOT NULL,
    name             TEXT NOT NULL,
    shortname        TEXT NOT NULL,
    matrix_order     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (domain, release_version, tactic_id)
);
CREATE INDEX attack_release_tactics_tactic_idx ON attack_release_tactics(tactic_id);

-- A database imported before this table knows only today's tactics: each recorded
-- release gets the tactics its techniques are in, as the tactics table has them, so its
-- matrix shows what it showed before.
INSERT INTO attack_release_tactics (domain, release_version, tactic_id, external_id, name, shortname, matrix_order)
SELECT DISTINCT r.domain, r.release_version, ta.id, ta.external_id, ta.name, ta.shortname, ta.matrix_order
FROM attack_release_techniques r
CROSS JOIN LATERAL jsonb_array_elements_text(r.tactic_ids) AS j(id)
JOIN tactics ta ON ta.id::text = j.id;

-- Imported campaigns that are not test campaigns: ATT&CK campaigns (actors and the
-- techniques they used) and adversary profiles (ordered test templates) that can seed a
-- test campaign.
CREATE TABLE campaign_profiles (
    id              UUID PRIMARY KEY,
    source          TEXT NOT NULL,
    external_id     TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('attack_campaign','adversary_profile')),
    name            TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    actor_ids       JSONB NOT NULL DEFAULT '[]',
    technique_ids   JSONB NOT NULL DEFAULT '[]',
    template_ids    JSONB NOT NULL DEFAULT '[]',
    first_seen      TIMESTAMPTZ,
    last_seen       TIMESTAMPTZ,
    refs            JSONB NOT NULL DEFAULT '[]',
    deprecated      BOOLEAN NOT NULL DEFAULT FALSE,
    source_ref      TEXT NOT NULL DEFAULT '',
    content_hash    TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (source, external_id)
);

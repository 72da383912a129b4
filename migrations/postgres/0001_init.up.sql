-- Aegis schema v1: every table of the seed design. Identifiers are UUIDs made in Go
-- (TEXT in SQLite); times are UTC; JSON documents are JSONB on PostgreSQL and TEXT on SQLite.

CREATE TABLE users (
    id              UUID PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    password_hash   TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin','red_tech','blue_tech','red_lead','blue_lead','viewer')),
    disabled        BOOLEAN NOT NULL DEFAULT FALSE,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    last_login_at   TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE sessions (
    id              UUID PRIMARY KEY,
    user_id         UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash      TEXT NOT NULL UNIQUE,
    csrf_token      TEXT NOT NULL,
    ip              TEXT NOT NULL DEFAULT '',
    user_agent      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    last_seen_at    TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions(user_id);

CREATE TABLE api_tokens (
    id              UUID PRIMARY KEY,
    user_id         UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    prefix          TEXT NOT NULL,
    token_hash      TEXT NOT NULL UNIQUE,
    scope           TEXT NOT NULL CHECK (scope IN ('read','read_write')),
    created_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ,
    last_used_at    TIMESTAMPTZ,
    revoked_at      TIMESTAMPTZ
);
CREATE INDEX api_tokens_user_idx ON api_tokens(user_id);

-- Import bookkeeping: one row per plugin known to the host, one per import run.
CREATE TABLE plugins (
    id               UUID PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    version          TEXT NOT NULL DEFAULT '',
    description      TEXT NOT NULL DEFAULT '',
    kinds            JSONB NOT NULL DEFAULT '[]',
    record_kinds     JSONB NOT NULL DEFAULT '[]',
    components       JSONB NOT NULL DEFAULT '[]',
    protocol_version INTEGER NOT NULL DEFAULT 0,
    path             TEXT NOT NULL DEFAULT '',
    sha256           TEXT NOT NULL DEFAULT '',
    enabled          BOOLEAN NOT NULL DEFAULT TRUE,
    last_error       TEXT NOT NULL DEFAULT '',
    last_seen_at     TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE import_runs (
    id               UUID PRIMARY KEY,
    plugin_name      TEXT NOT NULL,
    importer_type    TEXT NOT NULL DEFAULT '',
    source_location  TEXT NOT NULL DEFAULT '',
    dry_run          BOOLEAN NOT NULL DEFAULT FALSE,
    outcome          TEXT NOT NULL CHECK (outcome IN ('running','succeeded','failed')),
    error            TEXT NOT NULL DEFAULT '',
    added            INTEGER NOT NULL DEFAULT 0,
    updated          INTEGER NOT NULL DEFAULT 0,
    unchanged        INTEGER NOT NULL DEFAULT 0,
    deprecated       INTEGER NOT NULL DEFAULT 0,
    rejected         INTEGER NOT NULL DEFAULT 0,
    warning_count    INTEGER NOT NULL DEFAULT 0,
    warnings         JSONB NOT NULL DEFAULT '[]',
    triggered_by     TEXT NOT NULL DEFAULT '',
    started_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ,
    duration_ms      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX import_runs_plugin_idx ON import_runs(plugin_name, started_at);

-- ATT&CK reference data.
CREATE TABLE tactics (
    id               UUID PRIMARY KEY,
    external_id      TEXT NOT NULL,
    stix_id          TEXT NOT NULL DEFAULT '',
    name             TEXT NOT NULL,
    shortname        TEXT NOT NULL,
    domain           TEXT NOT NULL DEFAULT 'enterprise-attack',
    matrix_order     INTEGER NOT NULL DEFAULT 0,
    description      TEXT NOT NULL DEFAULT '',
    url              TEXT NOT NULL DEFAULT '',
    deprecated       BOOLEAN NOT NULL DEFAULT FALSE,
    source           TEXT NOT NULL DEFAULT '',
    source_ref       TEXT NOT NULL DEFAULT '',
    content_hash     TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (domain, external_id)
);

CREATE TABLE techniques (
    id               UUID PRIMARY KEY,
    external_id      TEXT NOT NULL UNIQUE,
    stix_id          TEXT NOT NULL DEFAULT '',
    name             TEXT NOT NULL DEFAULT '',
    description      TEXT NOT NULL DEFAULT '',
    parent_id        UUID REFERENCES techniques(id),
    is_subtechnique  BOOLEAN NOT NULL DEFAULT FALSE,
    platforms        JSONB NOT NULL DEFAULT '[]',
    domains          JSONB NOT NULL DEFAULT '[]',
    data_sources     JSONB NOT NULL DEFAULT '[]',
    detection        TEXT NOT NULL DEFAULT '',
    url              TEXT NOT NULL DEFAULT '',
    object_version   TEXT NOT NULL DEFAULT '',
    modified_at      TIMESTAMPTZ,
    revoked          BOOLEAN NOT NULL DEFAULT FALSE,
    revoked_by       TEXT NOT NULL DEFAULT '',
    deprecated       BOOLEAN NOT NULL DEFAULT FALSE,
    -- FALSE for ids seen in other sources (Sigma, Atomic) but not in the ATT&CK release in use.
    known            BOOLEAN NOT NULL DEFAULT TRUE,
    last_seen_release TEXT NOT NULL DEFAULT '',
    coverage_status  TEXT NOT NULL DEFAULT 'not_tested',
    source           TEXT NOT NULL DEFAULT '',
    source_ref       TEXT NOT NULL DEFAULT '',
    content_hash     TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX techniques_parent_idx ON techniques(parent_id);

CREATE TABLE technique_tactics (
    technique_id     UUID NOT NULL REFERENCES techniques(id) ON DELETE CASCADE,
    tactic_id        UUID NOT NULL REFERENCES tactics(id) ON DELETE CASCADE,
    PRIMARY KEY (technique_id, tactic_id)
);
CREATE INDEX technique_tactics_tactic_idx ON technique_tactics(tactic_id);

CREATE TABLE mitigations (
    id               UUID PRIMARY KEY,
    external_id      TEXT NOT NULL UNIQUE,
    stix_id          TEXT NOT NULL DEFAULT '',
    name             TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    deprecated       BOOLEAN NOT NULL DEFAULT FALSE,
    source           TEXT NOT NULL DEFAULT '',
    source_ref       TEXT NOT NULL DEFAULT '',
    content_hash     TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE technique_mitigations (
    technique_id     UUID NOT NULL REFERENCES techniques(id) ON DELETE CASCADE,
    mitigation_id    UUID NOT NULL REFERENCES mitigations(id) ON DELETE CASCADE,
    description      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (technique_id, mitigation_id)
);

-- Test catalog and detection rules.
CREATE TABLE test_templates (
    id               UUID PRIMARY KEY,
    source           TEXT NOT NULL,
    external_id      TEXT NOT NULL,
    template_type    TEXT NOT NULL DEFAULT 'custom',
    name             TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    tactic           TEXT NOT NULL DEFAULT '',
    platforms        JSONB NOT NULL DEFAULT '[]',
    executor_name    TEXT NOT NULL DEFAULT '',
    command          TEXT NOT NULL DEFAULT '',
    cleanup_command  TEXT NOT NULL DEFAULT '',
    elevation_required BOOLEAN NOT NULL DEFAULT FALSE,
    executors        JSONB NOT NULL DEFAULT '[]',
    input_arguments  JSONB NOT NULL DEFAULT '[]',
    dependencies     JSONB NOT NULL DEFAULT '[]',
    manual_steps     TEXT NOT NULL DEFAULT '',
    payloads         JSONB NOT NULL DEFAULT '[]',
    refs             JSONB NOT NULL DEFAULT '[]',
    metadata         JSONB NOT NULL DEFAULT '{}',
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    deprecated       BOOLEAN NOT NULL DEFAULT FALSE,
    source_ref       TEXT NOT NULL DEFAULT '',
    content_hash     TEXT NOT NULL DEFAULT '',
    created_by       UUID REFERENCES users(id),
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (source, external_id)
);

CREATE TABLE test_template_techniques (
    test_template_id UUID NOT NULL REFERENCES test_templates(id) ON DELETE CASCADE,
    technique_id     UUID NOT NULL REFERENCES techniques(id),
    PRIMARY KEY (test_template_id, technique_id)
);
CREATE INDEX test_template_techniques_technique_idx ON test_template_techniques(technique_id);

CREATE TABLE detection_rules (
    id               UUID PRIMARY KEY,
    source           TEXT NOT NULL,
    external_id      TEXT NOT NULL,
    format           TEXT NOT NULL DEFAULT 'custom',
    rule_type        TEXT NOT NULL DEFAULT '',
    title            TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL DEFAULT '',
    level            TEXT NOT NULL DEFAULT '',
    risk_score       INTEGER NOT NULL DEFAULT 0,
    author           TEXT NOT NULL DEFAULT '',
    language         TEXT NOT NULL DEFAULT '',
    query            TEXT NOT NULL DEFAULT '',
    raw              TEXT NOT NULL DEFAULT '',
    detection        JSONB NOT NULL DEFAULT '{}',
    log_source       JSONB NOT NULL DEFAULT '{}',
    index_patterns   JSONB NOT NULL DEFAULT '[]',
    tags             JSONB NOT NULL DEFAULT '[]',
    tactics          JSONB NOT NULL DEFAULT '[]',
    refs             JSONB NOT NULL DEFAULT '[]',
    false_positives  JSONB NOT NULL DEFAULT '[]',
    related          JSONB NOT NULL DEFAULT '[]',
    metadata         JSONB NOT NULL DEFAULT '{}',
    rule_date        TEXT NOT NULL DEFAULT '',
    rule_modified    TEXT NOT NULL DEFAULT '',
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    deprecated       BOOLEAN NOT NULL DEFAULT FALSE,
    source_ref       TEXT NOT NULL DEFAULT '',
    content_hash     TEXT NOT NULL DEFAULT '',
    created_by       UUID REFERENCES users(id),
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (source, external_id)
);

CREATE TABLE detection_rule_techniques (
    detection_rule_id UUID NOT NULL REFERENCES detection_rules(id) ON DELETE CASCADE,
    technique_id      UUID NOT NULL REFERENCES techniques(id),
    PRIMARY KEY (detection_rule_id, technique_id)
);
CREATE INDEX detection_rule_techniques_technique_idx ON detection_rule_techniques(technique_id);

CREATE TABLE test_template_detection_rules (
    test_template_id  UUID NOT NULL REFERENCES test_templates(id) ON DELETE CASCADE,
    detection_rule_id UUID NOT NULL REFERENCES detection_rules(id) ON DELETE CASCADE,
    reason            TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (test_template_id, detection_rule_id)
);

-- D3FEND.
CREATE TABLE defensive_techniques (
    id               UUID PRIMARY KEY,
    external_id      TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    tactic           TEXT NOT NULL DEFAULT '',
    definition       TEXT NOT NULL DEFAULT '',
    parent_external_id TEXT NOT NULL DEFAULT '',
    uri              TEXT NOT NULL DEFAULT '',
    deprecated       BOOLEAN NOT NULL DEFAULT FALSE,
    source           TEXT NOT NULL DEFAULT '',
    source_ref       TEXT NOT NULL DEFAULT '',
    content_hash     TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE defensive_technique_mappings (
    id                     UUID PRIMARY KEY,
    defensive_technique_id UUID NOT NULL REFERENCES defensive_techniques(id) ON DELETE CASCADE,
    technique_id           UUID NOT NULL REFERENCES techniques(id),
    relation               TEXT NOT NULL DEFAULT '',
    via                    TEXT NOT NULL DEFAULT '',
    source                 TEXT NOT NULL DEFAULT '',
    created_at             TIMESTAMPTZ NOT NULL,
    UNIQUE (defensive_technique_id, technique_id, relation, via)
);
CREATE INDEX defensive_technique_mappings_technique_idx ON defensive_technique_mappings(technique_id);

-- Threat intelligence.
CREATE TABLE threat_actors (
    id               UUID PRIMARY KEY,
    source           TEXT NOT NULL,
    external_id      TEXT NOT NULL,
    stix_id          TEXT NOT NULL DEFAULT '',
    name             TEXT NOT NULL,
    aliases          JSONB NOT NULL DEFAULT '[]',
    description      TEXT NOT NULL DEFAULT '',
    country          TEXT NOT NULL DEFAULT '',
    motivations      JSONB NOT NULL DEFAULT '[]',
    targets          JSONB NOT NULL DEFAULT '[]',
    refs             JSONB NOT NULL DEFAULT '[]',
    revoked          BOOLEAN NOT NULL DEFAULT FALSE,
    deprecated       BOOLEAN NOT NULL DEFAULT FALSE,
    source_ref       TEXT NOT NULL DEFAULT '',
    content_hash     TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (source, external_id)
);

CREATE TABLE threat_actor_techniques (
    threat_actor_id  UUID NOT NULL REFERENCES threat_actors(id) ON DELETE CASCADE,
    technique_id     UUID NOT NULL REFERENCES techniques(id),
    procedure        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (threat_actor_id, technique_id)
);
CREATE INDEX threat_actor_techniques_technique_idx ON threat_actor_techniques(technique_id);

CREATE TABLE intel_items (
    id               UUID PRIMARY KEY,
    source           TEXT NOT NULL,
    external_id      TEXT NOT NULL,
    title            TEXT NOT NULL,
    link             TEXT NOT NULL DEFAULT '',
    feed_url         TEXT NOT NULL DEFAULT '',
    summary          TEXT NOT NULL DEFAULT '',
    published_at     TIMESTAMPTZ,
    technique_ids    JSONB NOT NULL DEFAULT '[]',
    group_ids        JSONB NOT NULL DEFAULT '[]',
    content_hash     TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (source, external_id)
);

-- Compliance.
CREATE TABLE compliance_frameworks (
    id               UUID PRIMARY KEY,
    source           TEXT NOT NULL DEFAULT '',
    external_id      TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    version          TEXT NOT NULL DEFAULT '',
    description      TEXT NOT NULL DEFAULT '',
    content_hash     TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE compliance_controls (
    id               UUID PRIMARY KEY,
    framework_id     UUID NOT NULL REFERENCES compliance_frameworks(id) ON DELETE CASCADE,
    external_id      TEXT NOT NULL,
    family           TEXT NOT NULL DEFAULT '',
    title            TEXT NOT NULL DEFAULT '',
    description      TEXT NOT NULL DEFAULT '',
    parent_external_id TEXT NOT NULL DEFAULT '',
    deprecated       BOOLEAN NOT NULL DEFAULT FALSE,
    source           TEXT NOT NULL DEFAULT '',
    source_ref       TEXT NOT NULL DEFAULT '',
    content_hash     TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (framework_id, external_id)
);

CREATE TABLE compliance_control_mappings (
    id               UUID PRIMARY KEY,
    control_id       UUID NOT NULL REFERENCES compliance_controls(id) ON DELETE CASCADE,
    technique_id     UUID NOT NULL REFERENCES techniques(id),
    mapping_type     TEXT NOT NULL DEFAULT 'mitigates',
    comments         TEXT NOT NULL DEFAULT '',
    source           TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (control_id, technique_id, mapping_type)
);
CREATE INDEX compliance_control_mappings_technique_idx ON compliance_control_mappings(technique_id);

-- Campaigns and tests.
CREATE TABLE campaigns (
    id                 UUID PRIMARY KEY,
    name               TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    status             TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ('planned','active','completed','cancelled')),
    threat_actor_id    UUID REFERENCES threat_actors(id),
    recurrence         TEXT NOT NULL DEFAULT 'none' CHECK (recurrence IN ('none','weekly','monthly','quarterly')),
    next_run_at        TIMESTAMPTZ,
    parent_campaign_id UUID REFERENCES campaigns(id),
    start_date         TIMESTAMPTZ,
    end_date           TIMESTAMPTZ,
    created_by         UUID REFERENCES users(id),
    source             TEXT NOT NULL DEFAULT '',
    external_id        TEXT NOT NULL DEFAULT '',
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);

CREATE TABLE tests (
    id                 UUID PRIMARY KEY,
    title              TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    technique_id       UUID NOT NULL REFERENCES techniques(id),
    template_id        UUID REFERENCES test_templates(id),
    state              TEXT NOT NULL DEFAULT 'draft' CHECK (state IN ('draft','red_executing','blue_evaluating','in_review','validated','rejected')),
    version            INTEGER NOT NULL DEFAULT 1,
    platform           TEXT NOT NULL DEFAULT '',
    -- red team
    procedure          TEXT NOT NULL DEFAULT '',
    command            TEXT NOT NULL DEFAULT '',
    target             TEXT NOT NULL DEFAULT '',
    executed_at        TIMESTAMPTZ,
    executed_by        UUID REFERENCES users(id),
    attack_outcome     TEXT NOT NULL DEFAULT '' CHECK (attack_outcome IN ('','succeeded','failed','partial','blocked')),
    red_notes          TEXT NOT NULL DEFAULT '',
    -- blue team
    prevented          BOOLEAN,
    prevented_at       TIMESTAMPTZ,
    alerted            BOOLEAN,
    alerted_at         TIMESTAMPTZ,
    logged             BOOLEAN,
    logged_at          TIMESTAMPTZ,
    not_applicable     BOOLEAN NOT NULL DEFAULT FALSE,
    control_outcomes   JSONB NOT NULL DEFAULT '[]',
    blue_notes         TEXT NOT NULL DEFAULT '',
    -- review
    review_round       INTEGER NOT NULL DEFAULT 0,
    rejection_reason   TEXT NOT NULL DEFAULT '',
    validated_at       TIMESTAMPTZ,
    -- remediation and retest chain
    remediation_owner  UUID REFERENCES users(id),
    remediation_due    TIMESTAMPTZ,
    remediation_status TEXT NOT NULL DEFAULT 'none' CHECK (remediation_status IN ('none','open','in_progress','completed','wont_fix')),
    remediation_notes  TEXT NOT NULL DEFAULT '',
    remediation_completed_at TIMESTAMPTZ,
    retest_of          UUID REFERENCES tests(id),
    retest_depth       INTEGER NOT NULL DEFAULT 0,
    assigned_red       UUID REFERENCES users(id),
    assigned_blue      UUID REFERENCES users(id),
    created_by         UUID REFERENCES users(id),
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX tests_technique_idx ON tests(technique_id);
CREATE INDEX tests_state_idx ON tests(state);
CREATE INDEX tests_retest_idx ON tests(retest_of);

-- One vote per lead role per review round: the unique key is what makes simultaneous votes safe.
CREATE TABLE test_votes (
    id               UUID PRIMARY KEY,
    test_id          UUID NOT NULL REFERENCES tests(id) ON DELETE CASCADE,
    review_round     INTEGER NOT NULL,
    lead_role        TEXT NOT NULL CHECK (lead_role IN ('red_lead','blue_lead')),
    user_id          UUID NOT NULL REFERENCES users(id),
    decision         TEXT NOT NULL CHECK (decision IN ('approve','reject')),
    reason           TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (test_id, review_round, lead_role)
);

CREATE TABLE campaign_tests (
    campaign_id        UUID NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    test_id            UUID NOT NULL REFERENCES tests(id) ON DELETE CASCADE,
    position           INTEGER NOT NULL DEFAULT 0,
    depends_on_test_id UUID REFERENCES tests(id),
    PRIMARY KEY (campaign_id, test_id)
);
CREATE INDEX campaign_tests_test_idx ON campaign_tests(test_id);

CREATE TABLE evidences (
    id               UUID PRIMARY KEY,
    test_id          UUID NOT NULL REFERENCES tests(id),
    team             TEXT NOT NULL CHECK (team IN ('red','blue')),
    file_name        TEXT NOT NULL,
    content_type     TEXT NOT NULL DEFAULT 'application/octet-stream',
    size_bytes       BIGINT NOT NULL DEFAULT 0,
    sha256           TEXT NOT NULL,
    storage_key      TEXT NOT NULL UNIQUE,
    description      TEXT NOT NULL DEFAULT '',
    uploaded_by      UUID REFERENCES users(id),
    uploaded_at      TIMESTAMPTZ NOT NULL,
    verified_at      TIMESTAMPTZ
);
CREATE INDEX evidences_test_idx ON evidences(test_id);

CREATE TABLE test_detection_results (
    id                UUID PRIMARY KEY,
    test_id           UUID NOT NULL REFERENCES tests(id) ON DELETE CASCADE,
    detection_rule_id UUID NOT NULL REFERENCES detection_rules(id),
    triggered         BOOLEAN NOT NULL,
    method            TEXT NOT NULL DEFAULT 'manual' CHECK (method IN ('manual','evaluated')),
    evidence_id       UUID REFERENCES evidences(id) ON DELETE SET NULL,
    matched_events    INTEGER NOT NULL DEFAULT 0,
    notes             TEXT NOT NULL DEFAULT '',
    recorded_by       UUID REFERENCES users(id),
    recorded_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (test_id, detection_rule_id)
);

CREATE TABLE worklogs (
    id               UUID PRIMARY KEY,
    seq              BIGINT NOT NULL UNIQUE,
    test_id          UUID NOT NULL REFERENCES tests(id),
    user_id          UUID NOT NULL REFERENCES users(id),
    minutes          INTEGER NOT NULL CHECK (minutes >= 0),
    activity         TEXT NOT NULL DEFAULT '',
    note             TEXT NOT NULL DEFAULT '',
    performed_at     TIMESTAMPTZ NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    prev_hash        TEXT NOT NULL DEFAULT '',
    hash             TEXT NOT NULL
);
CREATE INDEX worklogs_test_idx ON worklogs(test_id);

-- Coverage over time.
CREATE TABLE scoring_configs (
    id               UUID PRIMARY KEY,
    formula_version  INTEGER NOT NULL,
    weights          JSONB NOT NULL,
    active           BOOLEAN NOT NULL DEFAULT FALSE,
    created_by       UUID REFERENCES users(id),
    created_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE coverage_snapshots (
    id               UUID PRIMARY KEY,
    name             TEXT NOT NULL DEFAULT '',
    taken_at         TIMESTAMPTZ NOT NULL,
    formula_version  INTEGER NOT NULL DEFAULT 1,
    org_score        DOUBLE PRECISION NOT NULL DEFAULT 0,
    technique_count  INTEGER NOT NULL DEFAULT 0,
    tested_count     INTEGER NOT NULL DEFAULT 0,
    metrics          JSONB NOT NULL DEFAULT '{}',
    created_by       UUID REFERENCES users(id),
    created_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE snapshot_technique_states (
    snapshot_id      UUID NOT NULL REFERENCES coverage_snapshots(id) ON DELETE CASCADE,
    technique_id     UUID NOT NULL REFERENCES techniques(id),
    status           TEXT NOT NULL,
    score            DOUBLE PRECISION NOT NULL DEFAULT 0,
    test_count       INTEGER NOT NULL DEFAULT 0,
    validated_count  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (snapshot_id, technique_id)
);

-- Append-only; each entry's hash covers the previous entry's hash.
CREATE TABLE audit_logs (
    seq              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    id               UUID NOT NULL UNIQUE,
    at               TIMESTAMPTZ NOT NULL,
    actor_id         UUID,
    actor_name       TEXT NOT NULL DEFAULT '',
    action           TEXT NOT NULL,
    entity_type      TEXT NOT NULL DEFAULT '',
    entity_id        TEXT NOT NULL DEFAULT '',
    details          JSONB NOT NULL DEFAULT '{}',
    prev_hash        TEXT NOT NULL DEFAULT '',
    hash             TEXT NOT NULL
);
CREATE INDEX audit_logs_entity_idx ON audit_logs(entity_type, entity_id);
CREATE INDEX audit_logs_actor_idx ON audit_logs(actor_id);

CREATE TABLE notifications (
    id               UUID PRIMARY KEY,
    user_id          UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL,
    title            TEXT NOT NULL,
    body             TEXT NOT NULL DEFAULT '',
    entity_type      TEXT NOT NULL DEFAULT '',
    entity_id        TEXT NOT NULL DEFAULT '',
    read_at          TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX notifications_user_idx ON notifications(user_id, read_at);

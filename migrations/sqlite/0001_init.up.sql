-- Aegis schema v1: every table of the seed design. Identifiers are UUIDs made in Go
-- (TEXT in SQLite); times are UTC; JSON documents are TEXT on PostgreSQL and TEXT on SQLite.

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    password_hash   TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin','red_tech','blue_tech','red_lead','blue_lead','viewer')),
    disabled        BOOLEAN NOT NULL DEFAULT FALSE,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    last_login_at   TIMESTAMP,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);

CREATE TABLE sessions (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash      TEXT NOT NULL UNIQUE,
    csrf_token      TEXT NOT NULL,
    ip              TEXT NOT NULL DEFAULT '',
    user_agent      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    last_seen_at    TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions(user_id);

CREATE TABLE api_tokens (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    prefix          TEXT NOT NULL,
    token_hash      TEXT NOT NULL UNIQUE,
    scope           TEXT NOT NULL CHECK (scope IN ('read','read_write')),
    created_at      TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP,
    last_used_at    TIMESTAMP,
    revoked_at      TIMESTAMP
);
CREATE INDEX api_tokens_user_idx ON api_tokens(user_id);

-- Import bookkeeping: one row per plugin known to the host, one per import run.
CREATE TABLE plugins (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    version          TEXT NOT NULL DEFAULT '',
    description      TEXT NOT NULL DEFAULT '',
    kinds            TEXT NOT NULL DEFAULT '[]',
    record_kinds     TEXT NOT NULL DEFAULT '[]',
    components       TEXT NOT NULL DEFAULT '[]',
    protocol_version INTEGER NOT NULL DEFAULT 0,
    path             TEXT NOT NULL DEFAULT '',
    sha256           TEXT NOT NULL DEFAULT '',
    enabled          BOOLEAN NOT NULL DEFAULT TRUE,
    last_error       TEXT NOT NULL DEFAULT '',
    last_seen_at     TIMESTAMP,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);

CREATE TABLE import_runs (
    id               TEXT PRIMARY KEY,
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
    warnings         TEXT NOT NULL DEFAULT '[]',
    triggered_by     TEXT NOT NULL DEFAULT '',
    started_at       TIMESTAMP NOT NULL,
    finished_at      TIMESTAMP,
    duration_ms      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX import_runs_plugin_idx ON import_runs(plugin_name, started_at);

-- ATT&CK reference data.
CREATE TABLE tactics (
    id               TEXT PRIMARY KEY,
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
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    UNIQUE (domain, external_id)
);

CREATE TABLE techniques (
    id               TEXT PRIMARY KEY,
    external_id      TEXT NOT NULL UNIQUE,
    stix_id          TEXT NOT NULL DEFAULT '',
    name             TEXT NOT NULL DEFAULT '',
    description      TEXT NOT NULL DEFAULT '',
    parent_id        TEXT REFERENCES techniques(id),
    is_subtechnique  BOOLEAN NOT NULL DEFAULT FALSE,
    platforms        TEXT NOT NULL DEFAULT '[]',
    domains          TEXT NOT NULL DEFAULT '[]',
    data_sources     TEXT NOT NULL DEFAULT '[]',
    detection        TEXT NOT NULL DEFAULT '',
    url              TEXT NOT NULL DEFAULT '',
    object_version   TEXT NOT NULL DEFAULT '',
    modified_at      TIMESTAMP,
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
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX techniques_parent_idx ON techniques(parent_id);

CREATE TABLE technique_tactics (
    technique_id     TEXT NOT NULL REFERENCES techniques(id) ON DELETE CASCADE,
    tactic_id        TEXT NOT NULL REFERENCES tactics(id) ON DELETE CASCADE,
    PRIMARY KEY (technique_id, tactic_id)
);
CREATE INDEX technique_tactics_tactic_idx ON technique_tactics(tactic_id);

CREATE TABLE mitigations (
    id               TEXT PRIMARY KEY,
    external_id      TEXT NOT NULL UNIQUE,
    stix_id          TEXT NOT NULL DEFAULT '',
    name             TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    deprecated       BOOLEAN NOT NULL DEFAULT FALSE,
    source           TEXT NOT NULL DEFAULT '',
    source_ref       TEXT NOT NULL DEFAULT '',
    content_hash     TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);

CREATE TABLE technique_mitigations (
    technique_id     TEXT NOT NULL REFERENCES techniques(id) ON DELETE CASCADE,
    mitigation_id    TEXT NOT NULL REFERENCES mitigations(id) ON DELETE CASCADE,
    description      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (technique_id, mitigation_id)
);

-- Test catalog and detection rules.
CREATE TABLE test_templates (
    id               TEXT PRIMARY KEY,
    source           TEXT NOT NULL,
    external_id      TEXT NOT NULL,
    template_type    TEXT NOT NULL DEFAULT 'custom',
    name             TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    tactic           TEXT NOT NULL DEFAULT '',
    platforms        TEXT NOT NULL DEFAULT '[]',
    executor_name    TEXT NOT NULL DEFAULT '',
    command          TEXT NOT NULL DEFAULT '',
    cleanup_command  TEXT NOT NULL DEFAULT '',
    elevation_required BOOLEAN NOT NULL DEFAULT FALSE,
    executors        TEXT NOT NULL DEFAULT '[]',
    input_arguments  TEXT NOT NULL DEFAULT '[]',
    dependencies     TEXT NOT NULL DEFAULT '[]',
    manual_steps     TEXT NOT NULL DEFAULT '',
    payloads         TEXT NOT NULL DEFAULT '[]',
    refs             TEXT NOT NULL DEFAULT '[]',
    metadata         TEXT NOT NULL DEFAULT '{}',
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    deprecated       BOOLEAN NOT NULL DEFAULT FALSE,
    source_ref       TEXT NOT NULL DEFAULT '',
    content_hash     TEXT NOT NULL DEFAULT '',
    created_by       TEXT REFERENCES users(id),
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    UNIQUE (source, external_id)
);

CREATE TABLE test_template_techniques (
    test_template_id TEXT NOT NULL REFERENCES test_templates(id) ON DELETE CASCADE,
    technique_id     TEXT NOT NULL REFERENCES techniques(id),
    PRIMARY KEY (test_template_id, technique_id)
);
CREATE INDEX test_template_techniques_technique_idx ON test_template_techniques(technique_id);

CREATE TABLE detection_rules (
    id               TEXT PRIMARY KEY,
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
    detection        TEXT NOT NULL DEFAULT '{}',
    log_source       TEXT NOT NULL DEFAULT '{}',
    index_patterns   TEXT NOT NULL DEFAULT '[]',
    tags             TEXT NOT NULL DEFAULT '[]',
    tactics          TEXT NOT NULL DEFAULT '[]',
    refs             TEXT NOT NULL DEFAULT '[]',
    false_positives  TEXT NOT NULL DEFAULT '[]',
    related          TEXT NOT NULL DEFAULT '[]',
    metadata         TEXT NOT NULL DEFAULT '{}',
    rule_date        TEXT NOT NULL DEFAULT '',
    rule_modified    TEXT NOT NULL DEFAULT '',
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    deprecated       BOOLEAN NOT NULL DEFAULT FALSE,
    source_ref       TEXT NOT NULL DEFAULT '',
    content_hash     TEXT NOT NULL DEFAULT '',
    created_by       TEXT REFERENCES users(id),
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    UNIQUE (source, external_id)
);

CREATE TABLE detection_rule_techniques (
    detection_rule_id TEXT NOT NULL REFERENCES detection_rules(id) ON DELETE CASCADE,
    technique_id      TEXT NOT NULL REFERENCES techniques(id),
    PRIMARY KEY (detection_rule_id, technique_id)
);
CREATE INDEX detection_rule_techniques_technique_idx ON detection_rule_techniques(technique_id);

CREATE TABLE test_template_detection_rules (
    test_template_id  TEXT NOT NULL REFERENCES test_templates(id) ON DELETE CASCADE,
    detection_rule_id TEXT NOT NULL REFERENCES detection_rules(id) ON DELETE CASCADE,
    reason            TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMP NOT NULL,
    PRIMARY KEY (test_template_id, detection_rule_id)
);

-- D3FEND.
CREATE TABLE defensive_techniques (
    id               TEXT PRIMARY KEY,
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
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);

CREATE TABLE defensive_technique_mappings (
    id                     TEXT PRIMARY KEY,
    defensive_technique_id TEXT NOT NULL REFERENCES defensive_techniques(id) ON DELETE CASCADE,
    technique_id           TEXT NOT NULL REFERENCES techniques(id),
    relation               TEXT NOT NULL DEFAULT '',
    via                    TEXT NOT NULL DEFAULT '',
    source                 TEXT NOT NULL DEFAULT '',
    created_at             TIMESTAMP NOT NULL,
    UNIQUE (defensive_technique_id, technique_id, relation, via)
);
CREATE INDEX defensive_technique_mappings_technique_idx ON defensive_technique_mappings(technique_id);

-- Threat intelligence.
CREATE TABLE threat_actors (
    id               TEXT PRIMARY KEY,
    source           TEXT NOT NULL,
    external_id      TEXT NOT NULL,
    stix_id          TEXT NOT NULL DEFAULT '',
    name             TEXT NOT NULL,
    aliases          TEXT NOT NULL DEFAULT '[]',
    description      TEXT NOT NULL DEFAULT '',
    country          TEXT NOT NULL DEFAULT '',
    motivations      TEXT NOT NULL DEFAULT '[]',
    targets          TEXT NOT NULL DEFAULT '[]',
    refs             TEXT NOT NULL DEFAULT '[]',
    revoked          BOOLEAN NOT NULL DEFAULT FALSE,
    deprecated       BOOLEAN NOT NULL DEFAULT FALSE,
    source_ref       TEXT NOT NULL DEFAULT '',
    content_hash     TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    UNIQUE (source, external_id)
);

CREATE TABLE threat_actor_techniques (
    threat_actor_id  TEXT NOT NULL REFERENCES threat_actors(id) ON DELETE CASCADE,
    technique_id     TEXT NOT NULL REFERENCES techniques(id),
    procedure        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (threat_actor_id, technique_id)
);
CREATE INDEX threat_actor_techniques_technique_idx ON threat_actor_techniques(technique_id);

CREATE TABLE intel_items (
    id               TEXT PRIMARY KEY,
    source           TEXT NOT NULL,
    external_id      TEXT NOT NULL,
    title            TEXT NOT NULL,
    link             TEXT NOT NULL DEFAULT '',
    feed_url         TEXT NOT NULL DEFAULT '',
    summary          TEXT NOT NULL DEFAULT '',
    published_at     TIMESTAMP,
    technique_ids    TEXT NOT NULL DEFAULT '[]',
    group_ids        TEXT NOT NULL DEFAULT '[]',
    content_hash     TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    UNIQUE (source, external_id)
);

-- Compliance.
CREATE TABLE compliance_frameworks (
    id               TEXT PRIMARY KEY,
    source           TEXT NOT NULL DEFAULT '',
    external_id      TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    version          TEXT NOT NULL DEFAULT '',
    description      TEXT NOT NULL DEFAULT '',
    content_hash     TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);

CREATE TABLE compliance_controls (
    id               TEXT PRIMARY KEY,
    framework_id     TEXT NOT NULL REFERENCES compliance_frameworks(id) ON DELETE CASCADE,
    external_id      TEXT NOT NULL,
    family           TEXT NOT NULL DEFAULT '',
    title            TEXT NOT NULL DEFAULT '',
    description      TEXT NOT NULL DEFAULT '',
    parent_external_id TEXT NOT NULL DEFAULT '',
    deprecated       BOOLEAN NOT NULL DEFAULT FALSE,
    source           TEXT NOT NULL DEFAULT '',
    source_ref       TEXT NOT NULL DEFAULT '',
    content_hash     TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    UNIQUE (framework_id, external_id)
);

CREATE TABLE compliance_control_mappings (
    id               TEXT PRIMARY KEY,
    control_id       TEXT NOT NULL REFERENCES compliance_controls(id) ON DELETE CASCADE,
    technique_id     TEXT NOT NULL REFERENCES techniques(id),
    mapping_type     TEXT NOT NULL DEFAULT 'mitigates',
    comments         TEXT NOT NULL DEFAULT '',
    source           TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    UNIQUE (control_id, technique_id, mapping_type)
);
CREATE INDEX compliance_control_mappings_technique_idx ON compliance_control_mappings(technique_id);

-- Campaigns and tests.
CREATE TABLE campaigns (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    status             TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ('planned','active','completed','cancelled')),
    threat_actor_id    TEXT REFERENCES threat_actors(id),
    recurrence         TEXT NOT NULL DEFAULT 'none' CHECK (recurrence IN ('none','weekly','monthly','quarterly')),
    next_run_at        TIMESTAMP,
    parent_campaign_id TEXT REFERENCES campaigns(id),
    start_date         TIMESTAMP,
    end_date           TIMESTAMP,
    created_by         TEXT REFERENCES users(id),
    source             TEXT NOT NULL DEFAULT '',
    external_id        TEXT NOT NULL DEFAULT '',
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);

CREATE TABLE tests (
    id                 TEXT PRIMARY KEY,
    title              TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    technique_id       TEXT NOT NULL REFERENCES techniques(id),
    template_id        TEXT REFERENCES test_templates(id),
    state              TEXT NOT NULL DEFAULT 'draft' CHECK (state IN ('draft','red_executing','blue_evaluating','in_review','validated','rejected')),
    version            INTEGER NOT NULL DEFAULT 1,
    platform           TEXT NOT NULL DEFAULT '',
    -- red team
    procedure          TEXT NOT NULL DEFAULT '',
    command            TEXT NOT NULL DEFAULT '',
    target             TEXT NOT NULL DEFAULT '',
    executed_at        TIMESTAMP,
    executed_by        TEXT REFERENCES users(id),
    attack_outcome     TEXT NOT NULL DEFAULT '' CHECK (attack_outcome IN ('','succeeded','failed','partial','blocked')),
    red_notes          TEXT NOT NULL DEFAULT '',
    -- blue team
    prevented          BOOLEAN,
    prevented_at       TIMESTAMP,
    alerted            BOOLEAN,
    alerted_at         TIMESTAMP,
    logged             BOOLEAN,
    logged_at          TIMESTAMP,
    not_applicable     BOOLEAN NOT NULL DEFAULT FALSE,
    control_outcomes   TEXT NOT NULL DEFAULT '[]',
    blue_notes         TEXT NOT NULL DEFAULT '',
    -- review
    review_round       INTEGER NOT NULL DEFAULT 0,
    rejection_reason   TEXT NOT NULL DEFAULT '',
    validated_at       TIMESTAMP,
    -- remediation and retest chain
    remediation_owner  TEXT REFERENCES users(id),
    remediation_due    TIMESTAMP,
    remediation_status TEXT NOT NULL DEFAULT 'none' CHECK (remediation_status IN ('none','open','in_progress','completed','wont_fix')),
    remediation_notes  TEXT NOT NULL DEFAULT '',
    remediation_completed_at TIMESTAMP,
    retest_of          TEXT REFERENCES tests(id),
    retest_depth       INTEGER NOT NULL DEFAULT 0,
    assigned_red       TEXT REFERENCES users(id),
    assigned_blue      TEXT REFERENCES users(id),
    created_by         TEXT REFERENCES users(id),
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
CREATE INDEX tests_technique_idx ON tests(technique_id);
CREATE INDEX tests_state_idx ON tests(state);
CREATE INDEX tests_retest_idx ON tests(retest_of);

-- One vote per lead role per review round: the unique key is what makes simultaneous votes safe.
CREATE TABLE test_votes (
    id               TEXT PRIMARY KEY,
    test_id          TEXT NOT NULL REFERENCES tests(id) ON DELETE CASCADE,
    review_round     INTEGER NOT NULL,
    lead_role        TEXT NOT NULL CHECK (lead_role IN ('red_lead','blue_lead')),
    user_id          TEXT NOT NULL REFERENCES users(id),
    decision         TEXT NOT NULL CHECK (decision IN ('approve','reject')),
    reason           TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    UNIQUE (test_id, review_round, lead_role)
);

CREATE TABLE campaign_tests (
    campaign_id        TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    test_id            TEXT NOT NULL REFERENCES tests(id) ON DELETE CASCADE,
    position           INTEGER NOT NULL DEFAULT 0,
    depends_on_test_id TEXT REFERENCES tests(id),
    PRIMARY KEY (campaign_id, test_id)
);
CREATE INDEX campaign_tests_test_idx ON campaign_tests(test_id);

CREATE TABLE evidences (
    id               TEXT PRIMARY KEY,
    test_id          TEXT NOT NULL REFERENCES tests(id),
    team             TEXT NOT NULL CHECK (team IN ('red','blue')),
    file_name        TEXT NOT NULL,
    content_type     TEXT NOT NULL DEFAULT 'application/octet-stream',
    size_bytes       INTEGER NOT NULL DEFAULT 0,
    sha256           TEXT NOT NULL,
    storage_key      TEXT NOT NULL UNIQUE,
    description      TEXT NOT NULL DEFAULT '',
    uploaded_by      TEXT REFERENCES users(id),
    uploaded_at      TIMESTAMP NOT NULL,
    verified_at      TIMESTAMP
);
CREATE INDEX evidences_test_idx ON evidences(test_id);

CREATE TABLE test_detection_results (
    id                TEXT PRIMARY KEY,
    test_id           TEXT NOT NULL REFERENCES tests(id) ON DELETE CASCADE,
    detection_rule_id TEXT NOT NULL REFERENCES detection_rules(id),
    triggered         BOOLEAN NOT NULL,
    method            TEXT NOT NULL DEFAULT 'manual' CHECK (method IN ('manual','evaluated')),
    evidence_id       TEXT REFERENCES evidences(id) ON DELETE SET NULL,
    matched_events    INTEGER NOT NULL DEFAULT 0,
    notes             TEXT NOT NULL DEFAULT '',
    recorded_by       TEXT REFERENCES users(id),
    recorded_at       TIMESTAMP NOT NULL,
    UNIQUE (test_id, detection_rule_id)
);

CREATE TABLE worklogs (
    id               TEXT PRIMARY KEY,
    seq              INTEGER NOT NULL UNIQUE,
    test_id          TEXT NOT NULL REFERENCES tests(id),
    user_id          TEXT NOT NULL REFERENCES users(id),
    minutes          INTEGER NOT NULL CHECK (minutes >= 0),
    activity         TEXT NOT NULL DEFAULT '',
    note             TEXT NOT NULL DEFAULT '',
    performed_at     TIMESTAMP NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    prev_hash        TEXT NOT NULL DEFAULT '',
    hash             TEXT NOT NULL
);
CREATE INDEX worklogs_test_idx ON worklogs(test_id);

-- Coverage over time.
CREATE TABLE scoring_configs (
    id               TEXT PRIMARY KEY,
    formula_version  INTEGER NOT NULL,
    weights          TEXT NOT NULL,
    active           BOOLEAN NOT NULL DEFAULT FALSE,
    created_by       TEXT REFERENCES users(id),
    created_at       TIMESTAMP NOT NULL
);

CREATE TABLE coverage_snapshots (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL DEFAULT '',
    taken_at         TIMESTAMP NOT NULL,
    formula_version  INTEGER NOT NULL DEFAULT 1,
    org_score        REAL NOT NULL DEFAULT 0,
    technique_count  INTEGER NOT NULL DEFAULT 0,
    tested_count     INTEGER NOT NULL DEFAULT 0,
    metrics          TEXT NOT NULL DEFAULT '{}',
    created_by       TEXT REFERENCES users(id),
    created_at       TIMESTAMP NOT NULL
);

CREATE TABLE snapshot_technique_states (
    snapshot_id      TEXT NOT NULL REFERENCES coverage_snapshots(id) ON DELETE CASCADE,
    technique_id     TEXT NOT NULL REFERENCES techniques(id),
    status           TEXT NOT NULL,
    score            REAL NOT NULL DEFAULT 0,
    test_count       INTEGER NOT NULL DEFAULT 0,
    validated_count  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (snapshot_id, technique_id)
);

-- Append-only; each entry's hash covers the previous entry's hash.
CREATE TABLE audit_logs (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    at               TIMESTAMP NOT NULL,
    actor_id         TEXT,
    actor_name       TEXT NOT NULL DEFAULT '',
    action           TEXT NOT NULL,
    entity_type      TEXT NOT NULL DEFAULT '',
    entity_id        TEXT NOT NULL DEFAULT '',
    details          TEXT NOT NULL DEFAULT '{}',
    prev_hash        TEXT NOT NULL DEFAULT '',
    hash             TEXT NOT NULL
);
CREATE INDEX audit_logs_entity_idx ON audit_logs(entity_type, entity_id);
CREATE INDEX audit_logs_actor_idx ON audit_logs(actor_id);

CREATE TABLE notifications (
    id               TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL,
    title            TEXT NOT NULL,
    body             TEXT NOT NULL DEFAULT '',
    entity_type      TEXT NOT NULL DEFAULT '',
    entity_id        TEXT NOT NULL DEFAULT '',
    read_at          TIMESTAMP,
    created_at       TIMESTAMP NOT NULL
);
CREATE INDEX notifications_user_idx ON notifications(user_id, read_at);

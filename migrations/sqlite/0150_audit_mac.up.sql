-- Audit chain anchoring (issue 16, defect 4): each entry carries an HMAC-SHA256 over its
-- sequence number and hash, keyed with AEGIS_AUDIT_KEY, which the database never holds;
-- entries written without a key (or before one was set) have ''.
ALTER TABLE audit_logs ADD COLUMN mac TEXT NOT NULL DEFAULT '';

-- What a plugin reported in Describe besides its protocol major: the SDK version it
-- was built with and the protocol minor (additions to the frozen proto) it knows.
ALTER TABLE plugins ADD COLUMN sdk_version TEXT NOT NULL DEFAULT '';
ALTER TABLE plugins ADD COLUMN protocol_minor INTEGER NOT NULL DEFAULT 0;

ALTER TABLE plugins DROP COLUMN protocol_minor;
ALTER TABLE plugins DROP COLUMN sdk_version;

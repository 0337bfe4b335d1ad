-- The certificate profiles an organisation may use (comma-separated ids; empty: all of the
-- enabled certificate types). Kept in step with migrations/sqlite/0009_enabled_profiles.sql.
ALTER TABLE organizations ADD COLUMN enabled_profiles TEXT NOT NULL DEFAULT '';

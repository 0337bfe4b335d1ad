-- The custom field values an order carried (JSON array of {"name", "value"}).
-- Kept in step with migrations/postgres/0008_custom_fields.sql.
ALTER TABLE certificate_requests ADD COLUMN custom_fields TEXT NOT NULL DEFAULT '';

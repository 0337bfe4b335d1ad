-- Revocation: when, why (RFC 5280 reason code and the requester's words), by whom.
-- Kept in step with migrations/postgres/0006_revocation.sql.
ALTER TABLE certificates ADD COLUMN revoked_at INTEGER;
ALTER TABLE certificates ADD COLUMN revocation_reason INTEGER;
ALTER TABLE certificates ADD COLUMN revocation_text TEXT NOT NULL DEFAULT '';
ALTER TABLE certificates ADD COLUMN revoked_by INTEGER;
CREATE INDEX certificates_revoked ON certificates (issuer_ca_id, revoked_at);

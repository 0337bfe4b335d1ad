-- Revocation: when, why (RFC 5280 reason code and the requester's words), by whom.
-- Kept in step with migrations/sqlite/0006_revocation.sql.
ALTER TABLE certificates ADD COLUMN revoked_at BIGINT;
ALTER TABLE certificates ADD COLUMN revocation_reason BIGINT;
ALTER TABLE certificates ADD COLUMN revocation_text TEXT NOT NULL DEFAULT '';
ALTER TABLE certificates ADD COLUMN revoked_by BIGINT;
CREATE INDEX certificates_revoked ON certificates (issuer_ca_id, revoked_at);

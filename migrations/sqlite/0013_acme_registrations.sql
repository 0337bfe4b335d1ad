-- The ACME protocol's own state: nonces (single use, shared by every node) and the accounts
-- ACME clients register (RFC 8555 §7.3), each bound to an administrator-made ACME account
-- through External Account Binding.
-- Kept in step with migrations/postgres/0013_acme_registrations.sql.
CREATE TABLE acme_nonces (
    nonce      TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX acme_nonces_expiry ON acme_nonces (expires_at);

CREATE TABLE acme_registrations (
    id              INTEGER PRIMARY KEY,
    acme_account_id INTEGER NOT NULL REFERENCES acme_accounts (id) ON DELETE CASCADE,
    thumbprint      TEXT NOT NULL UNIQUE,
    jwk             TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('valid', 'deactivated')),
    contacts        TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL
);
CREATE INDEX acme_registrations_account ON acme_registrations (acme_account_id);

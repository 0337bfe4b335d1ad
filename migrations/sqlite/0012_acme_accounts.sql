-- ACME accounts as SCM has them: an administrator creates one for an organisation or
-- department and an ACME server; Castellan hands out External Account Binding credentials
-- (macId, and macKey sealed under the KEK: it is needed to check the binding's MAC); the
-- domains the account may order for are listed with it.
-- Kept in step with migrations/postgres/0012_acme_accounts.sql.
CREATE TABLE acme_accounts (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL,
    org_id            INTEGER NOT NULL REFERENCES organizations (id),
    server            TEXT NOT NULL,
    mac_id            TEXT NOT NULL UNIQUE,
    encrypted_mac_key BLOB NOT NULL,
    status            TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'valid', 'deactivated')),
    contacts          TEXT NOT NULL DEFAULT '',
    created_by        INTEGER,
    created_at        INTEGER NOT NULL
);
CREATE INDEX acme_accounts_org ON acme_accounts (org_id);

CREATE TABLE acme_account_domains (
    account_id INTEGER NOT NULL REFERENCES acme_accounts (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    PRIMARY KEY (account_id, name)
);

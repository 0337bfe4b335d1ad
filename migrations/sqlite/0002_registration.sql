-- The registration authority: organisations and departments, administrators' details,
-- privileges, second-administrator approvals, API tokens and the audit log.
-- Kept in step with migrations/postgres/0002_registration.sql.

-- Organisations and departments share one id space (SCM clients pass either as orgId):
-- a department is a row whose parent_id names its organisation.
CREATE TABLE organizations (
    id                      INTEGER PRIMARY KEY,
    parent_id               INTEGER REFERENCES organizations (id),
    name                    TEXT NOT NULL,
    alias                   TEXT NOT NULL DEFAULT '',
    secondary_name          TEXT NOT NULL DEFAULT '',
    address1                TEXT NOT NULL DEFAULT '',
    address2                TEXT NOT NULL DEFAULT '',
    address3                TEXT NOT NULL DEFAULT '',
    city                    TEXT NOT NULL DEFAULT '',
    state_or_province       TEXT NOT NULL DEFAULT '',
    postal_code             TEXT NOT NULL DEFAULT '',
    country                 TEXT NOT NULL DEFAULT '',
    organization_identifier TEXT NOT NULL DEFAULT '',
    academic_code           TEXT NOT NULL DEFAULT '',
    contact_emails          TEXT NOT NULL DEFAULT '',
    cert_types              TEXT NOT NULL DEFAULT '',
    validation_status       TEXT NOT NULL DEFAULT 'Pending'
                            CHECK (validation_status IN ('Pending', 'Validated')),
    ev_legal_name           TEXT NOT NULL DEFAULT '',
    ev_business_category    TEXT NOT NULL DEFAULT '',
    ev_jurisdiction_country TEXT NOT NULL DEFAULT '',
    ev_jurisdiction_state   TEXT NOT NULL DEFAULT '',
    ev_jurisdiction_locality TEXT NOT NULL DEFAULT '',
    ev_registration_number  TEXT NOT NULL DEFAULT '',
    ev_incorporation_date   TEXT NOT NULL DEFAULT '',
    ev_assumed_name         TEXT NOT NULL DEFAULT '',
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
);
CREATE UNIQUE INDEX organizations_unique_name ON organizations (COALESCE(parent_id, 0), lower(name));
CREATE INDEX organizations_parent ON organizations (parent_id);

ALTER TABLE administrators ADD COLUMN title TEXT NOT NULL DEFAULT '';
ALTER TABLE administrators ADD COLUMN telephone TEXT NOT NULL DEFAULT '';
ALTER TABLE administrators ADD COLUMN relationship TEXT NOT NULL DEFAULT '';
ALTER TABLE administrators ADD COLUMN auth_cert_serial TEXT NOT NULL DEFAULT '';
ALTER TABLE administrators ADD COLUMN idp_person_id TEXT NOT NULL DEFAULT '';
ALTER TABLE administrators ADD COLUMN approval_status TEXT NOT NULL DEFAULT 'APPROVED';
ALTER TABLE administrators ADD COLUMN failed_at INTEGER;
ALTER TABLE administrators ADD COLUMN password_changed_at INTEGER;
ALTER TABLE administrators ADD COLUMN created_by INTEGER;

CREATE TABLE administrator_privileges (
    admin_id  INTEGER NOT NULL REFERENCES administrators (id) ON DELETE CASCADE,
    privilege TEXT NOT NULL,
    PRIMARY KEY (admin_id, privilege)
);
CREATE INDEX administrator_roles_scope ON administrator_roles (scope_id);

-- An action that waits for a second administrator (ra::approval).
CREATE TABLE approvals (
    id           INTEGER PRIMARY KEY,
    action       TEXT NOT NULL,
    object_type  TEXT NOT NULL,
    object_id    INTEGER NOT NULL,
    scope_id     INTEGER NOT NULL,
    area         TEXT NOT NULL,
    privilege    TEXT NOT NULL DEFAULT '',
    requested_by INTEGER NOT NULL,
    requested_at INTEGER NOT NULL,
    status       TEXT NOT NULL DEFAULT 'PENDING'
                 CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED', 'CANCELLED')),
    decided_by   INTEGER,
    decided_at   INTEGER,
    note         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX approvals_object ON approvals (object_type, object_id, status);

-- One-time tokens: IdP invitations (and later other links sent by e-mail); stored hashed.
CREATE TABLE admin_invitations (
    id          INTEGER PRIMARY KEY,
    admin_id    INTEGER NOT NULL REFERENCES administrators (id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    purpose     TEXT NOT NULL,
    invited_by  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    created_at  INTEGER NOT NULL
);

-- OAuth2 client-credentials access tokens (SHA-256 of the token; never the token).
CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    admin_id   INTEGER NOT NULL REFERENCES administrators (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

-- The audit log: append-only, each row's hash covers its content and the previous hash.
CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY,
    at            INTEGER NOT NULL,
    admin_id      INTEGER,
    actor         TEXT NOT NULL,
    access_method TEXT NOT NULL,
    address       TEXT NOT NULL DEFAULT '',
    action        TEXT NOT NULL,
    object_type   TEXT NOT NULL,
    object_id     TEXT NOT NULL DEFAULT '',
    org_id        INTEGER,
    description   TEXT NOT NULL,
    before_json   TEXT NOT NULL DEFAULT '',
    after_json    TEXT NOT NULL DEFAULT '',
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);

-- The head of the chain; updating it first serialises appenders on both engines.
CREATE TABLE audit_head (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    seq       INTEGER NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

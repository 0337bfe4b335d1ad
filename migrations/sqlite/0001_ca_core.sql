-- The CA core: settings, certificate authorities, administrators, requests, certificates.
-- Kept in step with migrations/postgres/0001_ca_core.sql: same tables, columns and indexes.
-- Times are Unix seconds (UTC); booleans are 0/1 integers.

CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE certificate_authorities (
    id                 INTEGER PRIMARY KEY,
    slug               TEXT NOT NULL UNIQUE,
    hierarchy          TEXT NOT NULL CHECK (hierarchy IN ('rsa', 'ecc')),
    role               TEXT NOT NULL CHECK (role IN ('root', 'issuing')),
    parent_id          INTEGER REFERENCES certificate_authorities (id),
    subject            TEXT NOT NULL,
    key_type           TEXT NOT NULL,
    key_storage        TEXT NOT NULL DEFAULT 'software',
    encrypted_key      BLOB NOT NULL,
    certificate_der    BLOB NOT NULL,
    serial             TEXT NOT NULL,
    not_before         INTEGER NOT NULL,
    not_after          INTEGER NOT NULL,
    sha256_fingerprint TEXT NOT NULL UNIQUE,
    spki_sha256        TEXT NOT NULL,
    active             INTEGER NOT NULL DEFAULT 1,
    created_at         INTEGER NOT NULL
);

CREATE TABLE administrators (
    id                   INTEGER PRIMARY KEY,
    login                TEXT NOT NULL UNIQUE,
    email                TEXT NOT NULL,
    forename             TEXT NOT NULL DEFAULT '',
    surname              TEXT NOT NULL DEFAULT '',
    admin_type           TEXT NOT NULL CHECK (admin_type IN ('STANDARD', 'IDP', 'API')),
    password_hash        TEXT,
    must_change_password INTEGER NOT NULL DEFAULT 1,
    failed_attempts      INTEGER NOT NULL DEFAULT 0,
    status               TEXT NOT NULL DEFAULT 'ACTIVE',
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);

-- scope_id 0 is the whole customer (the MRAO); later migrations scope roles to organisations.
CREATE TABLE administrator_roles (
    admin_id INTEGER NOT NULL REFERENCES administrators (id) ON DELETE CASCADE,
    role     TEXT NOT NULL,
    scope_id INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (admin_id, role, scope_id)
);

CREATE TABLE certificate_requests (
    id              INTEGER PRIMARY KEY,
    renew_id        TEXT NOT NULL UNIQUE,
    profile_id      INTEGER NOT NULL,
    status          TEXT NOT NULL,
    requested_via   TEXT NOT NULL,
    requester       TEXT NOT NULL,
    term_days       INTEGER NOT NULL,
    common_name     TEXT,
    requested_names TEXT NOT NULL DEFAULT '',
    csr_der         BLOB,
    key_generated   INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE certificates (
    id                    INTEGER PRIMARY KEY,
    request_id            INTEGER REFERENCES certificate_requests (id),
    issuer_ca_id          INTEGER NOT NULL REFERENCES certificate_authorities (id),
    profile_id            INTEGER NOT NULL,
    serial                TEXT NOT NULL UNIQUE,
    status                TEXT NOT NULL,
    subject               TEXT NOT NULL,
    common_name           TEXT,
    key_type              TEXT NOT NULL,
    spki_sha256           TEXT NOT NULL,
    not_before            INTEGER NOT NULL,
    not_after             INTEGER NOT NULL,
    sha256_fingerprint    TEXT NOT NULL,
    sha1_fingerprint      TEXT NOT NULL,
    der                   BLOB NOT NULL,
    encrypted_private_key BLOB,
    issued_at             INTEGER NOT NULL
);

CREATE INDEX certificates_common_name ON certificates (lower(common_name));
CREATE INDEX certificates_not_after ON certificates (not_after);
CREATE INDEX certificates_request ON certificates (request_id);

-- Every name a certificate covers (subjectAltName), lower case, for search by SAN.
CREATE TABLE certificate_names (
    certificate_id INTEGER NOT NULL REFERENCES certificates (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('dns', 'email')),
    name           TEXT NOT NULL,
    PRIMARY KEY (certificate_id, kind, name)
);

CREATE INDEX certificate_names_name ON certificate_names (name);

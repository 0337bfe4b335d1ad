-- Domains, their delegations to organisations and departments, and domain control
-- validation. Kept in step with migrations/postgres/0003_domains.sql.

-- A domain entry as added under Domains: `example.com` or `*.example.com` (normalised:
-- lower case, IDNA A-labels, no trailing dot).
CREATE TABLE domains (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    active      INTEGER NOT NULL DEFAULT 1,
    created_by  INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Who may use a domain for which certificate type. A department's own request waits
-- (REQUESTED) until an RAO of its organisation approves it.
CREATE TABLE domain_delegations (
    domain_id    INTEGER NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    org_id       INTEGER NOT NULL REFERENCES organizations (id),
    cert_type    TEXT NOT NULL CHECK (cert_type IN ('SSL', 'SMIME', 'CodeSign')),
    status       TEXT NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'REQUESTED')),
    requested_by INTEGER,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (domain_id, org_id, cert_type)
);
CREATE INDEX domain_delegations_org ON domain_delegations (org_id);

-- Domain control validation of a domain name (the entry's name without `*.`); a validated
-- name also vouches for the names below it.
CREATE TABLE dcv (
    domain           TEXT PRIMARY KEY,
    order_status     TEXT NOT NULL DEFAULT 'NOT_INITIATED'
                     CHECK (order_status IN ('NOT_INITIATED', 'AWAITING_SUBMISSION', 'SUBMITTED')),
    method           TEXT NOT NULL DEFAULT '',
    host             TEXT NOT NULL DEFAULT '',
    point            TEXT NOT NULL DEFAULT '',
    validated_method TEXT NOT NULL DEFAULT '',
    validated_at     INTEGER,
    expires_at       INTEGER,
    submitted_at     INTEGER,
    last_check       INTEGER,
    next_check       INTEGER,
    last_result      TEXT NOT NULL DEFAULT '',
    transcript       TEXT NOT NULL DEFAULT '',
    updated_at       INTEGER NOT NULL
);
CREATE INDEX dcv_next_check ON dcv (order_status, next_check);

-- Persons (guide 8, SCM /person/v1): the people client certificates are issued to. The
-- e-mail is unique (case-insensitively), as SCM finds a person by it.
CREATE TABLE persons (
    id               INTEGER PRIMARY KEY,
    org_id           INTEGER NOT NULL REFERENCES organizations (id),
    first_name       TEXT NOT NULL,
    middle_name      TEXT NOT NULL DEFAULT '',
    last_name        TEXT NOT NULL,
    email            TEXT NOT NULL,
    email_key        TEXT NOT NULL UNIQUE,
    secondary_emails TEXT NOT NULL DEFAULT '',
    phone            TEXT NOT NULL DEFAULT '',
    common_name      TEXT NOT NULL DEFAULT '',
    eppn             TEXT NOT NULL DEFAULT '',
    upn              TEXT NOT NULL DEFAULT '',
    validation_type  TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    created_by       INTEGER,
    modified_at      INTEGER NOT NULL,
    modified_by      INTEGER
);
CREATE INDEX persons_org ON persons (org_id);

-- Invitations to create a client certificate (guide 8.2.1 "Send Invitation"): a one-time,
-- expiring link mailed to a person. Only the token's SHA-256 is kept.
CREATE TABLE client_invitations (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    person_id   INTEGER NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    org_id      INTEGER NOT NULL REFERENCES organizations (id),
    profile_id  INTEGER NOT NULL,
    term_days   INTEGER NOT NULL,
    invited_by  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    request_id  INTEGER
);
CREATE INDEX client_invitations_person ON client_invitations (person_id);

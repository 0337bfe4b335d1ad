-- Revocation status: CRL shards and invalidity dates on certificates, keys blocked after a
-- key compromise, published CRLs, delegated OCSP responders and pre-signed OCSP responses.
-- Kept in step with migrations/postgres/0010_revocation_status.sql.
ALTER TABLE certificates ADD COLUMN crl_shard INTEGER NOT NULL DEFAULT 0;
ALTER TABLE certificates ADD COLUMN invalidity_date INTEGER;
CREATE INDEX certificates_spki ON certificates (spki_sha256);

-- A public key reported compromised: no certificate is issued for it again.
CREATE TABLE blocked_keys (
    spki_sha256    TEXT PRIMARY KEY,
    certificate_id INTEGER REFERENCES certificates (id),
    blocked_at     INTEGER NOT NULL
);

-- The latest CRL of each CA and shard (older numbers are deleted when a new one lands).
CREATE TABLE crls (
    ca_id       INTEGER NOT NULL REFERENCES certificate_authorities (id),
    shard       INTEGER NOT NULL,
    number      INTEGER NOT NULL,
    this_update INTEGER NOT NULL,
    next_update INTEGER NOT NULL,
    entries     INTEGER NOT NULL,
    der         BLOB NOT NULL,
    PRIMARY KEY (ca_id, shard, number)
);

-- Delegated OCSP responders: a short-lived certificate per issuing CA, rolled before expiry.
CREATE TABLE ocsp_responders (
    id              INTEGER PRIMARY KEY,
    ca_id           INTEGER NOT NULL REFERENCES certificate_authorities (id),
    certificate_der BLOB NOT NULL,
    encrypted_key   BLOB NOT NULL,
    not_before      INTEGER NOT NULL,
    not_after       INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX ocsp_responders_ca ON ocsp_responders (ca_id, not_after);

-- Pre-signed OCSP responses, one per certificate and CertID hash algorithm.
CREATE TABLE ocsp_responses (
    certificate_id INTEGER NOT NULL REFERENCES certificates (id) ON DELETE CASCADE,
    hash_algorithm TEXT NOT NULL CHECK (hash_algorithm IN ('sha1', 'sha256')),
    revoked        INTEGER NOT NULL,
    this_update    INTEGER NOT NULL,
    next_update    INTEGER NOT NULL,
    der            BLOB NOT NULL,
    PRIMARY KEY (certificate_id, hash_algorithm)
);
CREATE INDEX ocsp_responses_this_update ON ocsp_responses (this_update);
CREATE INDEX ocsp_responses_next_update ON ocsp_responses (next_update);

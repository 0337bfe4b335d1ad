-- Key escrow (guide 8.2): a server-generated client key is kept sealed to an escrow key; its
-- recovery waits for a second administrator's approval and, when the escrow key is split
-- among custodians, for enough of their shares.
CREATE TABLE escrow_keys (
    id              INTEGER PRIMARY KEY,
    public_key      BLOB NOT NULL,
    -- The private half sealed under the KEK; NULL once split among custodians.
    sealed_private  BLOB,
    threshold       INTEGER NOT NULL DEFAULT 0,
    custodians      INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    retired_at      INTEGER
);
CREATE TABLE key_escrow (
    certificate_id  INTEGER PRIMARY KEY REFERENCES certificates (id),
    escrow_key_id   INTEGER NOT NULL REFERENCES escrow_keys (id),
    sealed          BLOB NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE TABLE key_recoveries (
    id              INTEGER PRIMARY KEY,
    certificate_id  INTEGER NOT NULL REFERENCES certificates (id),
    org_id          INTEGER NOT NULL,
    requested_by    INTEGER NOT NULL,
    recipient       TEXT NOT NULL,
    reason          TEXT NOT NULL,
    status          TEXT NOT NULL,
    -- Custodians' shares handed in so far, sealed under the KEK, until enough are in.
    shares_sealed   BLOB,
    -- The recovered key, sealed under the KEK, until the recipient downloads it.
    recovered_sealed BLOB,
    token_hash      TEXT UNIQUE,
    expires_at      INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

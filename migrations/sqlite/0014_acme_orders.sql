-- ACME orders (RFC 8555 §7.4): the names asked for, the profile, and once finalized the
-- registration authority's order and certificate.
-- Kept in step with migrations/postgres/0014_acme_orders.sql.
CREATE TABLE acme_orders (
    id              INTEGER PRIMARY KEY,
    registration_id INTEGER NOT NULL REFERENCES acme_registrations (id) ON DELETE CASCADE,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'processing', 'valid', 'invalid')),
    identifiers     TEXT NOT NULL,
    profile         TEXT NOT NULL,
    expires_at      INTEGER NOT NULL,
    request_id      INTEGER REFERENCES certificate_requests (id),
    certificate_id  INTEGER REFERENCES certificates (id),
    error           TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL
);
CREATE INDEX acme_orders_registration ON acme_orders (registration_id);

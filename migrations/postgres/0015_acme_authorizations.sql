-- ACME authorizations (RFC 8555 §7.1.4): one per name of an order. In the pre-validated
-- model they are valid from the start; in challenge mode each waits for the client to answer
-- one challenge (http-01, dns-01, tls-alpn-01), which Castellan then checks.
-- `challenge` is the type the client answered ('' while none); `attempted_at` is when the
-- check began, so a check cut short by a restart is taken up again.
-- A valid authorization is reused by later orders of the same ACME account for the same name
-- while it is recent (the identifier column makes that lookup an index search).
-- `registered_domain` is the Domains entry the name falls under: new orders are counted per
-- registered domain for the rate limits.
-- Kept in step with migrations/sqlite/0015_acme_authorizations.sql.
CREATE TABLE acme_authorizations (
    order_id      BIGINT NOT NULL REFERENCES acme_orders (id) ON DELETE CASCADE,
    idx           BIGINT NOT NULL,
    identifier    TEXT NOT NULL,
    registered_domain TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'valid', 'invalid', 'deactivated')),
    token         TEXT NOT NULL,
    challenge     TEXT NOT NULL DEFAULT '',
    attempted_at  BIGINT,
    validated_at  BIGINT,
    error         TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (order_id, idx)
);
CREATE INDEX acme_authorizations_identifier ON acme_authorizations (identifier, validated_at);
CREATE INDEX acme_authorizations_attempted ON acme_authorizations (attempted_at);
CREATE INDEX acme_authorizations_registered ON acme_authorizations (registered_domain, created_at);

-- RFC 9773 `replaces`: the certificate a new order replaces, so it is replaced only once and
-- the order counts as a renewal for rate limits.
ALTER TABLE acme_orders ADD COLUMN replaces_certificate_id BIGINT REFERENCES certificates (id);
CREATE INDEX acme_orders_replaces ON acme_orders (replaces_certificate_id);
CREATE INDEX acme_orders_request ON acme_orders (request_id);
CREATE INDEX acme_orders_created ON acme_orders (registration_id, created_at);

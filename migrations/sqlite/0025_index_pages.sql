-- Fewer index pages written per issued certificate and per ACME order (every page a commit
-- changes is written to the WAL): an index that another one's prefix already serves is
-- dropped, and an index whose column is NULL when the row is written holds only the rows it
-- is searched for (each query that uses it names the column with a comparison or IS NOT
-- NULL, which is what lets the database use a partial index).

-- Served by acme_orders_created (registration_id, created_at).
DROP INDEX acme_orders_registration;

-- Searched only for orders that replace a certificate (`replaces_certificate_id = $1`).
DROP INDEX acme_orders_replaces;
CREATE INDEX acme_orders_replaces ON acme_orders (replaces_certificate_id)
    WHERE replaces_certificate_id IS NOT NULL;

-- Searched only for answered challenges (`attempted_at < $1`).
DROP INDEX acme_authorizations_attempted;
CREATE INDEX acme_authorizations_attempted ON acme_authorizations (attempted_at)
    WHERE attempted_at IS NOT NULL;

-- The CRL reads revoked certificates by CA and shard (certificates_crl); the older index by
-- CA alone is read by nothing.
DROP INDEX certificates_revoked;
DROP INDEX certificates_crl;
CREATE INDEX certificates_crl ON certificates (issuer_ca_id, crl_shard, revoked_at)
    WHERE revoked_at IS NOT NULL;

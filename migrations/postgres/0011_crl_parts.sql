-- CRLs are stored in parts of at most 1 MiB, so storing or reading a CRL of tens of
-- megabytes never holds more than a part in the database driver's buffers; and an index
-- that answers the CRL job's "anything revoked since?" without a scan.
-- Kept in step with migrations/sqlite/0011_crl_parts.sql.
CREATE TABLE crl_parts (
    ca_id  BIGINT NOT NULL,
    shard  BIGINT NOT NULL,
    number BIGINT NOT NULL,
    part   BIGINT NOT NULL,
    bytes  BYTEA NOT NULL,
    PRIMARY KEY (ca_id, shard, number, part)
);
ALTER TABLE crls DROP COLUMN der;
CREATE INDEX certificates_crl ON certificates (issuer_ca_id, crl_shard, revoked_at);

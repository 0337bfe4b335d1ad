-- Auto-renewal (guide 7.3): renew N days before expiry; the order that renewed this one.
-- Kept in step with migrations/postgres/0007_auto_renewal.sql.
ALTER TABLE certificate_requests ADD COLUMN auto_renew_days INTEGER;
ALTER TABLE certificate_requests ADD COLUMN renewed_by_id INTEGER;

-- Certificate orders: who asked for which organisation or department, and who decided.
-- Kept in step with migrations/sqlite/0005_orders.sql.
ALTER TABLE certificate_requests ADD COLUMN org_id BIGINT;
ALTER TABLE certificate_requests ADD COLUMN requester_admin_id BIGINT;
ALTER TABLE certificate_requests ADD COLUMN external_requester TEXT NOT NULL DEFAULT '';
ALTER TABLE certificate_requests ADD COLUMN comments TEXT NOT NULL DEFAULT '';
ALTER TABLE certificate_requests ADD COLUMN decided_by BIGINT;
ALTER TABLE certificate_requests ADD COLUMN decided_at BIGINT;
ALTER TABLE certificate_requests ADD COLUMN decision_message TEXT NOT NULL DEFAULT '';
ALTER TABLE certificate_requests ADD COLUMN certificate_id BIGINT;
CREATE INDEX certificate_requests_org ON certificate_requests (org_id, status);

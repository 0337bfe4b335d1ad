-- Notification rules (Settings → Email Notifications): what to tell whom, for which
-- organisation or departments. Mail itself goes through email_outbox, whose idempotency key
-- makes each notification go once per event and recipient.
CREATE TABLE notification_rules (
    id                INTEGER PRIMARY KEY,
    kind              TEXT NOT NULL,
    org_id            INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    departments       TEXT NOT NULL DEFAULT '',
    notify_requester  INTEGER NOT NULL DEFAULT 0,
    notify_external   INTEGER NOT NULL DEFAULT 0,
    notify_admins     INTEGER NOT NULL DEFAULT 0,
    addresses         TEXT NOT NULL DEFAULT '',
    days              TEXT NOT NULL DEFAULT '',
    created_by        INTEGER,
    created_at        INTEGER NOT NULL
);
CREATE INDEX notification_rules_kind ON notification_rules (kind);

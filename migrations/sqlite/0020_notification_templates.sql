-- Administrators' versions of notification templates (one per kind; the defaults are in
-- the code). An empty body_html means the HTML part is made from the text.
CREATE TABLE notification_templates (
    kind        TEXT PRIMARY KEY,
    subject     TEXT NOT NULL,
    body_text   TEXT NOT NULL,
    body_html   TEXT NOT NULL DEFAULT '',
    updated_by  INTEGER,
    updated_at  INTEGER NOT NULL
);

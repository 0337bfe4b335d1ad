-- Portal sign-in sessions, kept in the database so that any node can serve any request.
-- Only the SHA-256 of the session cookie is stored; the cookie exists only in the browser.
CREATE TABLE portal_sessions (
    token_hash   TEXT PRIMARY KEY,
    admin_id     INTEGER NOT NULL REFERENCES administrators (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX portal_sessions_admin ON portal_sessions (admin_id);

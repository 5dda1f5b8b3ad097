-- 0052: operator console sessions (issue 16, docs/console.md). A session is
-- opened by signing in with an API key and lives here, not in memory, so
-- that any instance behind a load balancer serves it. Only the SHA-256 of
-- the session id is stored (the id itself is the browser's cookie); the
-- CSRF token is random per session. A session ends on logout (row
-- deleted), after CARDHOST_CONSOLE_IDLE_TIMEOUT without a request, after
-- CARDHOST_CONSOLE_MAX_AGE, or when its API key is revoked (every read
-- joins the key and requires revoked_at IS NULL).
CREATE TABLE console_sessions (
    id_hash      bytea PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants(id),
    api_key_id   text NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL
);
CREATE INDEX console_sessions_last_seen ON console_sessions (last_seen_at);

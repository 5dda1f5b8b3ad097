-- 0040: webhooks (issue 14, docs/webhooks.md): endpoints, the event store
-- the Events API lists (30 days; the outbox keeps published rows only for
-- CARDHOST_OUTBOX_RETENTION), deliveries and their attempts.
--
-- The dispatcher moves outbox rows into webhook_events and creates one
-- delivery per subscribed endpoint in one transaction, then sets the
-- row's dispatched_at; the outbox prune deletes only rows both published
-- and dispatched. Adding a nullable column without a default rewrites
-- nothing; rows already in the outbox are ingested once (events listed,
-- no endpoint exists yet to deliver them to).
ALTER TABLE outbox ADD COLUMN dispatched_at timestamptz;
CREATE INDEX outbox_undispatched ON outbox (seq) WHERE dispatched_at IS NULL;

CREATE TABLE webhook_endpoints (
    id                     text PRIMARY KEY,
    tenant_id              text NOT NULL REFERENCES tenants(id),
    url                    text NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2048),
    description            text NOT NULL DEFAULT '',
    event_types            text[] NOT NULL CHECK (cardinality(event_types) BETWEEN 1 AND 32),
    disabled               boolean NOT NULL DEFAULT false,
    disabled_reason        text CHECK (disabled_reason IN ('manual', 'gone', 'failing')),
    disabled_at            timestamptz,
    -- the first failed attempt since the last delivered one
    failing_since          timestamptz,
    -- secrets are sealed by the HSM (softhsm SealSecret under this key):
    -- no clear secret at rest
    seal_key_ref           text NOT NULL,
    secret_sealed          bytea NOT NULL,
    previous_secret_sealed bytea,
    previous_secret_until  timestamptz,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, id);

CREATE TABLE webhook_events (
    id          text PRIMARY KEY,          -- the event id (UUIDv7), the webhook-id
    tenant_id   text NOT NULL,
    type        text NOT NULL,
    source      text NOT NULL,
    subject     text NOT NULL,
    time        timestamptz NOT NULL,
    data        json NOT NULL,             -- json, not jsonb: delivered byte for byte
    ingested_at timestamptz NOT NULL
);
CREATE INDEX webhook_events_tenant ON webhook_events (tenant_id, id);
CREATE INDEX webhook_events_subject ON webhook_events (tenant_id, subject, id);
CREATE INDEX webhook_events_time ON webhook_events (time);

CREATE TABLE webhook_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       text NOT NULL,
    endpoint_id     text NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id        text NOT NULL REFERENCES webhook_events(id) ON DELETE CASCADE,
    status          text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    -- when the next attempt is due; while one is in flight, when its
    -- lease ends (a crash returns it then)
    next_attempt_at timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, next_attempt_at, id) WHERE status = 'pending';
CREATE UNIQUE INDEX webhook_deliveries_one_pending ON webhook_deliveries (endpoint_id, event_id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id, endpoint_id);

CREATE TABLE webhook_attempts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    text NOT NULL,
    event_id     text NOT NULL REFERENCES webhook_events(id) ON DELETE CASCADE,
    endpoint_id  text NOT NULL,
    delivery_id  bigint NOT NULL,
    attempt      integer NOT NULL,
    attempted_at timestamptz NOT NULL,
    status_code  integer NOT NULL,
    duration_ms  bigint NOT NULL,
    error        text NOT NULL DEFAULT '',
    delivered    boolean NOT NULL
);
CREATE INDEX webhook_attempts_event ON webhook_attempts (event_id, id);

-- 0001: tenants, API keys, idempotency keys, transactional outbox.

CREATE TABLE tenants (
    id                text PRIMARY KEY,
    name              text NOT NULL,
    sandbox           boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL,
    -- RFC 9421 request signing: PEM public key and algorithm, when registered.
    signing_key_pem   text,
    signing_key_alg   text,
    signing_key_id    text,
    rate_limit_rps    integer
);

CREATE TABLE api_keys (
    id          text PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants(id),
    prefix      text NOT NULL,            -- first characters, shown in listings
    hash        bytea NOT NULL UNIQUE,    -- SHA-256 of the whole key
    scopes      text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

-- Idempotency-Key records (DESIGN.md "Idempotency"), kept 24 h.
CREATE TABLE idempotency_keys (
    tenant_id        text NOT NULL,
    key              text NOT NULL,
    method           text NOT NULL,
    path             text NOT NULL,
    request_hash     bytea NOT NULL,
    state            text NOT NULL CHECK (state IN ('in_flight', 'done')),
    response_status  integer,
    response_type    text,
    response_body    bytea,
    created_at       timestamptz NOT NULL,
    locked_until     timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);

-- Transactional outbox: one row per event, written in the same transaction
-- as the change it describes; the relay publishes in seq order and marks
-- rows sent.
CREATE TABLE outbox (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     text NOT NULL UNIQUE,
    type         text NOT NULL,
    source       text NOT NULL,
    subject      text NOT NULL,
    tenant_id    text NOT NULL,
    time         timestamptz NOT NULL,
    data         json NOT NULL,        -- json, not jsonb: published byte for byte
    sent_at      timestamptz
);
CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;

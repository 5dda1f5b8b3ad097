-- 0055: real-time authorization decisions (issue 14, points 4 and 5;
-- docs/webhooks.md, "Authorization decisions").
--
-- Who decided each authorization and how long the issuer's endpoint took.
-- ch_commit_group inserts records with jsonb_populate_record over the
-- whole row, so these columns travel in the record's JSON and the commit
-- function is not redefined. A constant default rewrites nothing; the
-- rows already stored were decided by the host.
ALTER TABLE authorizations
    ADD COLUMN decided_by text NOT NULL DEFAULT 'host'
        CHECK (decided_by IN ('host', 'issuer', 'issuer_timeout', 'issuer_error', 'stand_in')),
    ADD COLUMN issuer_latency_ms integer CHECK (issuer_latency_ms >= 0);

-- One decision endpoint per tenant; its secret sealed like the webhook
-- endpoints' (no clear secret at rest).
CREATE TABLE authorization_decision_endpoints (
    tenant_id      text PRIMARY KEY REFERENCES tenants(id),
    url            text NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2048),
    timeout_ms     integer NOT NULL CHECK (timeout_ms BETWEEN 100 AND 3000),
    default_action text NOT NULL CHECK (default_action IN ('APPROVE', 'DECLINE')),
    seal_key_ref   text NOT NULL,
    secret_sealed  bytea NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);

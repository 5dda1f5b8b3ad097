-- 0021: card issuance. Card orders, batches and their items, the embossing
-- queue, the card data audit trail and the sandbox simulator's sealed PINs;
-- on cards, the CVK version of the card's CVVs and the first day after the
-- printed expiry month (for the expiry scheduler).

ALTER TABLE cards ADD COLUMN cvk_version integer NOT NULL DEFAULT 0;
-- expiry is YYMM; a card is valid through the last day of that month (UTC).
ALTER TABLE cards ADD COLUMN printed_expiry_end date GENERATED ALWAYS AS
    ((make_date(2000 + substr(expiry, 1, 2)::int, substr(expiry, 3, 2)::int, 1) + interval '1 month')::date) STORED;
CREATE INDEX cards_printed_expiry ON cards (printed_expiry_end) WHERE status IN ('PROVISIONED', 'ACTIVE', 'FROZEN');
CREATE INDEX cards_tenant_cardholder ON cards (tenant_id, cardholder_id, id);
CREATE INDEX cards_tenant_product ON cards (tenant_id, product_id, id);

-- One order per card create (single, batch item, import): PintoPay's
-- order statuses with an issue_status sub-status. Batch orders exist
-- before their card (card_id NULL until the item is processed).
CREATE TABLE card_orders (
    id               text PRIMARY KEY,
    tenant_id        text NOT NULL REFERENCES tenants(id),
    type             text NOT NULL,
    status           text NOT NULL CHECK (status IN ('new', 'processing', 'completed', 'failed')),
    issue_status     text NOT NULL DEFAULT '',
    card_id          text REFERENCES cards(id),
    batch_id         text,
    batch_index      integer,
    reference_id     text NOT NULL DEFAULT '',
    last_error       text NOT NULL DEFAULT '',
    last_error_slug  text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    completed_at     timestamptz,
    failed_at        timestamptz
);
CREATE INDEX card_orders_tenant ON card_orders (tenant_id, id);
CREATE INDEX card_orders_tenant_status ON card_orders (tenant_id, status, id);
CREATE INDEX card_orders_card ON card_orders (card_id);
CREATE INDEX card_orders_batch ON card_orders (batch_id, batch_index);

-- Batches (QPay's request_id + card_batch_info): request_id is unique per
-- tenant; request_hash detects a reused request_id with other items.
CREATE TABLE card_batches (
    id            text PRIMARY KEY,
    tenant_id     text NOT NULL REFERENCES tenants(id),
    request_id    text NOT NULL,
    request_hash  bytea NOT NULL,
    status        text NOT NULL CHECK (status IN ('processing', 'completed')),
    total         integer NOT NULL,
    succeeded     integer NOT NULL DEFAULT 0,
    failed        integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    completed_at  timestamptz,
    UNIQUE (tenant_id, request_id)
);
CREATE INDEX card_batches_tenant ON card_batches (tenant_id, id);

-- One row per card request of a batch. request holds the card request
-- until the item is settled (it may carry an enciphered PIN block), then
-- is cleared. Workers lease pending items (locked_until) with
-- FOR UPDATE SKIP LOCKED.
CREATE TABLE card_batch_items (
    batch_id       text NOT NULL REFERENCES card_batches(id),
    idx            integer NOT NULL,
    tenant_id      text NOT NULL,
    order_id       text NOT NULL REFERENCES card_orders(id),
    status         text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    request        json,
    card_id        text,
    reference_id   text NOT NULL DEFAULT '',
    error_slug     text NOT NULL DEFAULT '',
    error_message  text NOT NULL DEFAULT '',
    errors         jsonb,
    attempts       integer NOT NULL DEFAULT 0,
    locked_until   timestamptz NOT NULL,
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (batch_id, idx)
);
CREATE INDEX card_batch_items_pending ON card_batch_items (created_at, batch_id, idx) WHERE status = 'pending';

-- The embossing queue: plastics waiting for (or retrying) delivery to
-- their embosser. The personalisation record is built and sealed when the
-- job runs, never stored.
CREATE TABLE embossing_jobs (
    card_id          text PRIMARY KEY REFERENCES cards(id),
    tenant_id        text NOT NULL,
    embosser_id      text NOT NULL,
    batch_ref        text NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    last_error       text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL
);
CREATE INDEX embossing_jobs_due ON embossing_jobs (next_attempt_at, created_at);

-- Audit trail of access to card data (reveal, sandbox export, sandbox PIN):
-- who, when, which card and request. Never the values.
CREATE TABLE card_audit (
    id          text PRIMARY KEY,
    tenant_id   text NOT NULL,
    card_id     text NOT NULL REFERENCES cards(id),
    action      text NOT NULL,
    api_key_id  text NOT NULL DEFAULT '',
    request_id  text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL
);
CREATE INDEX card_audit_card ON card_audit (tenant_id, card_id, at);

-- Sandbox only: the last PIN set through the simulator's clear-PIN call,
-- sealed under the PAN-DEK bound to the card, so the sandbox personalisation
-- export can give it to the terminal simulator. Deleted by a real PIN set.
CREATE TABLE card_sandbox_pins (
    card_id     text PRIMARY KEY REFERENCES cards(id),
    tenant_id   text NOT NULL,
    sealed      bytea NOT NULL,
    updated_at  timestamptz NOT NULL
);

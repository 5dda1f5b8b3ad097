-- 0020: cards. One row per card: what the issuer set (controls, status...),
-- the card data references (sealed PAN, keyed PAN index, key references) and
-- the authorization state the host keeps (spend counters, ATC, PIN tries).
-- version increases with every change, so the authorization host can detect
-- that the card it decided on changed underneath it.

CREATE TABLE cards (
    id                   text PRIMARY KEY,
    tenant_id            text NOT NULL REFERENCES tenants(id),
    product_id           text,
    cardholder_id        text,
    reference_id         text,
    reference_number     text NOT NULL,
    type                 text NOT NULL,
    status               text NOT NULL,
    status_reason        text NOT NULL DEFAULT '',
    printed_name         text NOT NULL DEFAULT '',
    currency             text NOT NULL,
    card_limit           bigint,
    spending_controls    jsonb NOT NULL DEFAULT '[]',
    risk_controls        jsonb NOT NULL DEFAULT '{}',
    usage_type           text NOT NULL DEFAULT 'NORMAL',
    auto_cancel_trigger  text NOT NULL DEFAULT '',
    expiry_at            timestamptz,
    pin_length           integer NOT NULL DEFAULT 4,
    metadata             jsonb NOT NULL DEFAULT '{}',
    billing_address      jsonb,
    shipping_address     jsonb,
    embosser_id          text NOT NULL DEFAULT '',
    layout_id            text NOT NULL DEFAULT '',
    embossing_status     text NOT NULL DEFAULT '',
    template_id          text NOT NULL DEFAULT '',

    -- card data (the PAN only sealed and indexed)
    pan_cipher           bytea NOT NULL,
    pan_index            bytea NOT NULL,
    bin                  text NOT NULL,
    last4                text NOT NULL,
    pan_length           integer NOT NULL,
    expiry               text NOT NULL,          -- YYMM
    psn                  text NOT NULL DEFAULT '00',
    service_code         text NOT NULL DEFAULT '',
    network              text NOT NULL,
    cvn                  integer NOT NULL DEFAULT 0,
    imk_ac_ref           text NOT NULL DEFAULT '',
    cvk_ref              text NOT NULL DEFAULT '',
    pvk_ref              text NOT NULL DEFAULT '',
    pin_method           text NOT NULL DEFAULT '',
    pvki                 text NOT NULL DEFAULT '',
    pin_verify           text NOT NULL DEFAULT '',
    pin_try_max          integer NOT NULL DEFAULT 3,
    imported             boolean NOT NULL DEFAULT false,

    -- authorization state (host ledger)
    spend                jsonb NOT NULL DEFAULT '{}',  -- counter key -> {window, amount, count}
    total_spent          bigint NOT NULL DEFAULT 0,    -- against card_limit
    last_atc             integer NOT NULL DEFAULT -1,
    pin_tries            integer NOT NULL DEFAULT 0,
    used_at              timestamptz,                  -- one-time cards: first approval/capture

    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    version              bigint NOT NULL DEFAULT 1
);
-- The PAN index is unique across tenants: the ISO host finds a card by PAN
-- alone, and one PAN is one card.
CREATE UNIQUE INDEX cards_pan_index ON cards (pan_index);
CREATE UNIQUE INDEX cards_reference_id ON cards (tenant_id, reference_id) WHERE reference_id IS NOT NULL;
CREATE INDEX cards_tenant_created ON cards (tenant_id, id);
CREATE INDEX cards_tenant_status ON cards (tenant_id, status, id);
CREATE INDEX cards_tenant_last4 ON cards (tenant_id, last4);
CREATE INDEX cards_expiry_at ON cards (expiry_at) WHERE expiry_at IS NOT NULL AND status IN ('PROVISIONED', 'ACTIVE', 'FROZEN');

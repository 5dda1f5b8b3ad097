-- 0011: the issuing catalog (data prep templates, embossers, card layouts,
-- card products, cardholders) and issuer certificates. Every table is owned
-- by a tenant; references between them carry the tenant id, so a product can
-- never point at another tenant's template. Ids sort by creation time, so
-- lists page on (tenant_id, id).

CREATE TABLE data_prep_templates (
    id             text PRIMARY KEY,
    tenant_id      text NOT NULL REFERENCES tenants(id),
    name           text NOT NULL,
    description    text NOT NULL DEFAULT '',
    network        text NOT NULL,
    iin            text NOT NULL,
    pan_length     integer NOT NULL,
    cvn            integer NOT NULL,
    aid            text NOT NULL,
    service_code   text NOT NULL,
    imk_ac_ref     text NOT NULL,
    imk_smi_ref    text NOT NULL DEFAULT '',
    imk_smc_ref    text NOT NULL DEFAULT '',
    cvk_ref        text NOT NULL,
    pvk_ref        text NOT NULL DEFAULT '',
    pin_method     text NOT NULL DEFAULT '',
    pvki           text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL,
    UNIQUE (tenant_id, id)
);

CREATE TABLE embossers (
    id            text PRIMARY KEY,
    tenant_id     text NOT NULL REFERENCES tenants(id),
    name          text NOT NULL,
    type          text NOT NULL,
    kek_ref       text NOT NULL,
    manual_issue  boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL,
    UNIQUE (tenant_id, id)
);

CREATE TABLE card_layouts (
    id           text PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants(id),
    layout       text NOT NULL,
    name         text NOT NULL,
    description  text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    UNIQUE (tenant_id, id)
);

CREATE TABLE card_products (
    id                          text PRIMARY KEY,
    tenant_id                   text NOT NULL REFERENCES tenants(id),
    name                        text NOT NULL,
    description                 text NOT NULL DEFAULT '',
    layout_id                   text NOT NULL,
    template_id                 text NOT NULL,
    default_embosser_id         text NOT NULL,
    currency                    text NOT NULL,
    card_type                   text NOT NULL,
    status                      text NOT NULL CHECK (status IN ('ACTIVE', 'INACTIVE')),
    validity_months             integer NOT NULL CHECK (validity_months BETWEEN 1 AND 120),
    card_limit                  bigint,
    spending_controls           jsonb NOT NULL DEFAULT '[]',
    risk_controls               jsonb NOT NULL DEFAULT '{}',
    required_cardholder_fields  text[] NOT NULL DEFAULT '{}',
    require_kyc                 boolean NOT NULL DEFAULT false,
    created_at                  timestamptz NOT NULL,
    updated_at                  timestamptz NOT NULL,
    FOREIGN KEY (tenant_id, layout_id) REFERENCES card_layouts (tenant_id, id),
    FOREIGN KEY (tenant_id, template_id) REFERENCES data_prep_templates (tenant_id, id),
    FOREIGN KEY (tenant_id, default_embosser_id) REFERENCES embossers (tenant_id, id)
);
CREATE INDEX card_products_tenant_status ON card_products (tenant_id, status, id);

CREATE TABLE cardholders (
    id           text PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants(id),
    first_name   text NOT NULL,
    last_name    text NOT NULL,
    email        text NOT NULL DEFAULT '',
    phone        text NOT NULL DEFAULT '',
    birth_date   date,
    nationality  text NOT NULL DEFAULT '',
    address      jsonb,
    kyc_status   text NOT NULL CHECK (kyc_status IN ('PENDING', 'VERIFIED', 'REJECTED')),
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX cardholders_tenant ON cardholders (tenant_id, id);
CREATE INDEX cardholders_tenant_kyc ON cardholders (tenant_id, kyc_status, id);

-- Issuer certificates signed by the platform CA from issuers' CSRs. The
-- issuer's public key is known under hsm_key_reference (shared by the
-- certificates of one key); the card domain reads it for PIN set.
CREATE TABLE certificates (
    id                      text PRIMARY KEY,
    tenant_id               text NOT NULL REFERENCES tenants(id),
    hsm_key_reference       text NOT NULL,
    serial                  text NOT NULL,
    subject                 text NOT NULL,
    fingerprint             text NOT NULL,
    public_key_fingerprint  text NOT NULL,
    public_key_pem          text NOT NULL,
    certificate_pem         text NOT NULL,
    not_before              timestamptz NOT NULL,
    not_after               timestamptz NOT NULL,
    status                  text NOT NULL CHECK (status IN ('ACTIVE', 'REVOKED')),
    created_at              timestamptz NOT NULL,
    -- when certificate.expiring was written to the outbox (once)
    expiring_notified_at    timestamptz
);
CREATE INDEX certificates_tenant ON certificates (tenant_id, id);
CREATE INDEX certificates_key_ref ON certificates (tenant_id, hsm_key_reference, not_after);
CREATE INDEX certificates_public_key ON certificates (tenant_id, public_key_fingerprint);
CREATE INDEX certificates_expiring ON certificates (not_after) WHERE expiring_notified_at IS NULL;

-- 0010: platform key roles, per-tenant key roles and acquirers.

-- Which HSM key plays each platform role (pan-dek, pan-idx, ca, ecdh);
-- read at start into issuance.SystemKeys. `cardhost keys assign` writes it.
CREATE TABLE key_roles (
    role         text PRIMARY KEY CHECK (role IN ('pan-dek', 'pan-idx', 'ca', 'ecdh')),
    ref          text NOT NULL,
    assigned_at  timestamptz NOT NULL
);

-- Keys a tenant was given by sandbox seeding (imk-ac, imk-smi, imk-smc, cvk,
-- pvk, kek), so that a restart reuses them instead of creating more.
CREATE TABLE tenant_key_roles (
    tenant_id    text NOT NULL REFERENCES tenants(id),
    role         text NOT NULL,
    ref          text NOT NULL,
    assigned_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, role)
);

-- Acquirers that send ISO 8583 traffic, by the value of their field 32, and
-- their zone keys (PIN blocks in field 52 arrive under zpk_ref).
CREATE TABLE acquirers (
    id          text PRIMARY KEY CHECK (id ~ '^[0-9]{1,11}$'),
    name        text NOT NULL,
    zpk_ref     text NOT NULL,
    zak_ref     text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL
);

-- Sandbox tenants whose catalog was seeded (one row each, written in the
-- same transaction as the seeded objects).
CREATE TABLE sandbox_seeds (
    tenant_id   text PRIMARY KEY REFERENCES tenants(id),
    seeded_at   timestamptz NOT NULL
);

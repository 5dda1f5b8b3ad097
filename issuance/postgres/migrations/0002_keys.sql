-- 0002: HSM key records. Metadata in the clear; key material only wrapped
-- (AES-256-GCM under the master key, identity bound as AAD).
CREATE TABLE hsm_keys (
    ref           text NOT NULL,
    version       integer NOT NULL CHECK (version >= 1),
    type          text NOT NULL,
    usage         text NOT NULL,
    spec          text NOT NULL,
    kcv           text NOT NULL,
    tenant_id     text NOT NULL DEFAULT '',
    label         text NOT NULL DEFAULT '',
    status        text NOT NULL,
    created_at    timestamptz NOT NULL,
    activated_at  timestamptz NOT NULL,
    expires_at    timestamptz,
    usable_until  timestamptz,
    master_kcv    text NOT NULL,
    wrapped       bytea NOT NULL,
    PRIMARY KEY (ref, version)
);
CREATE INDEX hsm_keys_type ON hsm_keys (type, tenant_id);

-- 0060: a tenant's own settings (issue 15, docs/api.md "The tenant"):
-- its idempotency policy (optional: today's behaviour; required: every
-- idempotent operation needs an Idempotency-Key) and the currency of a
-- card product created without one.
ALTER TABLE tenants
    ADD COLUMN idempotency_policy text NOT NULL DEFAULT 'optional'
        CHECK (idempotency_policy IN ('optional', 'required')),
    ADD COLUMN default_currency text NOT NULL DEFAULT 'USD'
        CHECK (default_currency ~ '^[A-Z]{3}$');

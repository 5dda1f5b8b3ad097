-- 0067: who acted, when a parent tenant's API key acts for one of its
-- sub-accounts (x-on-behalf-of): card_audit rows belong to the card's
-- tenant (the sub-account) and name the key (api_key_id); api_key_tenant_id
-- is the tenant that key belongs to, '' when the card's own tenant acted.
ALTER TABLE card_audit ADD COLUMN api_key_tenant_id text NOT NULL DEFAULT '';


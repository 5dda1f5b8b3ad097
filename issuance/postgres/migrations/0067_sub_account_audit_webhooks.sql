-- 0067: sub-accounts, continued. Who acted, when a parent tenant's API key acts for one of its
-- sub-accounts (x-on-behalf-of): card_audit rows belong to the card's
-- tenant (the sub-account) and name the key (api_key_id); api_key_tenant_id
-- is the tenant that key belongs to, '' when the card's own tenant acted.
ALTER TABLE card_audit ADD COLUMN api_key_tenant_id text NOT NULL DEFAULT '';

-- A parent's webhook endpoints receive its sub-accounts' events (as UQPay's
-- master account receives its sub-accounts' webhooks; docs/webhooks.md,
-- Deliveries): whenever events enter the event store (the dispatcher's
-- ingest), a delivery is added to each enabled endpoint of the event
-- tenant's parent that subscribes to its type and existed when it
-- happened. The delivery is the endpoint's tenant's. One statement per
-- ingest, whatever the ingest's shape; nothing for tenants without parent.
CREATE FUNCTION ch_webhook_parent_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, status, next_attempt_at, created_at, updated_at)
    SELECT e.tenant_id, e.id, ev.id, 'pending', ev.ingested_at, ev.ingested_at, ev.ingested_at
      FROM new_events ev
      JOIN tenants t ON t.id = ev.tenant_id AND t.parent_id IS NOT NULL
      JOIN webhook_endpoints e ON e.tenant_id = t.parent_id AND NOT e.disabled AND e.created_at <= ev.time
       AND (ev.type = ANY (e.event_types) OR split_part(ev.type, '.', 1) || '.*' = ANY (e.event_types))
    ON CONFLICT (endpoint_id, event_id) WHERE status = 'pending' DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER webhook_events_parent_deliveries AFTER INSERT ON webhook_events
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION ch_webhook_parent_deliveries();

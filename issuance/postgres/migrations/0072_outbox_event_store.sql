-- 0072: the outbox is the event store (issue 17, docs/PERFORMANCE.md).
--
-- The webhook dispatcher copied every event from the outbox into
-- webhook_events (0040) for the Events API: a second row of the same
-- size per event, with four indexes. The outbox keeps its rows as long
-- as the Events API lists them (30 days; CARDHOST_OUTBOX_RETENTION may
-- keep them longer) and takes the two indexes the API reads by; the
-- dispatcher's ingest only creates deliveries. webhook_events becomes a
-- view of the outbox under its old column names, read-only (the Events
-- API's reads and the deliveries' joins go through it).

-- Events the outbox has already pruned (published and dispatched more
-- than CARDHOST_OUTBOX_RETENTION ago) go back into it below every seq,
-- so below both cursors: handled.
INSERT INTO outbox (seq, event_id, type, source, subject, tenant_id, time, data, xid) OVERRIDING SYSTEM VALUE
SELECT coalesce((SELECT min(seq) FROM outbox), 1) - row_number() OVER (ORDER BY w.id DESC),
       w.id, w.type, w.source, w.subject, w.tenant_id, w.time, w.data, '0'::xid8
  FROM webhook_events w WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.event_id = w.id);

ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_event_id_fkey;
ALTER TABLE webhook_attempts DROP CONSTRAINT webhook_attempts_event_id_fkey;
DROP TABLE webhook_events;

CREATE INDEX outbox_tenant_event ON outbox (tenant_id, event_id);
CREATE INDEX outbox_tenant_subject ON outbox (tenant_id, subject, event_id);

CREATE VIEW webhook_events AS
    SELECT event_id AS id, tenant_id, type, source, subject, time, data FROM outbox;

-- Read-only: a write through the view would change outbox rows a reader
-- may not have handled.
CREATE FUNCTION ch_webhook_events_read_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'webhook_events is a read-only view of the outbox (migration 0072)' USING ERRCODE = 'CH006';
END
$$;
CREATE TRIGGER webhook_events_read_only INSTEAD OF INSERT OR UPDATE OR DELETE ON webhook_events
    FOR EACH ROW EXECUTE FUNCTION ch_webhook_events_read_only();

-- The ingest (0070) without the copy: deliveries straight from the read.
CREATE OR REPLACE FUNCTION ch_webhook_ingest(p_limit integer, p_now timestamptz) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    c   outbox_cursors;
    v_n integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('cardhost.outbox_cursors.webhooks'));
    SELECT * INTO c FROM outbox_cursors WHERE name = 'webhooks';
    WITH r AS MATERIALIZED (
        SELECT * FROM ch_outbox_read(c.low, c.high, c.pending, c.bounds, p_limit)
    ), deliveries AS (
        INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, status, next_attempt_at, created_at, updated_at)
        SELECT ev.tenant_id, e.id, ev.event_id, 'pending', p_now, p_now, p_now
          FROM r ev JOIN webhook_endpoints e ON e.tenant_id = ev.tenant_id AND NOT e.disabled AND e.created_at <= ev.time
           AND (ev.type = ANY (e.event_types) OR split_part(ev.type, '.', 1) || '.*' = ANY (e.event_types))
         WHERE ev.seq IS NOT NULL
    ), moved AS (
        UPDATE outbox_cursors SET low = r.next_low, high = r.next_high, pending = r.next_pending, bounds = r.next_bounds, updated_at = p_now
          FROM r WHERE outbox_cursors.name = 'webhooks' AND r.seq IS NULL
           AND (r.next_low, r.next_high, r.next_pending, r.next_bounds) IS DISTINCT FROM (c.low, c.high, c.pending, c.bounds)
    )
    SELECT count(*) INTO v_n FROM r WHERE r.seq IS NOT NULL;
    RETURN v_n;
END
$$;

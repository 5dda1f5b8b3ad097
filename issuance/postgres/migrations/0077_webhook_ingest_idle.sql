-- 0077: the webhook ingest reads no outbox row while no endpoint is
-- enabled (issue 17).
--
-- ch_webhook_ingest read every new outbox row (data included) to join it
-- with the endpoints, also when there were none: under the bench's load
-- that was about 10 µs of PostgreSQL time per decision for a tenant set
-- without a single endpoint (pg_stat_statements). With no enabled
-- endpoint it now only moves its cursor to the horizon's top, keeping the
-- transactions still running as pending, exactly as an empty join would
-- have left it (an endpoint receives only events from its creation on:
-- e.created_at <= ev.time). Otherwise it is 0074's.

CREATE OR REPLACE FUNCTION ch_webhook_ingest(p_limit integer, p_now timestamptz) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    c   outbox_cursors;
    h   record;
    v_n integer;
    v_high bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('cardhost.outbox_cursors.webhooks'));
    SELECT * INTO c FROM outbox_cursors WHERE name = 'webhooks';
    SELECT * INTO h FROM ch_outbox_horizon();
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE NOT disabled) THEN
        -- No endpoint to deliver to: move the cursor past every row below
        -- the horizon's top without reading one. Its transactions still
        -- running stay pending (their rows, when they commit, are read as
        -- late rows), as ch_outbox_read leaves them; none of their rows
        -- was read, so none is excluded.
        v_high := greatest(c.high, h.top);
        WITH run AS (
            SELECT x.xid, coalesce(p.bound, c.high) AS bound
              FROM unnest(h.running) AS x(xid)
              LEFT JOIN unnest(c.pending, c.bounds) AS p(xid, bound) ON p.xid::xid = x.xid::xid
        ), nc AS (
            SELECT least(coalesce((SELECT min(r.bound) FROM run r), v_high), v_high) AS low, v_high AS high,
                   coalesce((SELECT array_agg(r.xid ORDER BY r.xid) FROM run r), '{}') AS pending,
                   coalesce((SELECT array_agg(r.bound ORDER BY r.xid) FROM run r), '{}') AS bounds
        )
        UPDATE outbox_cursors SET low = nc.low, high = nc.high, pending = nc.pending, bounds = nc.bounds, updated_at = p_now
          FROM nc WHERE outbox_cursors.name = 'webhooks'
           AND (nc.low, nc.high, nc.pending, nc.bounds) IS DISTINCT FROM (c.low, c.high, c.pending, c.bounds);
        RETURN 0;
    END IF;
    WITH r AS MATERIALIZED (
        SELECT * FROM ch_outbox_read(c.low, c.high, c.pending, c.bounds, p_limit, h.top, h.running)
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

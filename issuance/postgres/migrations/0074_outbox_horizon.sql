-- 0074: the outbox readers' cursors see every transaction that may still
-- add a row below what they read (fixes 0070).
--
-- 0070 took a read's pending transactions from its snapshot's xip. A
-- snapshot lists only transactions with an xid below its xmax (the latest
-- completed xid + 1): a transaction that took its xid and a seq, and then
-- waited while one with a smaller xid and a larger seq committed, was in
-- progress, invisible and not listed. The read passed its seq, and the
-- row was never published (TestCrashConsistency: an approval's event not
-- on Kafka).
--
-- Now a read first takes its horizon (ch_outbox_horizon), in its own
-- statement, before the statement that reads the rows: the last seq
-- handed out, then the xids of every backend of this database that holds
-- one (pg_stat_get_activity). A row with a seq up to that top was given
-- its seq before the horizon, by a transaction that already had its xid
-- (0073); if it is not visible to the read's later snapshot, that
-- transaction was still in progress at the horizon, so it is listed. The
-- read takes fresh rows only up to the top, and the listed transactions
-- are its pending ones, each with its bound as before. Pending xids are
-- kept as their 32-bit values (what backends report) in the xid8[]
-- column, and rows compared by o.xid::xid.
--
-- ch_outbox_pending does both steps for the relay in one call: a VOLATILE
-- function takes a new snapshot for each statement, so its read comes
-- after its horizon.

CREATE FUNCTION ch_outbox_horizon(OUT top bigint, OUT running xid8[]) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- The top first, then the running transactions: one that had its
    -- xid when the top was read is still listed if it has not ended.
    SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END INTO top FROM outbox_seq_next;
    SELECT coalesce(array_agg(DISTINCT a.backend_xid::text::xid8 ORDER BY a.backend_xid::text::xid8), '{}') INTO running
      FROM pg_stat_get_activity(NULL) a
     WHERE a.backend_xid IS NOT NULL AND a.datid = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database());
END
$$;

DROP FUNCTION ch_outbox_read(bigint, bigint, xid8[], bigint[], integer);

-- ch_outbox_read reads, under its statement's snapshot, what a cursor's
-- reader has not handled: the now visible rows of its pending
-- transactions (seq in (low, high]), then up to p_limit rows above high
-- and at most p_top; its last row (seq NULL) is the cursor once they are
-- handled, with p_running (the horizon's transactions) as pending.
CREATE FUNCTION ch_outbox_read(p_low bigint, p_high bigint, p_pending xid8[], p_bounds bigint[], p_limit integer,
                               p_top bigint, p_running xid8[])
RETURNS TABLE (seq bigint, event_id text, type text, source text, subject text, tenant_id text, "time" timestamptz, data json,
               next_low bigint, next_high bigint, next_pending xid8[], next_bounds bigint[])
LANGUAGE sql STABLE AS $$
    WITH late AS (
        SELECT o.seq, o.event_id, o.type, o.source, o.subject, o.tenant_id, o.time, o.data, o.xid
          FROM outbox o WHERE o.seq > p_low AND o.seq <= p_high AND o.xid::xid = ANY (p_pending::xid[])
    ), fresh AS (
        SELECT o.seq, o.event_id, o.type, o.source, o.subject, o.tenant_id, o.time, o.data, o.xid
          FROM outbox o WHERE o.seq > p_high AND o.seq <= p_top ORDER BY o.seq LIMIT p_limit
    ), rows AS (
        SELECT * FROM late UNION ALL SELECT * FROM fresh
    ), top AS (
        SELECT greatest(p_high, (SELECT max(f.seq) FROM fresh f)) AS high
    ), run AS (
        -- A horizon transaction whose rows this read took has ended (its
        -- rows are visible): it is pending no more, or they would be read
        -- again.
        SELECT x.xid, coalesce(p.bound, p_high) AS bound
          FROM unnest(p_running) AS x(xid)
          LEFT JOIN unnest(p_pending, p_bounds) AS p(xid, bound) ON p.xid::xid = x.xid::xid
         WHERE NOT EXISTS (SELECT 1 FROM rows r WHERE r.xid::xid = x.xid::xid)
    )
    SELECT r.seq, r.event_id, r.type, r.source, r.subject, r.tenant_id, r.time, r.data, NULL::bigint, NULL::bigint, NULL::xid8[], NULL::bigint[]
      FROM rows r
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           least(coalesce((SELECT min(x.bound) FROM run x), t.high), t.high), t.high,
           coalesce((SELECT array_agg(x.xid ORDER BY x.xid) FROM run x), '{}'),
           coalesce((SELECT array_agg(x.bound ORDER BY x.xid) FROM run x), '{}')
      FROM top t
    ORDER BY 1 NULLS LAST
$$;

-- ch_outbox_pending is the relay's read: the horizon, then the read.
CREATE FUNCTION ch_outbox_pending(p_low bigint, p_high bigint, p_pending xid8[], p_bounds bigint[], p_limit integer)
RETURNS TABLE (seq bigint, event_id text, type text, source text, subject text, tenant_id text, "time" timestamptz, data json,
               next_low bigint, next_high bigint, next_pending xid8[], next_bounds bigint[])
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    h record;
BEGIN
    SELECT * INTO h FROM ch_outbox_horizon();
    RETURN QUERY SELECT * FROM ch_outbox_read(p_low, p_high, p_pending, p_bounds, p_limit, h.top, h.running);
END
$$;

CREATE OR REPLACE FUNCTION ch_webhook_ingest(p_limit integer, p_now timestamptz) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    c   outbox_cursors;
    h   record;
    v_n integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('cardhost.outbox_cursors.webhooks'));
    SELECT * INTO c FROM outbox_cursors WHERE name = 'webhooks';
    SELECT * INTO h FROM ch_outbox_horizon();
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

-- ch_outbox_backlog (0070) compares pending xids the same way.
CREATE OR REPLACE FUNCTION ch_outbox_backlog(p_name text, OUT n bigint, OUT oldest timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT count(*), min(o.time) FROM outbox o, outbox_cursors c
     WHERE c.name = p_name AND o.seq > c.low AND (o.seq > c.high OR o.xid::xid = ANY (c.pending::xid[]))
$$;

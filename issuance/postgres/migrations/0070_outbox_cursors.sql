-- 0070: the outbox is append-only (issue 17, docs/PERFORMANCE.md). Its
-- readers, the Kafka relay and the webhook dispatcher, no longer update
-- each row they handle (sent_at, dispatched_at: two non-HOT updates per
-- event, each writing every index of the row again, and two partial
-- indexes); each keeps a cursor instead, one row in outbox_cursors.
--
-- A cursor cannot be a plain "handled up to seq N": seqs are allocated at
-- insert and transactions commit out of seq order, so a row below N may
-- become visible after the reader passed it. Every row therefore records
-- its transaction (xid, pg_current_xact_id()), and a cursor is
--
--   low      every row with seq <= low is handled (or will never exist);
--   high     every row with seq <= high that was visible is handled;
--   pending  the transactions in progress at the last read (the xip of
--            its snapshot): the only ones that can still add rows at or
--            below high, each with its bound, the high of the read before
--            it was first seen (its rows are all above that);
--
-- and a read (ch_outbox_read) returns, under one snapshot, the rows of
-- those transactions that are now visible (seq in (low, high]), then the
-- next rows above high, and the cursor once they are handled: high the
-- largest seq read, pending the snapshot's xip with their bounds, low the
-- least bound (or high when nothing is in progress). Why nothing is missed:
-- a row not visible at a read belongs to a transaction in progress then
-- (listed in xip: a transaction that writes has an xid); one that starts
-- writing after a read allocates seqs above everything visible at it. Why
-- per-card order holds: a card's events are written under its row lock,
-- so of two events of one card the later has the larger seq and commits
-- after the earlier; when the later is read the earlier is visible too,
-- and rows go out in seq order (the late rows of a pass are of other
-- subjects than anything published before them).

ALTER TABLE outbox ADD COLUMN xid xid8;

-- Rows already there: xid 1 marks a row the relay has not published, 2 a
-- row the dispatcher has not ingested, 3 both, 0 neither; the cursors list
-- those as pending (no live transaction has such an xid: normal ones start
-- at 3 and this cluster's xid 3 ended at initdb), so the first read of
-- each takes its rows once more and forgets the markers.
UPDATE outbox SET xid = ((CASE WHEN sent_at IS NULL THEN 1 ELSE 0 END) + (CASE WHEN dispatched_at IS NULL THEN 2 ELSE 0 END))::text::xid8;
ALTER TABLE outbox ALTER COLUMN xid SET DEFAULT pg_current_xact_id(), ALTER COLUMN xid SET NOT NULL;

CREATE TABLE outbox_cursors (
    name        text PRIMARY KEY,      -- relay, webhooks
    low         bigint NOT NULL,
    high        bigint NOT NULL,
    pending     xid8[] NOT NULL,
    bounds      bigint[] NOT NULL,     -- pending[i]'s rows are above bounds[i]
    updated_at  timestamptz NOT NULL,
    CHECK (low <= high AND cardinality(pending) = cardinality(bounds))
) WITH (fillfactor = 20);              -- updated once a batch: keep it heap-only

INSERT INTO outbox_cursors (name, low, high, pending, bounds, updated_at)
SELECT c.name,
       least(coalesce(min(o.seq) FILTER (WHERE o.xid::text IN (c.a, '3')) - 1, max(o.seq), 0), coalesce(max(o.seq), 0)),
       coalesce(max(o.seq), 0), ARRAY[c.a::xid8, '3'::xid8], ARRAY[0::bigint, 0::bigint], now()
  FROM (VALUES ('relay', '1'), ('webhooks', '2')) AS c(name, a) LEFT JOIN outbox o ON true
 GROUP BY c.name, c.a;

DROP INDEX outbox_unsent;
DROP INDEX outbox_undispatched;
ALTER TABLE outbox DROP COLUMN sent_at, DROP COLUMN dispatched_at;

-- ch_outbox_read is the one read of a cursor's reader (above): the rows it
-- has not handled, in seq order, at most p_limit of them above high, and a
-- last row (seq NULL) with the cursor to store once they are handled.
CREATE FUNCTION ch_outbox_read(p_low bigint, p_high bigint, p_pending xid8[], p_bounds bigint[], p_limit integer)
RETURNS TABLE (seq bigint, event_id text, type text, source text, subject text, tenant_id text, "time" timestamptz, data json,
               next_low bigint, next_high bigint, next_pending xid8[], next_bounds bigint[])
LANGUAGE sql STABLE AS $$
    WITH late AS (
        SELECT o.seq, o.event_id, o.type, o.source, o.subject, o.tenant_id, o.time, o.data
          FROM outbox o WHERE o.seq > p_low AND o.seq <= p_high AND o.xid = ANY (p_pending)
    ), fresh AS (
        SELECT o.seq, o.event_id, o.type, o.source, o.subject, o.tenant_id, o.time, o.data
          FROM outbox o WHERE o.seq > p_high ORDER BY o.seq LIMIT p_limit
    ), top AS (
        SELECT greatest(p_high, (SELECT max(f.seq) FROM fresh f)) AS high
    ), xip AS (
        -- Transactions of other databases of the cluster write no row here:
        -- those known to be elsewhere are left out (one that ended since the
        -- snapshot is not listed any more, and stays: it may have been ours).
        SELECT x.xid, coalesce(p.bound, p_high) AS bound
          FROM pg_snapshot_xip(pg_current_snapshot()) AS x(xid)
          LEFT JOIN unnest(p_pending, p_bounds) AS p(xid, bound) ON p.xid = x.xid
         WHERE NOT EXISTS (SELECT 1 FROM pg_stat_get_activity(NULL) a
                            WHERE a.backend_xid = x.xid::xid AND a.datid <> (SELECT d.oid FROM pg_database d WHERE d.datname = current_database()))
    )
    SELECT r.*, NULL::bigint, NULL::bigint, NULL::xid8[], NULL::bigint[]
      FROM (SELECT * FROM late UNION ALL SELECT * FROM fresh) r
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           least(coalesce((SELECT min(x.bound) FROM xip x), t.high), t.high), t.high,
           coalesce((SELECT array_agg(x.xid ORDER BY x.xid) FROM xip x), '{}'),
           coalesce((SELECT array_agg(x.bound ORDER BY x.xid) FROM xip x), '{}')
      FROM top t
    ORDER BY 1 NULLS LAST
$$;

-- ch_outbox_backlog counts the rows a cursor's reader has not handled (as
-- far as its stored cursor says) and the time of the oldest.
CREATE FUNCTION ch_outbox_backlog(p_name text, OUT n bigint, OUT oldest timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT count(*), min(o.time) FROM outbox o, outbox_cursors c
     WHERE c.name = p_name AND o.seq > c.low AND (o.seq > c.high OR o.xid = ANY (c.pending))
$$;

-- The dispatcher's ingest (issuance/webhook/postgres) in one transaction:
-- instances take turns (a transaction advisory lock: no xid, no row lock
-- written), the cursor read after the lock, a read of the outbox, the events stored
-- (a row read twice is stored once), a delivery per enabled endpoint of
-- the event's tenant that subscribes to its type and existed when it
-- happened, and the cursor moved on (written only when it moved).
CREATE FUNCTION ch_webhook_ingest(p_limit integer, p_now timestamptz) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    c   outbox_cursors;
    v_n integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('cardhost.outbox_cursors.webhooks'));
    SELECT * INTO c FROM outbox_cursors WHERE name = 'webhooks';
    WITH r AS MATERIALIZED (
        SELECT * FROM ch_outbox_read(c.low, c.high, c.pending, c.bounds, p_limit)
    ), stored AS (
        INSERT INTO webhook_events (id, tenant_id, type, source, subject, time, data, ingested_at)
        SELECT r.event_id, r.tenant_id, r.type, r.source, r.subject, r.time, r.data, p_now FROM r WHERE r.seq IS NOT NULL
        ON CONFLICT (id) DO NOTHING RETURNING id, tenant_id, type, time
    ), deliveries AS (
        INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, status, next_attempt_at, created_at, updated_at)
        SELECT ev.tenant_id, e.id, ev.id, 'pending', p_now, p_now, p_now
          FROM stored ev JOIN webhook_endpoints e ON e.tenant_id = ev.tenant_id AND NOT e.disabled AND e.created_at <= ev.time
           AND (ev.type = ANY (e.event_types) OR split_part(ev.type, '.', 1) || '.*' = ANY (e.event_types))
    ), moved AS (
        UPDATE outbox_cursors SET low = r.next_low, high = r.next_high, pending = r.next_pending, bounds = r.next_bounds, updated_at = p_now
          FROM r WHERE outbox_cursors.name = 'webhooks' AND r.seq IS NULL
           AND (r.next_low, r.next_high, r.next_pending, r.next_bounds) IS DISTINCT FROM (c.low, c.high, c.pending, c.bounds)
    )
    SELECT count(*) INTO v_n FROM r WHERE r.seq IS NOT NULL;
    RETURN v_n;
END
$$;

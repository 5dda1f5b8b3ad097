-- 0079: ch_commit_group's card guard in fewer, simpler statements (issue
-- 17, docs/PERFORMANCE.md).
--
-- 0075 decided which decisions go ahead in one statement of six CTEs: the
-- items materialized, the duplicates as a CTE each later branch anti-joined,
-- and the outcome of each item found by two EXISTS over CTE scans (one
-- scan of every decision going ahead per item: quadratic in the group).
-- The same rules now read arrays: v_go (neither a duplicate, by the unique
-- match key, nor short, by its funding account) is one statement; the
-- card update and check add to v_ok the decisions whose card is still at
-- the version they were decided on (or that have no card); each outcome is
-- then `duplicate`, `done` (in v_ok) or `stale`, as before. A NULL match
-- key is not a duplicate (0075's `= ANY` was NULL there too).
--
-- The events' insert no longer returns rows only to be counted times zero:
-- a data-modifying WITH runs whether or not the statement reads it.
-- Everything else is 0075's, statement for statement.

CREATE OR REPLACE FUNCTION ch_commit_group(p_items ch_commit_item[], p_records authorizations[], p_events ch_commit_event[], p_now timestamptz)
RETURNS TABLE (item integer, outcome text) LANGUAGE plpgsql AS $$
DECLARE
    v_keys  text[];
    v_cards text[];
    v_origs text[];
    v_dup   text[];
    v_idx   integer[];
    v_out   text[];
    v_ok    integer[];
    v_n     bigint;
    v_money boolean;
    v_short integer[] := '{}';
    v_go    integer[];
    v_trf   ch_transfer[];
BEGIN
    -- The transaction's id before any outbox seq (0073's rule, which the
    -- column default ch_outbox_next_seq() keeps row by row): taken once
    -- here, the insert below numbers its rows with nextval directly.
    PERFORM pg_current_xact_id();

    -- Duplicates by the unique index: `= ANY (array)` keeps this an index
    -- probe per key (a join against the items could be planned as a scan of
    -- the whole table).
    SELECT array_agg(i.match_key), array_agg(i.card_id), array_remove(array_agg(i.orig_id), NULL),
           coalesce(bool_or(i.transfers IS NOT NULL OR i.funds_below IS NOT NULL), false)
      INTO v_keys, v_cards, v_origs, v_money FROM unnest(p_items) AS i;
    SELECT coalesce(array_agg(a.match_key), '{}') INTO v_dup FROM authorizations a WHERE a.match_key = ANY (v_keys);

    -- Money (funded cards only; a group of LIMIT cards skips it). A
    -- decision its funding account decided by being short (a 51, a partial
    -- approval on the balance) holds only while the account is still below
    -- funds_below: otherwise it is 'stale' and writes nothing.
    IF v_money THEN
        SELECT coalesce(array_agg(i.idx), '{}') INTO v_short
          FROM unnest(p_items) AS i
         WHERE i.funds_below > 0
           AND (SELECT a.credits_posted - a.debits_posted - a.debits_pending FROM ledger_accounts a
                 WHERE a.id = i.funds_account) >= i.funds_below;
    END IF;

    -- The decisions going ahead: neither a duplicate nor short.
    SELECT coalesce(array_agg(i.idx), '{}') INTO v_go
      FROM unnest(p_items) AS i
     WHERE NOT coalesce(i.match_key = ANY (v_dup), false) AND i.idx <> ALL (v_short);

    -- Each goes ahead only if its card is still at the version it was
    -- decided on: updated (a new state or status) or checked (none), or
    -- it has no card.
    WITH upd AS (
        UPDATE cards c SET
            spend         = CASE WHEN i.upd THEN i.spend ELSE c.spend END,
            total_spent   = CASE WHEN i.upd THEN i.total_spent ELSE c.total_spent END,
            last_atc      = CASE WHEN i.upd THEN i.last_atc ELSE c.last_atc END,
            pin_tries     = CASE WHEN i.upd THEN i.pin_tries ELSE c.pin_tries END,
            cvv2_tries    = CASE WHEN i.upd THEN coalesce(i.cvv2_tries, c.cvv2_tries) ELSE c.cvv2_tries END,
            used_at       = CASE WHEN i.upd THEN i.used_at ELSE c.used_at END,
            status        = coalesce(i.status, c.status),
            status_reason = CASE WHEN i.status IS NULL THEN c.status_reason ELSE i.status_reason END,
            version       = c.version + 1,
            updated_at    = p_now
          FROM unnest(p_items) AS i
         WHERE c.id = ANY (v_cards) AND c.id = i.card_id AND c.version = i.card_version AND (i.upd OR i.status IS NOT NULL)
           AND i.idx = ANY (v_go)
        RETURNING i.idx
    )
    SELECT coalesce(array_agg(ok.idx), '{}') INTO v_ok FROM (
        SELECT idx FROM upd
        UNION ALL
        SELECT i.idx FROM unnest(p_items) AS i JOIN cards c ON c.id = i.card_id AND c.version = i.card_version AND c.id = ANY (v_cards)
         WHERE NOT (i.upd OR i.status IS NOT NULL) AND i.idx = ANY (v_go)
        UNION ALL
        SELECT i.idx FROM unnest(p_items) AS i WHERE i.card_id IS NULL AND i.idx = ANY (v_go)
    ) AS ok;

    SELECT array_agg(i.idx ORDER BY i.idx),
           array_agg(CASE WHEN coalesce(i.match_key = ANY (v_dup), false) THEN 'duplicate'
                          WHEN i.idx = ANY (v_ok) THEN 'done'
                          ELSE 'stale' END ORDER BY i.idx)
      INTO v_idx, v_out
      FROM unnest(p_items) AS i;

    -- Captures, reversals and matched advices update their original,
    -- guarded by its version: every one of the decisions still going ahead
    -- must find its original unchanged.
    IF cardinality(v_origs) > 0 THEN
        WITH origs AS (
            SELECT * FROM unnest(p_items) AS i
             WHERE i.orig_id IS NOT NULL AND i.idx = ANY (v_ok)
        ), upd AS (
            UPDATE authorizations a SET
                status = o.orig_status, held = o.orig_held,
                captured_amount = o.orig_captured, reversed_amount = o.orig_reversed,
                hold_id = coalesce(o.orig_hold_id, a.hold_id), hold_amount = coalesce(o.orig_hold_amount, a.hold_amount),
                hold_expires_at = coalesce(o.orig_hold_expires_at, a.hold_expires_at),
                cleared_amount = coalesce(o.orig_cleared, a.cleared_amount),
                version = a.version + 1
              FROM origs o
             WHERE a.id = ANY (v_origs) AND a.id = o.orig_id AND a.version = o.orig_version
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM origs) - (SELECT count(*) FROM upd) INTO v_n;
        IF v_n <> 0 THEN
            RAISE EXCEPTION 'original authorization changed' USING ERRCODE = 'CH001';
        END IF;
    END IF;

    -- The transfers of the decisions going ahead, in their order, applied
    -- by the ledger's one body (0076's ch_ledger_apply_transfers, which
    -- ch_ledger_apply also runs): accounts locked after
    -- the cards, a customer account that non-forced debits would take
    -- below zero raises CH003 (the decision is decided again), a hold
    -- resolved twice violates ledger_transfers_resolves_once.
    IF v_money THEN
        SELECT array_agg(i.transfers[n] ORDER BY i.ordinality, n) INTO v_trf
          FROM unnest(p_items) WITH ORDINALITY AS i
         CROSS JOIN LATERAL generate_subscripts(i.transfers, 1) AS n
         WHERE i.idx = ANY (v_ok);
        IF v_trf IS NOT NULL THEN
            PERFORM * FROM ch_ledger_apply_transfers(v_trf, p_now);
        END IF;
    END IF;

    WITH ins AS (
        INSERT INTO authorizations
        SELECT r.id, r.tenant_id, r.card_id, r.kind, r.mti, r.processing_code, r.amount,
               r.currency, r.card_amount, r.approved_amount, r.response_code, r.reason,
               r.approval_code, r.acquirer_id, r.terminal_id, r.merchant_id, r.acceptor, r.stan,
               r.rrn, r.transmission_time, r.mcc, r.country, r.entry_mode, r.eci, r.original_id,
               r.status, r.held, r.captured_amount, r.reversed_amount, r.applied, r.match_key,
               r.fingerprint, r.response_icc, r.balances, r.received_at, r.decided_at, r.version,
               r.hold_id, r.hold_amount, r.hold_expires_at, r.cleared_amount, r.decided_by,
               r.issuer_latency_ms
          FROM unnest(p_records) WITH ORDINALITY AS r
         WHERE r.ordinality = ANY (v_ok)
        RETURNING 1
    ), ev AS (
        INSERT INTO outbox (seq, event_id, type, source, subject, tenant_id, time, data)
        SELECT nextval('outbox_seq_next'), e.id, e.type, e.source, e.subject, e.tenant_id, e.time, e.data
          FROM unnest(p_events) WITH ORDINALITY AS e
         WHERE e.idx = ANY (v_ok)
         ORDER BY e.ordinality
    )
    SELECT count(*) INTO v_n FROM ins; -- (ev runs whether read or not, as every data-modifying WITH)

    IF v_n <> cardinality(v_ok) THEN
        RAISE EXCEPTION 'duplicate match key' USING ERRCODE = 'CH002';
    END IF;
    RETURN QUERY SELECT * FROM unnest(v_idx, v_out);
END
$$;

-- CREATE OR REPLACE resets a function's settings: 0075's again.
ALTER FUNCTION ch_commit_group(ch_commit_item[], authorizations[], ch_commit_event[], timestamptz) SET enable_seqscan = off;
ALTER FUNCTION ch_commit_group(ch_commit_item[], authorizations[], ch_commit_event[], timestamptz) SET plan_cache_mode = force_generic_plan;

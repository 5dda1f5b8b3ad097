-- 0075: the commit's records and events in PostgreSQL's binary format
-- (issue 17, docs/PERFORMANCE.md).
--
-- 0071's ch_commit_group took the decisions (card guards and new states),
-- the authorization records and the events as JSON documents: PostgreSQL
-- parsed each document whole, then jsonb_populate_record looked every
-- column up by name and converted it from text (an event's data was lexed three times:
-- the document, json_to_recordset, the column). This overload takes them
-- as arrays of row types (ch_commit_item, authorizations itself,
-- ch_commit_event), sent by host/postgres in binary: each column
-- arrives as its type's binary value, json data is validated once, and
-- nothing is looked up by name (only a decision's spend counters stay a
-- jsonb value; its transfers are an array of ch_transfer, applied by
-- 0076's ch_ledger_apply_transfers). What it does is 0071's, step for step;
-- only where it reads its arguments from changed.
--
-- p_records is an array of the authorizations row type itself, so a
-- column added to authorizations changes what the binary encoder must
-- send (host/postgres TestRecordColumnsAreTheTables fails until it does).
--
-- The outbox rows are numbered by nextval('outbox_seq_next') in the
-- insert itself, after one pg_current_xact_id() at the start: the column
-- default (0073's PL/pgSQL ch_outbox_next_seq) was one function call per
-- row for the same guarantee, a transaction id before any seq.
--
-- Every look-up of a table by a value of the group is a scalar subquery
-- or an `= ANY (array)` index condition, never a join the planner may
-- turn into a hash join over a whole index: with one generic plan per
-- statement (below), a plan made while ledger_accounts was small would
-- otherwise read all of it on every call as it grows (0076 says how this
-- was found in ch_ledger_apply).
--
-- 0071's jsonb/json overload stays for a rolling upgrade (instances of
-- the previous release still call it); host/postgres names the argument
-- types in its call, so the two overloads never make a call ambiguous.

CREATE TYPE ch_transfer AS (id text, tenant_id text, kind text, debit_account text, credit_account text, amount bigint,
                            currency text, pending boolean, pending_id text, forced boolean, expires_at timestamptz,
                            card_id text, authorization_id text, reference text, created_at timestamptz);

CREATE TYPE ch_commit_item AS (idx integer, card_id text, card_version bigint, upd boolean, spend jsonb, total_spent bigint,
                               last_atc integer, pin_tries integer, cvv2_tries integer, used_at timestamptz, status text,
                               status_reason text, match_key text, orig_id text, orig_version bigint, orig_status text,
                               orig_held bigint, orig_captured bigint, orig_reversed bigint, orig_hold_id text,
                               orig_hold_amount bigint, orig_hold_expires_at timestamptz, orig_cleared bigint,
                               transfers ch_transfer[], funds_account text, funds_below bigint);

CREATE TYPE ch_commit_event AS (idx integer, id text, type text, source text, subject text, tenant_id text,
                                time timestamptz, data json);

CREATE FUNCTION ch_commit_group(p_items ch_commit_item[], p_records authorizations[], p_events ch_commit_event[], p_now timestamptz)
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

    WITH items AS (
        SELECT * FROM unnest(p_items)
    ), dup AS (
        SELECT i.idx FROM items i WHERE i.match_key = ANY (v_dup)
    ), upd AS (
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
          FROM items i
         WHERE c.id = ANY (v_cards) AND c.id = i.card_id AND c.version = i.card_version AND (i.upd OR i.status IS NOT NULL)
           AND NOT EXISTS (SELECT 1 FROM dup WHERE dup.idx = i.idx) AND i.idx <> ALL (v_short)
        RETURNING i.idx
    ), chk AS (
        SELECT i.idx FROM items i JOIN cards c ON c.id = i.card_id AND c.version = i.card_version AND c.id = ANY (v_cards)
         WHERE NOT (i.upd OR i.status IS NOT NULL) AND NOT EXISTS (SELECT 1 FROM dup WHERE dup.idx = i.idx) AND i.idx <> ALL (v_short)
    ), nocard AS (
        SELECT i.idx FROM items i WHERE i.card_id IS NULL AND NOT EXISTS (SELECT 1 FROM dup WHERE dup.idx = i.idx) AND i.idx <> ALL (v_short)
    ), ok AS (
        SELECT idx FROM upd UNION ALL SELECT idx FROM chk UNION ALL SELECT idx FROM nocard
    )
    SELECT array_agg(i.idx ORDER BY i.idx),
           array_agg(CASE WHEN EXISTS (SELECT 1 FROM dup d WHERE d.idx = i.idx) THEN 'duplicate'
                          WHEN EXISTS (SELECT 1 FROM ok o WHERE o.idx = i.idx) THEN 'done'
                          ELSE 'stale' END ORDER BY i.idx),
           coalesce((SELECT array_agg(ok.idx) FROM ok), '{}')
      INTO v_idx, v_out, v_ok
      FROM items i;

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
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM ins) + 0 * (SELECT count(*) FROM ev) INTO v_n;

    IF v_n <> cardinality(v_ok) THEN
        RAISE EXCEPTION 'duplicate match key' USING ERRCODE = 'CH002';
    END IF;
    RETURN QUERY SELECT * FROM unnest(v_idx, v_out);
END
$$;

-- Sequential scans forbidden as in 0033; one generic plan per statement,
-- so no call plans its statements again (their shapes never change).
ALTER FUNCTION ch_commit_group(ch_commit_item[], authorizations[], ch_commit_event[], timestamptz) SET enable_seqscan = off;
ALTER FUNCTION ch_commit_group(ch_commit_item[], authorizations[], ch_commit_event[], timestamptz) SET plan_cache_mode = force_generic_plan;

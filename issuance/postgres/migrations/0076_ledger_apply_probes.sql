-- 0076: ch_ledger_apply probes its tables row by row (issue 13's
-- funded mix, issue 17).
--
-- Found with auto_explain under the bench's funded mix: the statement
-- that reads each resolved hold (LEFT JOIN ledger_transfers h ON h.id =
-- t.pending_id) ran as a hash join over a full scan of
-- ledger_transfers_pkey (3,072 rows at that moment, 7.9 ms), because
-- PL/pgSQL kept the generic plan it made while the table was small. That
-- plan reads the whole index on every call, so a funded decision cost
-- grew with the number of transfers ever made. The insert's join on
-- ledger_accounts had the same shape (a hash over every account).
--
-- The body moves to ch_ledger_apply_transfers, which takes the transfers
-- as an array of the row type ch_transfer (0075): ch_commit_group passes
-- its decisions' transfers so, sent in binary; ch_ledger_apply(jsonb)
-- reads its JSON into that type once (0045 parsed it three times, once
-- per statement) and calls it, so both have one body.
--
-- Each look-up by a transfer's value is now a scalar subquery (an index
-- probe per transfer, which the planner cannot turn into a join), and
-- each statement over the group's accounts carries `id = ANY (v_acct)`
-- as its index condition. What the function decides is 0045's: a
-- transfer whose debit account does not exist is still left out of the
-- insert (and refused before by the lock count, CH005).

CREATE FUNCTION ch_ledger_apply_transfers(p_transfers ch_transfer[], p_now timestamptz)
RETURNS TABLE (r_account text, r_tenant text, r_kind text, r_card text, r_currency text, r_no_overdraft boolean,
               r_available_before bigint, r_debits_pending bigint, r_debits_posted bigint, r_credits_pending bigint,
               r_credits_posted bigint, r_created_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    v_acct  text[];
    v_dp    bigint[];
    v_dpost bigint[];
    v_cp    bigint[];
    v_cpost bigint[];
    v_red   bigint[];
    v_inc   bigint[];
    v_n     integer;
    v_bad   text;
BEGIN
    IF p_transfers IS NULL OR cardinality(p_transfers) = 0 THEN
        RETURN;
    END IF;

    IF EXISTS (SELECT 1 FROM unnest(p_transfers) AS t WHERE t.pending_id IS NOT NULL) THEN -- (holds and single-phase transfers resolve nothing)
        SELECT count(*) INTO v_n
          FROM unnest(p_transfers) AS t
         WHERE t.pending_id IS NOT NULL
           AND NOT coalesce((SELECT h.debit_account = t.debit_account AND h.credit_account = t.credit_account AND h.currency = t.currency
                                    AND t.amount <= h.amount AND (t.kind = 'post' OR t.amount = h.amount)
                               FROM ledger_transfers h WHERE h.id = t.pending_id AND h.pending), false);
        IF v_n > 0 THEN
            RAISE EXCEPTION 'a transfer resolves no matching hold' USING ERRCODE = 'CH004';
        END IF;
    END IF;

    -- What each transfer does to its two accounts (Effects), summed per
    -- account: red is what non-forced debits take from the available
    -- balance, inc what releases and posted credits add to it.
    WITH t AS (
        SELECT t.*, coalesce((SELECT h.amount FROM ledger_transfers h WHERE h.id = t.pending_id), 0) AS held,
               (t.pending_id IS NOT NULL) AS res,
               CASE WHEN t.pending_id IS NULL OR t.kind = 'post' THEN t.amount ELSE 0 END AS moved
          FROM unnest(p_transfers) AS t
    ), e AS (
        SELECT debit_account AS acct,
               CASE WHEN res THEN -held WHEN pending THEN amount ELSE 0 END AS dp,
               CASE WHEN res THEN moved WHEN pending THEN 0 ELSE amount END AS dpost,
               0::bigint AS cp, 0::bigint AS cpost,
               CASE WHEN NOT res AND NOT coalesce(forced, false) THEN amount ELSE 0 END AS red,
               CASE WHEN res THEN held - moved ELSE 0 END AS inc
          FROM t
        UNION ALL
        SELECT credit_account, 0, 0,
               CASE WHEN res THEN -held WHEN pending THEN amount ELSE 0 END,
               CASE WHEN res THEN moved WHEN pending THEN 0 ELSE amount END,
               0,
               CASE WHEN res THEN moved WHEN pending THEN 0 ELSE amount END
          FROM t
    ), g AS (
        SELECT acct, sum(dp)::bigint AS dp, sum(dpost)::bigint AS dpost, sum(cp)::bigint AS cp, sum(cpost)::bigint AS cpost,
               sum(red)::bigint AS red, sum(inc)::bigint AS inc
          FROM e GROUP BY acct
    )
    SELECT array_agg(acct ORDER BY acct), array_agg(dp ORDER BY acct), array_agg(dpost ORDER BY acct), array_agg(cp ORDER BY acct),
           array_agg(cpost ORDER BY acct), array_agg(red ORDER BY acct), array_agg(inc ORDER BY acct)
      INTO v_acct, v_dp, v_dpost, v_cp, v_cpost, v_red, v_inc
      FROM g;

    SELECT count(*) INTO v_n FROM (SELECT 1 FROM ledger_accounts WHERE id = ANY (v_acct) ORDER BY id FOR UPDATE) AS locked;
    IF v_n <> cardinality(v_acct) THEN
        RAISE EXCEPTION 'a transfer names an account that does not exist' USING ERRCODE = 'CH005';
    END IF;

    SELECT a.id INTO v_bad
      FROM ledger_accounts a, unnest(v_acct, v_red, v_inc) AS g(acct, red, inc)
     WHERE a.id = ANY (v_acct) AND a.id = g.acct AND a.no_overdraft AND g.red > 0
       AND a.credits_posted - a.debits_posted - a.debits_pending + g.inc - g.red < 0
     ORDER BY a.id LIMIT 1;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'insufficient funds' USING ERRCODE = 'CH003', DETAIL = v_bad;
    END IF;

    INSERT INTO ledger_transfers (id, tenant_id, kind, debit_account, credit_account, amount, currency, pending, pending_id, forced,
                                  expires_at, card_id, authorization_id, reference, created_at)
    SELECT t.id, t.tenant_id, t.kind, t.debit_account, t.credit_account, t.amount, t.currency, coalesce(t.pending, false), t.pending_id,
           coalesce(t.forced, false), t.expires_at, t.card_id, t.authorization_id, t.reference, coalesce(t.created_at, p_now)
      FROM unnest(p_transfers) WITH ORDINALITY AS t(id, tenant_id, kind, debit_account, credit_account, amount, currency, pending, pending_id, forced,
           expires_at, card_id, authorization_id, reference, created_at, ord)
      CROSS JOIN LATERAL (SELECT (SELECT a.no_overdraft FROM ledger_accounts a WHERE a.id = t.debit_account) AS no_overdraft) d
     WHERE d.no_overdraft IS NOT NULL
     ORDER BY CASE WHEN t.pending_id IS NOT NULL OR NOT d.no_overdraft THEN 0 WHEN NOT coalesce(t.forced, false) THEN 1 ELSE 2 END, t.ord;

    RETURN QUERY
    UPDATE ledger_accounts a SET
        debits_pending  = a.debits_pending + g.dp,
        debits_posted   = a.debits_posted + g.dpost,
        credits_pending = a.credits_pending + g.cp,
        credits_posted  = a.credits_posted + g.cpost
      FROM unnest(v_acct, v_dp, v_dpost, v_cp, v_cpost) AS g(acct, dp, dpost, cp, cpost)
     WHERE a.id = ANY (v_acct) AND a.id = g.acct
    RETURNING a.id, a.tenant_id, a.kind, a.card_id, a.currency, a.no_overdraft,
              a.credits_posted - a.debits_posted - a.debits_pending - (g.cpost - g.dpost - g.dp),
              a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted, a.created_at;
END
$$;

ALTER FUNCTION ch_ledger_apply_transfers(ch_transfer[], timestamptz) SET enable_seqscan = off;
ALTER FUNCTION ch_ledger_apply_transfers(ch_transfer[], timestamptz) SET plan_cache_mode = force_generic_plan;

-- The JSON entry point (issuance/postgres applyTransfers, and every
-- caller of 0045's): the transfers read once into the row type, then the
-- one body above. Anything but a non-empty array applies nothing, as in
-- 0045.
CREATE OR REPLACE FUNCTION ch_ledger_apply(p_transfers jsonb, p_now timestamptz)
RETURNS TABLE (r_account text, r_tenant text, r_kind text, r_card text, r_currency text, r_no_overdraft boolean,
               r_available_before bigint, r_debits_pending bigint, r_debits_posted bigint, r_credits_pending bigint,
               r_credits_posted bigint, r_created_at timestamptz)
LANGUAGE plpgsql AS $$
BEGIN
    IF p_transfers IS NULL OR jsonb_typeof(p_transfers) <> 'array' OR jsonb_array_length(p_transfers) = 0 THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM ch_ledger_apply_transfers(
        ARRAY(SELECT t FROM jsonb_populate_recordset(NULL::ch_transfer, p_transfers) AS t), p_now);
END
$$;

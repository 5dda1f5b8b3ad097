-- 0078: ch_ledger_apply_transfers locks, checks and reads its accounts in
-- one statement (issue 17, docs/PERFORMANCE.md).
--
-- 0076's body read each account three times after summing the group's
-- effects: a statement locking them (FOR UPDATE, in id order) to count
-- them, a second one probing them again for an overdraft, and in the
-- transfers' insert two more probes per transfer for its debit account's
-- no_overdraft (one for the filter, one for the order). The lock now
-- returns what the other two read: the count, the first account that
-- would be overdrawn and each account's no_overdraft, which the insert
-- takes from that array. What the function decides is 0076's:
--
--   * the rows are locked in id order (LockRows over the sort), and a row
--     updated meanwhile is read as its newest version (EvalPlanQual), as
--     0076's second statement, with its own snapshot, read it;
--   * an account that does not exist still raises CH005 before anything
--     is written, so every transfer's debit account is in the array (0076's
--     insert filter on a missing account could no longer drop a row);
--   * the insert keeps its order: releases and debits of accounts that may
--     go below zero first, then the other debits, forced ones last.

CREATE OR REPLACE FUNCTION ch_ledger_apply_transfers(p_transfers ch_transfer[], p_now timestamptz)
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
    v_nod   boolean[];
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
    -- account, as 0076: red is what non-forced debits take from the
    -- available balance, inc what releases and posted credits add to it.
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

    -- Lock (in id order), count, overdraft check and no_overdraft in one
    -- read of each account. v_acct is sorted and holds each account once,
    -- so when the count matches, v_nod is in v_acct's order.
    SELECT count(*),
           min(l.id) FILTER (WHERE l.no_overdraft AND g.red > 0 AND l.available + g.inc - g.red < 0),
           array_agg(l.no_overdraft ORDER BY l.id)
      INTO v_n, v_bad, v_nod
      FROM (SELECT a.id, a.no_overdraft, a.credits_posted - a.debits_posted - a.debits_pending AS available
              FROM ledger_accounts a WHERE a.id = ANY (v_acct) ORDER BY a.id FOR UPDATE) AS l
      JOIN unnest(v_acct, v_red, v_inc) AS g(acct, red, inc) ON g.acct = l.id;
    IF v_n <> cardinality(v_acct) THEN
        RAISE EXCEPTION 'a transfer names an account that does not exist' USING ERRCODE = 'CH005';
    END IF;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'insufficient funds' USING ERRCODE = 'CH003', DETAIL = v_bad;
    END IF;

    INSERT INTO ledger_transfers (id, tenant_id, kind, debit_account, credit_account, amount, currency, pending, pending_id, forced,
                                  expires_at, card_id, authorization_id, reference, created_at)
    SELECT t.id, t.tenant_id, t.kind, t.debit_account, t.credit_account, t.amount, t.currency, coalesce(t.pending, false), t.pending_id,
           coalesce(t.forced, false), t.expires_at, t.card_id, t.authorization_id, t.reference, coalesce(t.created_at, p_now)
      FROM unnest(p_transfers) WITH ORDINALITY AS t(id, tenant_id, kind, debit_account, credit_account, amount, currency, pending, pending_id, forced,
           expires_at, card_id, authorization_id, reference, created_at, ord)
     ORDER BY CASE WHEN t.pending_id IS NOT NULL OR NOT v_nod[array_position(v_acct, t.debit_account)] THEN 0
                   WHEN NOT coalesce(t.forced, false) THEN 1 ELSE 2 END, t.ord;

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

-- CREATE OR REPLACE resets a function's settings: 0076's again.
ALTER FUNCTION ch_ledger_apply_transfers(ch_transfer[], timestamptz) SET enable_seqscan = off;
ALTER FUNCTION ch_ledger_apply_transfers(ch_transfer[], timestamptz) SET plan_cache_mode = force_generic_plan;

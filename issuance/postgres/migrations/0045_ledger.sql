-- 0045: the money layer (issue 13, docs/ledger.md): a double-entry ledger
-- with TigerBeetle's account totals and two-phase transfers, funding modes
-- on products and cards, the issue fee, and the clearing files imported.

-- A product's funding mode (LIMIT: limits only, the behaviour before this
-- migration; SHARED: cards spend the program balance; PREPAID: each card
-- has its own) and the fee each new card costs the program balance.
ALTER TABLE card_products
    ADD COLUMN funding_mode text NOT NULL DEFAULT 'LIMIT' CHECK (funding_mode IN ('LIMIT', 'SHARED', 'PREPAID')),
    ADD COLUMN issue_fee    bigint NOT NULL DEFAULT 0 CHECK (issue_fee >= 0);

-- A card's funding mode (its product's) and the ledger account it spends
-- (NULL for LIMIT). Existing cards are LIMIT cards.
ALTER TABLE cards
    ADD COLUMN funding_mode    text NOT NULL DEFAULT 'LIMIT',
    ADD COLUMN funding_account text;

-- Accounts: the four totals are the sums of the account's transfers
-- (checked by `cardhost ledger check`). no_overdraft: debits may not exceed
-- posted credits, but by forced postings (customer accounts: program and
-- card). Ids are derived from what the account belongs to (issuance/ledger,
-- account.go), so the host names accounts without reading them.
CREATE TABLE ledger_accounts (
    id               text PRIMARY KEY,
    tenant_id        text NOT NULL REFERENCES tenants(id),
    kind             text NOT NULL CHECK (kind IN ('program', 'card', 'funding', 'fees', 'settlement')),
    card_id          text,
    currency         text NOT NULL,
    no_overdraft     boolean NOT NULL,
    debits_pending   bigint NOT NULL DEFAULT 0,
    debits_posted    bigint NOT NULL DEFAULT 0,
    credits_pending  bigint NOT NULL DEFAULT 0,
    credits_posted   bigint NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL
);
CREATE INDEX ledger_accounts_tenant ON ledger_accounts (tenant_id, kind, currency);
-- Every authorization of a funded card updates its account: leave room for
-- heap-only updates (no indexed column changes).
ALTER TABLE ledger_accounts SET (fillfactor = 70);

-- Transfers are never updated or deleted. seq is the order the ledger
-- applied them in: every transfer is inserted after its accounts' rows
-- were locked, so per account seq order is commit order (the checker
-- replays in it). A hold (pending) is resolved at most once: by a post, a
-- void or an expiry naming it in pending_id, which the unique index
-- enforces.
CREATE TABLE ledger_transfers (
    id                text PRIMARY KEY,
    seq               bigint GENERATED ALWAYS AS IDENTITY,
    tenant_id         text NOT NULL,
    kind              text NOT NULL,
    debit_account     text NOT NULL,
    credit_account    text NOT NULL,
    amount            bigint NOT NULL CHECK (amount > 0),
    currency          text NOT NULL,
    pending           boolean NOT NULL DEFAULT false,
    pending_id        text,
    forced            boolean NOT NULL DEFAULT false,
    expires_at        timestamptz,
    card_id           text,
    authorization_id  text,
    reference         text,
    created_at        timestamptz NOT NULL,
    CHECK (debit_account <> credit_account)
);
CREATE UNIQUE INDEX ledger_transfers_resolves_once ON ledger_transfers (pending_id) WHERE pending_id IS NOT NULL;
CREATE INDEX ledger_transfers_tenant ON ledger_transfers (tenant_id, id DESC);
CREATE INDEX ledger_transfers_card ON ledger_transfers (card_id, id DESC) WHERE card_id IS NOT NULL;
-- An operator's funding reference is used once per tenant: running the
-- same `cardhost funding` command twice moves the money once.
CREATE UNIQUE INDEX ledger_transfers_funding_reference ON ledger_transfers (tenant_id, reference)
    WHERE kind IN ('funding_credit', 'funding_debit');

-- Who moved money by hand (cardhost funding credit|debit), and why.
CREATE TABLE ledger_audit (
    transfer_id  text PRIMARY KEY,
    tenant_id    text NOT NULL,
    operator     text NOT NULL,
    reason       text NOT NULL,
    at           timestamptz NOT NULL
);

-- An authorization of a funded card holds its money under a pending
-- transfer (hold_id, hold_amount still reserved, hold_expires_at); a
-- clearing record that presents it adds to cleared_amount. NULL on the
-- records of LIMIT cards.
ALTER TABLE authorizations
    ADD COLUMN hold_id          text,
    ADD COLUMN hold_amount      bigint,
    ADD COLUMN hold_expires_at  timestamptz,
    ADD COLUMN cleared_amount   bigint;
-- The expiry job finds the holds due by this index; a hold leaves it when
-- it is resolved (hold_amount 0).
CREATE INDEX authorizations_hold_expiry ON authorizations (hold_expires_at) WHERE hold_amount > 0;
-- Clearing records match their authorization by card and approval code
-- through authorizations_card (no index of their own: every approval would
-- write it).

-- Clearing files imported (`cardhost clearing import`): one row per file
-- content, so a file is imported once; a file whose import was cut short
-- is completed by importing it again (each record is idempotent on its own).
CREATE TABLE clearing_files (
    sha256       bytea PRIMARY KEY,
    name         text NOT NULL,
    records      integer NOT NULL,
    applied      integer NOT NULL DEFAULT 0,
    failed       integer NOT NULL DEFAULT 0,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz
);

-- ch_ledger_apply applies transfers atomically: the one place the ledger's
-- rule (issuance/ledger, Effects) is applied in SQL, by the REST money
-- operations, card creation (the issue fee) and the host's commit
-- (ch_commit_group). p_transfers is a jsonb array of issuance/ledger
-- Transfer objects. In order:
--   1. every post, void or expire must name a pending hold with its
--      accounts and currency, a void or expiry its whole amount, a post
--      at most it: else CH004 (nothing written);
--   2. the accounts are locked in id order (every writer locks them in
--      that order, so two never wait for each other);
--   3. a customer account (no_overdraft) that non-forced debits would
--      take below zero, counting the credits and releases of the same
--      call, raises CH003 with the account id as DETAIL (nothing written);
--   4. the transfers are inserted, releases and credits first, then
--      non-forced debits, then forced ones, so that replaying them in seq
--      order sees what this check saw; a hold resolved twice violates
--      ledger_transfers_resolves_once (23505);
--   5. the totals are updated; one row per account comes back, as it is
--      after, with its available balance before.
CREATE FUNCTION ch_ledger_apply(p_transfers jsonb, p_now timestamptz)
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
    IF p_transfers IS NULL OR jsonb_typeof(p_transfers) <> 'array' OR jsonb_array_length(p_transfers) = 0 THEN
        RETURN;
    END IF;

    IF jsonb_path_exists(p_transfers, '$[*].pending_id') THEN -- (holds and single-phase transfers resolve nothing)
        SELECT count(*) INTO v_n
          FROM jsonb_to_recordset(p_transfers) AS t(kind text, debit_account text, credit_account text, amount bigint, currency text, pending_id text)
          LEFT JOIN ledger_transfers h ON h.id = t.pending_id AND h.pending
         WHERE t.pending_id IS NOT NULL
           AND (h.id IS NULL OR h.debit_account <> t.debit_account OR h.credit_account <> t.credit_account OR h.currency <> t.currency
                OR t.amount > h.amount OR (t.kind <> 'post' AND t.amount <> h.amount));
        IF v_n > 0 THEN
            RAISE EXCEPTION 'a transfer resolves no matching hold' USING ERRCODE = 'CH004';
        END IF;
    END IF;

    -- What each transfer does to its two accounts (Effects), summed per
    -- account: red is what non-forced debits take from the available
    -- balance, inc what releases and posted credits add to it.
    WITH t AS (
        SELECT t.*, coalesce(h.amount, 0) AS held, (t.pending_id IS NOT NULL) AS res,
               CASE WHEN t.pending_id IS NULL OR t.kind = 'post' THEN t.amount ELSE 0 END AS moved
          FROM jsonb_to_recordset(p_transfers) AS t(kind text, debit_account text, credit_account text, amount bigint,
               pending boolean, pending_id text, forced boolean)
          LEFT JOIN ledger_transfers h ON h.id = t.pending_id
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
     WHERE a.id = g.acct AND a.no_overdraft AND g.red > 0
       AND a.credits_posted - a.debits_posted - a.debits_pending + g.inc - g.red < 0
     ORDER BY a.id LIMIT 1;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'insufficient funds' USING ERRCODE = 'CH003', DETAIL = v_bad;
    END IF;

    INSERT INTO ledger_transfers (id, tenant_id, kind, debit_account, credit_account, amount, currency, pending, pending_id, forced,
                                  expires_at, card_id, authorization_id, reference, created_at)
    SELECT t.id, t.tenant_id, t.kind, t.debit_account, t.credit_account, t.amount, t.currency, coalesce(t.pending, false), t.pending_id,
           coalesce(t.forced, false), t.expires_at, t.card_id, t.authorization_id, t.reference, coalesce(t.created_at, p_now)
      FROM ROWS FROM (jsonb_to_recordset(p_transfers) AS (id text, tenant_id text, kind text, debit_account text, credit_account text,
           amount bigint, currency text, pending boolean, pending_id text, forced boolean, expires_at timestamptz, card_id text,
           authorization_id text, reference text, created_at timestamptz))
           WITH ORDINALITY AS t(id, tenant_id, kind, debit_account, credit_account, amount, currency, pending, pending_id, forced,
           expires_at, card_id, authorization_id, reference, created_at, ord)
      JOIN ledger_accounts d ON d.id = t.debit_account
     ORDER BY CASE WHEN t.pending_id IS NOT NULL OR NOT d.no_overdraft THEN 0 WHEN NOT coalesce(t.forced, false) THEN 1 ELSE 2 END, t.ord;

    RETURN QUERY
    UPDATE ledger_accounts a SET
        debits_pending  = a.debits_pending + g.dp,
        debits_posted   = a.debits_posted + g.dpost,
        credits_pending = a.credits_pending + g.cp,
        credits_posted  = a.credits_posted + g.cpost
      FROM unnest(v_acct, v_dp, v_dpost, v_cp, v_cpost) AS g(acct, dp, dpost, cp, cpost)
     WHERE a.id = g.acct
    RETURNING a.id, a.tenant_id, a.kind, a.card_id, a.currency, a.no_overdraft,
              a.credits_posted - a.debits_posted - a.debits_pending - (g.cpost - g.dpost - g.dp),
              a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted, a.created_at;
END
$$;
ALTER FUNCTION ch_ledger_apply(jsonb, timestamptz) SET enable_seqscan = off;

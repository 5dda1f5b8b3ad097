-- 0035: card-not-present rules (issue 12, points 1 and 2).
--
-- A card product says whether a key-entered or e-commerce authorization
-- without a CVV2 declines (cvv2_policy REQUIRED, the default, or
-- IF_PRESENT) and after how many consecutive wrong CVV2s its cards'
-- card-not-present requests decline until the issuer resets the counter
-- (cvv2_max_tries, default 5). A card copies both from its product when it
-- is made, as it copies the product's controls (issuance/cvv2); existing
-- cards take their product's, that is the defaults.
--
-- cards.cvv2_tries is authorization state the host owns, like pin_tries:
-- written by ch_commit_group (redefined below with the 0033 body plus
-- cvv2_tries: an item without the key keeps the stored count), reset only
-- by the issuer (POST /v1/cards/{id}/cvv2-tries/reset), which bumps the
-- card's version like every other change of the row.

ALTER TABLE card_products
    ADD COLUMN cvv2_policy    text    NOT NULL DEFAULT 'REQUIRED' CHECK (cvv2_policy IN ('REQUIRED', 'IF_PRESENT')),
    ADD COLUMN cvv2_max_tries integer NOT NULL DEFAULT 5 CHECK (cvv2_max_tries BETWEEN 1 AND 99);

ALTER TABLE cards
    ADD COLUMN cvv2_policy    text    NOT NULL DEFAULT 'REQUIRED' CHECK (cvv2_policy IN ('REQUIRED', 'IF_PRESENT')),
    ADD COLUMN cvv2_max_tries integer NOT NULL DEFAULT 5 CHECK (cvv2_max_tries BETWEEN 1 AND 99),
    ADD COLUMN cvv2_tries     integer NOT NULL DEFAULT 0;

CREATE OR REPLACE FUNCTION ch_commit_group(p_items jsonb, p_records jsonb, p_events json, p_now timestamptz)
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
BEGIN
    -- Duplicates by the unique index: `= ANY (array)` keeps this an index
    -- probe per key (a join against the items could be planned as a scan of
    -- the whole table).
    SELECT array_agg(i->>'match_key'), array_agg(i->>'card_id'), array_remove(array_agg(i->>'orig_id'), NULL)
      INTO v_keys, v_cards, v_origs FROM jsonb_array_elements(p_items) AS i;
    SELECT coalesce(array_agg(a.match_key), '{}') INTO v_dup FROM authorizations a WHERE a.match_key = ANY (v_keys);

    WITH items AS (
        SELECT * FROM jsonb_to_recordset(p_items) AS i(
            idx integer, card_id text, card_version bigint, upd boolean, spend jsonb, total_spent bigint,
            last_atc integer, pin_tries integer, cvv2_tries integer, used_at timestamptz, status text, status_reason text,
            match_key text)
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
           AND NOT EXISTS (SELECT 1 FROM dup WHERE dup.idx = i.idx)
        RETURNING i.idx
    ), chk AS (
        SELECT i.idx FROM items i JOIN cards c ON c.id = i.card_id AND c.version = i.card_version AND c.id = ANY (v_cards)
         WHERE NOT (i.upd OR i.status IS NOT NULL) AND NOT EXISTS (SELECT 1 FROM dup WHERE dup.idx = i.idx)
    ), nocard AS (
        SELECT i.idx FROM items i WHERE i.card_id IS NULL AND NOT EXISTS (SELECT 1 FROM dup WHERE dup.idx = i.idx)
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
            SELECT * FROM jsonb_to_recordset(p_items) AS i(
                idx integer, orig_id text, orig_version bigint, orig_status text, orig_held bigint,
                orig_captured bigint, orig_reversed bigint)
             WHERE i.orig_id IS NOT NULL AND i.idx = ANY (v_ok)
        ), upd AS (
            UPDATE authorizations a SET
                status = o.orig_status, held = o.orig_held,
                captured_amount = o.orig_captured, reversed_amount = o.orig_reversed,
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

    WITH ins AS (
        INSERT INTO authorizations
        SELECT a.*
          FROM jsonb_array_elements(p_records) WITH ORDINALITY AS r(value, ord),
               LATERAL jsonb_populate_record(NULL::authorizations, r.value) AS a
         WHERE r.ord = ANY (v_ok)
        ON CONFLICT (match_key) DO NOTHING RETURNING 1
    ), ev AS (
        INSERT INTO outbox (event_id, type, source, subject, tenant_id, time, data)
        SELECT e.id, e.type, e.source, e.subject, e.tenantid, e.time, e.data
          FROM ROWS FROM (json_to_recordset(p_events) AS (idx integer, id text, type text, source text, subject text,
               tenantid text, time timestamptz, data json)) WITH ORDINALITY AS e(idx, id, type, source, subject, tenantid, time, data, ord)
         WHERE e.idx = ANY (v_ok)
         ORDER BY e.ord
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM ins) + 0 * (SELECT count(*) FROM ev) INTO v_n;

    IF v_n <> cardinality(v_ok) THEN
        RAISE EXCEPTION 'duplicate match key' USING ERRCODE = 'CH002';
    END IF;
    RETURN QUERY SELECT * FROM unnest(v_idx, v_out);
END
$$;

-- The commit function only ever touches rows by key. Its plans are cached
-- per session, and a plan made while a table was small (a fresh database)
-- can be a sequential scan that stays cached as the table grows: forbid
-- scans inside it, so every access stays an index probe.
ALTER FUNCTION ch_commit_group(jsonb, jsonb, json, timestamptz) SET enable_seqscan = off;

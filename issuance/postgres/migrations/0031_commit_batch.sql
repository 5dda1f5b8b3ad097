-- 0031: group commit of authorization decisions, set-based.
--
-- ch_commit_batch applies many decisions (without an original to update:
-- authorizations, financial requests, advices, declines) with a handful of
-- set-based statements instead of one function call per decision: a
-- decision costs PostgreSQL a few rows of work, not a few statements.
--
--   p_items   jsonb array, one object per decision: idx (its 1-based
--             position), card_id, card_version, upd (replace the state),
--             spend, total_spent, last_atc, pin_tries, used_at, status,
--             status_reason, match_key
--   p_records jsonb array of authorizations rows, in the items' order
--   p_events  json array of {idx, id, type, source, subject, tenantid, time,
--             data}: json, not jsonb, so event data is stored byte for byte
--
-- Returns one row per item: 'done', 'stale' (the card moved past
-- card_version: nothing written for it) or 'duplicate' (its match key is
-- stored: nothing written). Statement 1 takes the card row locks; statement
-- 2 then inserts the records and the outbox rows, so every outbox row gets
-- its seq after its card's lock (per-card seq order = commit order). A
-- record that races a concurrent duplicate raises CH002, which rolls the
-- whole group back (the caller then commits each decision on its own).
CREATE FUNCTION ch_commit_batch(p_items jsonb, p_records jsonb, p_events json, p_now timestamptz)
RETURNS TABLE (item integer, outcome text) LANGUAGE plpgsql AS $$
DECLARE
    v_keys  text[];
    v_cards text[];
    v_dup   text[];
    v_idx integer[];
    v_out text[];
    v_ok  integer[];
    v_ins integer;
BEGIN
    -- Duplicates by the unique index: `= ANY (array)` keeps this an index
    -- probe per key (a join against the items could be planned as a scan of
    -- the whole table).
    SELECT array_agg(i->>'match_key'), array_agg(i->>'card_id') INTO v_keys, v_cards FROM jsonb_array_elements(p_items) AS i;
    SELECT coalesce(array_agg(a.match_key), '{}') INTO v_dup FROM authorizations a WHERE a.match_key = ANY (v_keys);

    WITH items AS (
        SELECT * FROM jsonb_to_recordset(p_items) AS i(
            idx integer, card_id text, card_version bigint, upd boolean, spend jsonb, total_spent bigint,
            last_atc integer, pin_tries integer, used_at timestamptz, status text, status_reason text, match_key text)
    ), dup AS (
        SELECT i.idx FROM items i WHERE i.match_key = ANY (v_dup)
    ), upd AS (
        UPDATE cards c SET
            spend         = CASE WHEN i.upd THEN i.spend ELSE c.spend END,
            total_spent   = CASE WHEN i.upd THEN i.total_spent ELSE c.total_spent END,
            last_atc      = CASE WHEN i.upd THEN i.last_atc ELSE c.last_atc END,
            pin_tries     = CASE WHEN i.upd THEN i.pin_tries ELSE c.pin_tries END,
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
           (SELECT array_agg(ok.idx) FROM ok)
      INTO v_idx, v_out, v_ok
      FROM items i;

    WITH ins AS (
        INSERT INTO authorizations
        SELECT a.*
          FROM jsonb_array_elements(p_records) WITH ORDINALITY AS r(value, ord),
               LATERAL jsonb_populate_record(NULL::authorizations, r.value) AS a
         WHERE r.ord = ANY (coalesce(v_ok, '{}'))
        ON CONFLICT (match_key) DO NOTHING RETURNING 1
    ), ev AS (
        INSERT INTO outbox (event_id, type, source, subject, tenant_id, time, data)
        SELECT e.id, e.type, e.source, e.subject, e.tenantid, e.time, e.data
          FROM json_to_recordset(p_events) AS e(idx integer, id text, type text, source text, subject text, tenantid text, time timestamptz, data json)
         WHERE e.idx = ANY (coalesce(v_ok, '{}'))
         ORDER BY e.idx
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM ins) + 0 * (SELECT count(*) FROM ev) INTO v_ins;

    IF v_ins <> coalesce(array_length(v_ok, 1), 0) THEN
        RAISE EXCEPTION 'duplicate match key in a group' USING ERRCODE = 'CH002';
    END IF;
    RETURN QUERY SELECT * FROM unnest(v_idx, v_out);
END
$$;

-- The commit functions only ever touch rows by key. Their plans are cached
-- per session, and a plan made while a table was small (a fresh database)
-- can be a sequential scan that stays cached as the table grows: forbid
-- scans inside them, so every access stays an index probe.
ALTER FUNCTION ch_commit_batch(jsonb, jsonb, json, timestamptz) SET enable_seqscan = off;
ALTER FUNCTION ch_commit(text, bigint, boolean, jsonb, bigint, integer, integer, timestamptz, text, text, timestamptz,
    jsonb, text, bigint, text, bigint, bigint, bigint, json) SET enable_seqscan = off;

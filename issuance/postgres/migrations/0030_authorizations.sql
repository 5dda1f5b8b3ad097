-- 0030: authorization records and the host's one-round-trip commit.

CREATE TABLE authorizations (
    id                text PRIMARY KEY,
    tenant_id         text,                    -- NULL when no card was found
    card_id           text,
    kind              text NOT NULL,
    mti               text NOT NULL,
    processing_code   text NOT NULL DEFAULT '',
    amount            bigint NOT NULL DEFAULT 0,
    currency          text NOT NULL DEFAULT '',
    card_amount       bigint NOT NULL DEFAULT 0,
    approved_amount   bigint NOT NULL DEFAULT 0,
    response_code     text NOT NULL,
    reason            text NOT NULL,
    approval_code     text NOT NULL DEFAULT '',
    acquirer_id       text NOT NULL DEFAULT '',
    terminal_id       text NOT NULL DEFAULT '',
    merchant_id       text NOT NULL DEFAULT '',
    acceptor          text NOT NULL DEFAULT '',
    stan              text NOT NULL DEFAULT '',
    rrn               text NOT NULL DEFAULT '',
    transmission_time text NOT NULL DEFAULT '',
    mcc               text NOT NULL DEFAULT '',
    country           text NOT NULL DEFAULT '',
    entry_mode        text NOT NULL DEFAULT '',
    eci               text NOT NULL DEFAULT '',
    original_id       text,
    status            text NOT NULL,
    held              bigint NOT NULL DEFAULT 0,
    captured_amount   bigint NOT NULL DEFAULT 0,
    reversed_amount   bigint NOT NULL DEFAULT 0,
    applied           jsonb NOT NULL DEFAULT '[]',
    match_key         text NOT NULL,
    fingerprint       bytea,
    response_icc      bytea,
    balances          jsonb,
    received_at       timestamptz NOT NULL,
    decided_at        timestamptz NOT NULL,
    version           bigint NOT NULL DEFAULT 1
);
-- Few indexes: every authorization writes each of them. Look-ups by id go
-- through the primary key (with the tenant filtered), lists by card and the
-- RRN fallback through authorizations_card, field 90 matching through
-- authorizations_original.
CREATE UNIQUE INDEX authorizations_match_key ON authorizations (match_key);
CREATE INDEX authorizations_card ON authorizations (card_id, id DESC);
CREATE INDEX authorizations_original ON authorizations (card_id, stan, transmission_time) WHERE original_id IS NULL;
-- Captures and reversals update their original in place: leave room for
-- heap-only tuple updates.
ALTER TABLE authorizations SET (fillfactor = 85);

-- Every authorization updates its card's row (spend state, version): leave
-- free space on each page so those updates stay heap-only (no index writes:
-- the updated columns are not indexed).
ALTER TABLE cards SET (fillfactor = 70);

-- ch_commit applies one host decision atomically, in one round trip:
--   1. a record with the same match key exists  -> 'duplicate' (nothing written)
--   2. the card moved past p_card_version       -> 'stale'     (nothing written)
--   3. otherwise: the card's authorization state (and one-time status), the
--      original's update, the record and the outbox events, -> 'done'.
-- The card row is updated (locked) before the outbox insert, so one card's
-- events get increasing seq in commit order. Races that slip past the
-- checks raise CH001 (stale original) or CH002 (duplicate), which roll the
-- whole statement back; the caller maps them to 'stale' and 'duplicate'.
CREATE FUNCTION ch_commit(
    p_card_id       text,
    p_card_version  bigint,
    p_update_state  boolean,
    p_spend         jsonb,
    p_total_spent   bigint,
    p_last_atc      integer,
    p_pin_tries     integer,
    p_used_at       timestamptz,
    p_status        text,
    p_status_reason text,
    p_now           timestamptz,
    p_record        jsonb,
    p_orig_id       text,
    p_orig_version  bigint,
    p_orig_status   text,
    p_orig_held     bigint,
    p_orig_captured bigint,
    p_orig_reversed bigint,
    p_events        json
) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    IF EXISTS (SELECT 1 FROM authorizations WHERE match_key = p_record->>'match_key') THEN
        RETURN 'duplicate';
    END IF;
    IF p_card_id IS NOT NULL THEN
        IF p_update_state OR p_status IS NOT NULL THEN
            UPDATE cards SET
                spend         = CASE WHEN p_update_state THEN p_spend ELSE spend END,
                total_spent   = CASE WHEN p_update_state THEN p_total_spent ELSE total_spent END,
                last_atc      = CASE WHEN p_update_state THEN p_last_atc ELSE last_atc END,
                pin_tries     = CASE WHEN p_update_state THEN p_pin_tries ELSE pin_tries END,
                used_at       = CASE WHEN p_update_state THEN p_used_at ELSE used_at END,
                status        = coalesce(p_status, status),
                status_reason = CASE WHEN p_status IS NULL THEN status_reason ELSE p_status_reason END,
                version       = version + 1,
                updated_at    = p_now
             WHERE id = p_card_id AND version = p_card_version;
            GET DIAGNOSTICS n = ROW_COUNT;
            IF n = 0 THEN
                RETURN 'stale';
            END IF;
        ELSE
            PERFORM 1 FROM cards WHERE id = p_card_id AND version = p_card_version;
            IF NOT FOUND THEN
                RETURN 'stale';
            END IF;
        END IF;
    END IF;
    IF p_orig_id IS NOT NULL THEN
        UPDATE authorizations SET
            status = p_orig_status, held = p_orig_held,
            captured_amount = p_orig_captured, reversed_amount = p_orig_reversed,
            version = version + 1
         WHERE id = p_orig_id AND version = p_orig_version;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n = 0 THEN
            RAISE EXCEPTION 'original authorization changed' USING ERRCODE = 'CH001';
        END IF;
    END IF;
    INSERT INTO authorizations SELECT * FROM jsonb_populate_record(NULL::authorizations, p_record)
        ON CONFLICT (match_key) DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RAISE EXCEPTION 'duplicate match key' USING ERRCODE = 'CH002';
    END IF;
    INSERT INTO outbox (event_id, type, source, subject, tenant_id, time, data)
    SELECT e->>'id', e->>'type', e->>'source', e->>'subject', e->>'tenantid', (e->>'time')::timestamptz, e->'data'
      FROM json_array_elements(p_events) AS e;
    RETURN 'done';
END
$$;

-- 0073: an outbox row's seq is allocated after its transaction has an id
-- (0070's cursors rely on it).
--
-- The identity default took nextval() while the row was being formed,
-- before heap_insert gave the transaction its id, when the insert was the
-- transaction's first write. A reader's snapshot taken between the two
-- saw neither the row nor the transaction in progress (a transaction
-- without an id is not in a snapshot's xip), so a seq at or below the
-- reader's high could commit unnoticed: its event never published. The
-- default is now ch_outbox_next_seq(), which makes sure the transaction
-- has its id (pg_current_xact_id() assigns one) before it takes a seq:
-- then a row a snapshot does not see either belongs to a transaction in
-- its xip, or was given its seq after the snapshot, above everything the
-- snapshot saw.

CREATE SEQUENCE outbox_seq_next;
SELECT setval('outbox_seq_next', greatest(
    coalesce((SELECT max(seq) FROM outbox), 0),
    coalesce(pg_sequence_last_value(pg_get_serial_sequence('outbox', 'seq')), 0),
    (SELECT max(high) FROM outbox_cursors)) + 1, false);

CREATE FUNCTION ch_outbox_next_seq() RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_current_xact_id();
    RETURN nextval('outbox_seq_next');
END
$$;

ALTER TABLE outbox ALTER COLUMN seq DROP IDENTITY;
ALTER TABLE outbox ALTER COLUMN seq SET DEFAULT ch_outbox_next_seq();
ALTER SEQUENCE outbox_seq_next OWNED BY outbox.seq;

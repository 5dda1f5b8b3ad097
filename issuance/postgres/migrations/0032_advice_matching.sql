-- An 0120 advice matched to the 0100 it reports (same transaction, decided
-- by the host while the acquirer never got the answer) is stored with
-- original_id set; captures and reversals that name the advice must find it
-- and follow it to the 0100. The look-up index therefore covers every row,
-- not only rows without original_id.
DROP INDEX authorizations_original;
CREATE INDEX authorizations_stan ON authorizations (card_id, stan, transmission_time);

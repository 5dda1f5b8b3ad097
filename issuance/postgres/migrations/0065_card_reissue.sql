-- 0065: card reissue (issue 15, point 4; docs/api.md "Reissue").
--
-- A reissue that keeps the PAN (a renewal with a new expiry) gives the new
-- card the PAN's index; the old card, closed in the same transaction,
-- gives it up (NULL), so that the host finds the new card by the PAN and
-- the unique index still allows one live card per PAN. NULLs are never
-- equal, so any number of closed cards may have none; the PAN-index
-- re-keying skips them.
ALTER TABLE cards ALTER COLUMN pan_index DROP NOT NULL;

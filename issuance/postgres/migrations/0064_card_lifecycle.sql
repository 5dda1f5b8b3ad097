-- 0064: the card lifecycle the seed guides need (issue 15, point 4;
-- docs/api.md "Card lifecycle").
--
-- cards.lifecycle holds a card's lifecycle fields as one JSON object
-- (issuance/lifecycle.Fields): validity_period_hours and valid_until
-- (TEMPORARY cards and Pismo's validity, after which the card is
-- INOPERATIVE), the dynamic CVV2's rotation interval, counter and time,
-- the embossing custom field, and the replaces / replaced_by links of a
-- reissue. The authorization host reads what it needs of it through the
-- columns it already reads (expiry_at carries valid_until; cvv2_policy
-- DYNAMIC marks a dynamic CVV2) and, for a dynamic CVV2, this column by
-- card id. A constant default rewrites no row.
ALTER TABLE cards ADD COLUMN lifecycle jsonb NOT NULL DEFAULT '{}'::jsonb;

-- A reissued card names its successor; one successor per card.
CREATE UNIQUE INDEX cards_replaced_by ON cards ((lifecycle->>'replaced_by')) WHERE lifecycle ? 'replaced_by';

-- DYNAMIC: the card's CVV2 rotates (issuance/lifecycle); card-not-present
-- requests need the current one, as with REQUIRED.
ALTER TABLE cards DROP CONSTRAINT cards_cvv2_policy_check;
ALTER TABLE cards ADD CONSTRAINT cards_cvv2_policy_check CHECK (cvv2_policy IN ('REQUIRED', 'IF_PRESENT', 'DYNAMIC'));

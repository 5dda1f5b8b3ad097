-- Acquirer security settings (issue 12; docs/operations.md, "Acquirers"):
--   mac_required  every message of the acquirer must carry a MAC (fields
--                 64/128, ISO 9797-1 MAC algorithm 3 under its ZAK); only
--                 with a ZAK. An acquirer registered with a ZAK before this
--                 migration requires MACs from now on, as a new one does
--                 (`cardhost acquirers update --id ID --mac-required=false`
--                 for one that does not MAC yet).
--   pin_formats   the ISO 9564-1 PIN block formats field 52 may be in:
--                 0, 1 and 3 (the 8-byte formats); default 0 and 3, the
--                 formats bound to the PAN. Format 1 must be allowed per
--                 acquirer.
ALTER TABLE acquirers ADD COLUMN mac_required boolean NOT NULL DEFAULT false;
UPDATE acquirers SET mac_required = true WHERE zak_ref <> '';
ALTER TABLE acquirers ADD CONSTRAINT acquirers_mac_needs_zak CHECK (NOT mac_required OR zak_ref <> '');
ALTER TABLE acquirers ADD COLUMN pin_formats smallint[] NOT NULL DEFAULT '{0,3}';
ALTER TABLE acquirers ADD CONSTRAINT acquirers_pin_formats CHECK (
    cardinality(pin_formats) BETWEEN 1 AND 3 AND pin_formats <@ '{0,1,3}'::smallint[]);

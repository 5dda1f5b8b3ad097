package issuance

// Slugs of card, PIN, reveal, batch and simulator rejections; each has a
// row in the REST adapter's slug table.
const (
	// SlugPrintedNameLocked: the printed name cannot change once the card
	// went to the embosser.
	SlugPrintedNameLocked = "printed_name_locked"
	// SlugIncomingPEKNotFound: incoming_pek.key_reference names no
	// unexpired issuer certificate of the tenant.
	SlugIncomingPEKNotFound = "incoming_pek_not_found"
	// SlugPINBlockInvalid: the enciphered PIN block does not decipher
	// under the agreed key (wrong key reference, wrong PAN binding, or not a
	// format 4 block).
	SlugPINBlockInvalid = "pin_block_invalid"
	// SlugPINNotSupported: the card's template (or import) has no PIN
	// verification method.
	SlugPINNotSupported = "pin_not_supported"
	// SlugCardClosed: the card is BLOCKED, CANCELED or EXPIRED and the
	// operation needs a live card.
	SlugCardClosed = "card_closed"
	// SlugInvalidEmbossingStatus: the simulator's issue or fail call on a
	// card that is not waiting for its embosser.
	SlugInvalidEmbossingStatus = "invalid_embossing_status"
	// SlugEmbossingNotRequired: the simulator's fail call on a card with no
	// plastic (VIRTUAL, TEMPORARY, imported), which was issued at creation.
	SlugEmbossingNotRequired = "embossing_not_required"
	// SlugNoTransportKey: the card has no embosser with a transport key to
	// seal its personalisation record under.
	SlugNoTransportKey = "transport_key_not_found"
	// SlugPANTaken: an imported PAN is already a card of the tenant.
	SlugPANTaken = "pan_taken"
	// SlugNothingToUpdate: a PATCH without any field.
	SlugNothingToUpdate = "nothing_to_update"
)

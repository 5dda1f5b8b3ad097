package host

import (
	"context"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/cvv2"
)

// stepCardNotPresent applies the card-not-present rules (docs/iso8583.md
// section 5.3): a key-entered or e-commerce request (entrymode.go,
// dataKeyed) must carry field 14 (expiry_missing, 30); a card whose
// consecutive wrong CVV2s reached its cvv2_max_tries declines it, and any
// request carrying a CVV2, until the issuer resets the counter
// (cvv2_tries_exceeded, 82), so that the right CVV2 can no longer be told
// from a wrong one; and a card whose product's cvv2_policy is REQUIRED
// declines it without a CVV2 (cvv2_missing, 82), except a refund: a
// refund credits the card, and a merchant refunding later may not keep a
// CVV2 (PCI DSS forbids storing it). The CVV2 itself is
// verified, and wrong ones counted, by stepCardVerification.
func stepCardNotPresent(_ context.Context, t *txn) (Decision, error) {
	return cardNotPresentDecision(t.req, &t.card.Card, t.next.CVV2Tries), nil
}

// cardNotPresentDecision is the rule as a pure function of the request,
// the card and its count of wrong CVV2s.
func cardNotPresentDecision(r *Request, c *issuance.Card, tries int) Decision {
	cnp := cardNotPresent(r.EntryMode)
	if cnp && r.Expiry == "" {
		return Decline(ReasonExpiryMissing)
	}
	if tries >= cvv2.MaxTriesOf(c) && (cnp || r.CVV2 != "") {
		return Decline(ReasonCVV2TriesExceeded)
	}
	if cnp && r.CVV2 == "" && r.TxnType() != TxnRefund && cvv2.IsRequired(c) {
		return Decline(ReasonCVV2Missing)
	}
	return Decision{}
}

// wrongCVV2 counts a wrong CVV2 and declines 82: cvv2_invalid, or
// cvv2_tries_exceeded when it reaches the card's limit. The count is
// card state: the decline writes it (like a wrong PIN).
func (t *txn) wrongCVV2() Decision {
	t.next.CVV2Tries++
	t.dirty = true
	if t.next.CVV2Tries >= cvv2.MaxTriesOf(&t.card.Card) {
		return Decline(ReasonCVV2TriesExceeded)
	}
	return Decline(ReasonCVV2Invalid)
}

package host

import (
	"context"

	"github.com/cardhost/cardhost/issuance/lifecycle"
)

// verifyCVV2 checks field 48's CVV2: the printed one (CVV with service
// code 000 over the printed expiry), or for a card with a dynamic CVV2 the
// one of the rotation counter in force and, within lifecycle.CVVGrace of a
// rotation, the previous one (docs/crypto.md "Dynamic CVV2"), each by the
// HSM with the card's CVK.
func (t *txn) verifyCVV2(ctx context.Context) (bool, error) {
	r, c := t.req, t.card
	if c.CVV2Policy != lifecycle.PolicyDynamic {
		return t.v.VerifyCVV2(ctx, c.CVKRef, r.PAN, c.Expiry, r.CVV2)
	}
	// The rotation counter is read with the card (its lifecycle fields); a
	// rotation bumps the card's version, so a decision made on a cached
	// card from before it is stale at its commit and made again.
	for _, n := range c.Accepted(c.CreatedAt, t.now) {
		ok, err := t.v.VerifyCVV(ctx, c.CVKRef, r.PAN, lifecycle.Window(n), lifecycle.DynamicServiceCode, r.CVV2)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

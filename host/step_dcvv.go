package host

import (
	"context"
	"errors"
	"fmt"

	"github.com/cardhost/cardhost/issuance/lifecycle"
)

// Lifecycles reads a card's lifecycle fields by card id (issuance/lifecycle;
// implemented by issuance/postgres). The host asks only for cards whose
// cvv2_policy is DYNAMIC, whose CVV2 depends on a rotation counter kept
// there. Errors: ErrNotFound; any other error means the CVV2 could not be
// verified (96).
type Lifecycles interface {
	CardLifecycle(ctx context.Context, cardID string) (lifecycle.Fields, error)
}

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
	if t.lifecycles == nil {
		return false, errors.New("verifying dynamic CVV2: no Config.Lifecycles")
	}
	f, err := t.lifecycles.CardLifecycle(ctx, c.ID)
	if err != nil {
		return false, fmt.Errorf("reading dynamic CVV2 counter: %w", err)
	}
	for _, n := range f.Accepted(c.CreatedAt, t.now) {
		ok, err := t.v.VerifyCVV(ctx, c.CVKRef, r.PAN, lifecycle.Window(n), lifecycle.DynamicServiceCode, r.CVV2)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

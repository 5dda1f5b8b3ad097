package issuance

import (
	"context"
	"fmt"

	"github.com/cardhost/cardhost/emv"
)

// Revealed is a card's sensitive data as the audited reveal call shows it.
// Its fields are secret types: they print masked or redacted.
type Revealed struct {
	PAN    emv.PAN
	CVV2   emv.CVV
	Expiry string // YYMM
}

// RevealCard returns a card's PAN, CVV2 and printed expiry (POST
// /v1/cards/{id}/reveal). It is allowed in sandbox mode, or for an API key
// with the reveal scope, and every reveal is recorded in the audit trail
// (who, when, which card and request — never the values) before the data
// is returned. The CVV2 is recomputed by the HSM with the CVK version the
// card was made with; a dynamic CVV2 (issuance/lifecycle) is the one in
// force now, under the active CVK version. Rejections: forbidden; ErrNotFound.
func (s *Service) RevealCard(ctx context.Context, a Actor, tenantID, cardID string) (Revealed, error) {
	if !a.Sandbox && !a.has(ScopeReveal) {
		return Revealed{}, Errorf(SlugForbidden, "revealing card data needs an API key with the %q scope", ScopeReveal)
	}
	c, err := s.d.Cards.Card(ctx, tenantID, cardID)
	if err != nil {
		return Revealed{}, err
	}
	pan, err := s.OpenPAN(ctx, &c)
	if err != nil {
		return Revealed{}, err
	}
	var cvv2 emv.CVV
	if c.Dynamic { // the CVV2 in force, not the printed one (one HSM call, not two)
		window, sc := c.CurrentInput(c.CreatedAt, s.now())
		var set emv.CVVSet
		set, err = s.d.Vault.GenerateCVVSet(ctx, c.CVKRef, pan, window, sc)
		cvv2 = set.CVV
	} else {
		cvv2, err = s.d.Vault.RevealCVV2(ctx, c.CVKRef, c.CVKVersion, pan, c.Expiry)
	}
	if err != nil {
		return Revealed{}, fmt.Errorf("recomputing CVV2 of card %s: %w", c.ID, err)
	}
	e := a.audit(AuditReveal, &c, s)
	if err := s.d.Cards.RecordAudit(ctx, *e); err != nil {
		return Revealed{}, fmt.Errorf("auditing reveal: %w", err)
	}
	s.d.Logger.Info("card data revealed", "tenant_id", tenantID, "card_id", c.ID, "api_key_id", a.APIKeyID, "request_id", a.RequestID, "audit_id", e.ID)
	return Revealed{PAN: pan, CVV2: cvv2, Expiry: c.Expiry}, nil
}

package cvv2

import (
	"context"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/lifecycle"
	"github.com/cardhost/cardhost/kafka"
)

// Rotate gives a card a new dynamic CVV2 at once (POST
// /v1/cards/{id}/cvv2/rotate, Pismo's "rotate virtual card CVV"): the
// card's CVV2 becomes dynamic if it was not (cvv2_policy DYNAMIC) and its
// rotation counter moves to the one after the counter in force, from now
// (issuance/lifecycle; docs/crypto.md "Dynamic CVV2"). The previous CVV2
// still verifies for lifecycle.CVVGrace; the reveal call shows the new
// one. It bumps the card's version and publishes card.cvv2_rotated (never
// the CVV2) in the same transaction. Rejections: card_closed (BLOCKED,
// CANCELED, EXPIRED or INOPERATIVE); ErrNotFound.
func (s *Service) Rotate(ctx context.Context, a issuance.Actor, tenantID, cardID string) (issuance.Card, error) {
	if !issuance.ValidID(issuance.CardIDPrefix, cardID) {
		return issuance.Card{}, issuance.ErrNotFound
	}
	card, err := s.d.Cards.UpdateCard(ctx, tenantID, cardID, func(ch *issuance.CardChange) error {
		c := &ch.Card
		if c.Status.Terminal() {
			return issuance.Errorf(issuance.SlugCardClosed, "card %s is %s", c.ID, c.Status)
		}
		now := s.d.UTCNow()
		c.Rotate(c.CreatedAt, now)
		c.CVV2Policy, c.UpdatedAt = lifecycle.PolicyDynamic, now
		ev, err := issuance.CardEvent(kafka.TypeCardCVV2Rotated, c, c.Status, "", false, now)
		if err != nil {
			return err
		}
		ch.Events = append(ch.Events, ev)
		return nil
	})
	if err != nil {
		return issuance.Card{}, err
	}
	s.d.Logger.Info("card CVV2 rotated", "tenant_id", tenantID, "card_id", card.ID, "api_key_id", a.APIKeyID, "request_id", a.RequestID)
	return card, nil
}

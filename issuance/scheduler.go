package issuance

import (
	"context"

	"github.com/cardhost/cardhost/issuance/dataprep"
	"github.com/cardhost/cardhost/issuance/lifecycle"
	"github.com/cardhost/cardhost/kafka"
)

// The expiry scheduler closes cards whose time is up:
//   - validity (valid_until, which expiry_at carries) passed: INOPERATIVE
//     with reason "validity_period" (card.inoperative);
//   - expiry_at passed: CANCELED with reason "expiry_at" (card.canceled);
//   - printed expiry passed (the end of the YYMM month, UTC): EXPIRED
//     (card.expired) — or, for a card never issued (PROVISIONED, which the
//     transition table does not let expire), CANCELED with reason
//     "printed_expiry".
//
// Each pass locks due cards with FOR UPDATE SKIP LOCKED and re-checks their
// status and dates inside the same transaction, so several instances can
// run it at once without publishing an event twice.

// Status reasons the scheduler writes.
const (
	StatusReasonExpiryAt      = "expiry_at"
	StatusReasonPrintedExpiry = "printed_expiry"
)

// ExpireCards runs one scheduler pass over at most limit due cards and
// returns how many it closed.
func (s *Service) ExpireCards(ctx context.Context, limit int) (int, error) {
	now := s.now()
	return s.d.Cards.SweepExpiry(ctx, now, limit, func(ch *CardChange) error {
		c := &ch.Card
		if c.Status != StatusProvisioned && c.Status != StatusActive && c.Status != StatusFrozen {
			ch.Skip = true
			return nil
		}
		if c.Ended(now) {
			return s.moveCard(ch, StatusInoperative, lifecycle.ReasonValidityEnded, kafka.TypeCardInoperative, now)
		}
		if c.ExpiryAt != nil && !now.Before(*c.ExpiryAt) {
			return s.moveCard(ch, StatusCanceled, StatusReasonExpiryAt, kafka.TypeCardCanceled, now)
		}
		end, err := dataprep.ExpiryEnd(c.Expiry)
		if err != nil || now.Before(end) {
			ch.Skip = true
			return nil
		}
		if c.Status == StatusProvisioned {
			return s.moveCard(ch, StatusCanceled, StatusReasonPrintedExpiry, kafka.TypeCardCanceled, now)
		}
		return s.moveCard(ch, StatusExpired, StatusReasonPrintedExpiry, kafka.TypeCardExpired, now)
	})
}

package host

import (
	"context"
	"github.com/cardhost/cardhost/iso/digit"
	"time"

	"github.com/cardhost/cardhost/issuance"
)

// stepStatus declines cards that are not ACTIVE, with the reason DESIGN.md
// gives for each status.
func stepStatus(_ context.Context, t *txn) (Decision, error) {
	return statusDecision(&t.card.Card), nil
}

// statusDecision is the status rule as a pure function.
func statusDecision(c *issuance.Card) Decision {
	switch c.Status {
	case issuance.StatusActive:
		return Decision{}
	case issuance.StatusProvisioned:
		return Decline(ReasonCardNotActive)
	case issuance.StatusFrozen:
		return Decline(ReasonCardFrozen)
	case issuance.StatusBlocked:
		switch c.StatusReason {
		case issuance.BlockReasonLost:
			return Decline(ReasonCardLost)
		case issuance.BlockReasonStolen:
			return Decline(ReasonCardStolen)
		}
		return Decline(ReasonCardBlocked)
	case issuance.StatusCanceled:
		if c.StatusReason == CancelReasonOneTimeUsed {
			return Decline(ReasonOneTimeCardUsed)
		}
		return Decline(ReasonCardCanceled)
	case issuance.StatusExpired, issuance.StatusInoperative:
		return Decline(ReasonCardExpired)
	}
	return Decline(ReasonCardBlocked)
}

// CancelReasonOneTimeUsed is the status reason of a one-time card cancelled
// by its trigger.
const CancelReasonOneTimeUsed = "one_time_used"

// stepExpiry declines cards past their printed expiry or their expiry_at,
// and requests whose field 14 does not match the card.
func stepExpiry(_ context.Context, t *txn) (Decision, error) {
	return expiryDecision(&t.card.Card, t.req.Expiry, t.now), nil
}

func expiryDecision(c *issuance.Card, field14 string, now time.Time) Decision {
	if field14 != "" && field14 != c.Expiry {
		return Decline(ReasonCardExpired)
	}
	if PrintedExpiryPassed(c.Expiry, now) {
		return Decline(ReasonCardExpired)
	}
	if c.ExpiryAt != nil && !now.Before(*c.ExpiryAt) {
		return Decline(ReasonCardExpired)
	}
	return Decision{}
}

// PrintedExpiryPassed reports whether a YYMM expiry is over at now: a card
// is valid through the last day of its expiry month (UTC).
func PrintedExpiryPassed(yymm string, now time.Time) bool {
	if !digit.N(yymm, 4) {
		return true
	}
	y := 2000 + int(yymm[0]-'0')*10 + int(yymm[1]-'0')
	m := int(yymm[2]-'0')*10 + int(yymm[3]-'0')
	if m < 1 || m > 12 {
		return true
	}
	end := time.Date(y, time.Month(m)+1, 1, 0, 0, 0, 0, time.UTC)
	return !now.Before(end)
}

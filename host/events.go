package host

import (
	"strings"
	"time"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/kafka"
)

// decisionEvents builds the events of a commit, in the order consumers see
// them: the authorization event, then the card's status change.
func decisionEvents(card *Card, rec *Authorization, c *Commit, now time.Time) ([]kafka.Event, error) {
	if card == nil {
		return nil, nil // no card: no subject or tenant to publish to
	}
	if rec.Kind == KindClearing || rec.Kind == KindClearingReversal || rec.Kind == KindExpiry {
		return statusEvents(card, c, now, nil) // their ledger.* event is the money's (clearing.go)
	}
	typ := kafka.TypeAuthorizationDeclined
	switch {
	case rec.Status == StatusDeclined:
		// Declined whatever its kind: a capture or reversal refused before
		// it was decided (format, message authentication) captured or
		// reversed nothing.
	case rec.Kind == KindCapture:
		typ = kafka.TypeAuthorizationCaptured
	case rec.Kind == KindReversal || rec.Kind == KindReversalAdvice:
		typ = kafka.TypeAuthorizationReversed
	case rec.Code.Approved():
		typ = kafka.TypeAuthorizationApproved
	}
	d := kafka.AuthorizationData{
		ID:              rec.ID,
		CardID:          card.ID,
		TenantID:        card.TenantID,
		MTI:             rec.MTI,
		Kind:            rec.Kind.String(),
		ProcessingCode:  rec.ProcessingCode,
		Amount:          rec.Amount,
		ApprovedAmount:  rec.ApprovedAmount,
		Currency:        currencyAlpha(rec.Currency),
		ResponseCode:    string(rec.Code),
		Reason:          string(rec.Reason),
		ApprovalCode:    rec.ApprovalCode,
		MCC:             rec.MCC,
		MerchantID:      rec.Merchant,
		TerminalID:      rec.Terminal,
		AcquirerID:      rec.AcquirerID,
		EntryMode:       rec.EntryMode,
		STAN:            rec.STAN,
		RRN:             rec.RRN,
		DecidedBy:       string(rec.DecidedBy),
		IssuerLatencyMS: rec.IssuerLatencyMS(),
		CreatedAt:       rec.DecidedAt,
	}
	if typ == kafka.TypeAuthorizationDeclined {
		d.ApprovedAmount = 0
	}
	if a, ok := issuance.CountryAlpha(rec.Country); ok {
		d.Country = a
	}
	if len(rec.Acceptor) >= 25 {
		d.MerchantName = strings.TrimSpace(rec.Acceptor[:25])
		if len(rec.Acceptor) >= 38 {
			d.MerchantCity = strings.TrimSpace(rec.Acceptor[25:38])
		}
	}
	if o := c.Original; o != nil {
		d.OriginalAuthorizationID = o.ID
		d.CapturedAmount, d.ReversedAmount = o.CapturedAmount, o.ReversedAmount
	}
	ev, err := kafka.NewEvent(typ, card.ID, card.TenantID, d, now)
	if err != nil {
		return nil, err
	}
	return statusEvents(card, c, now, []kafka.Event{ev})
}

// statusEvents adds the card's status change, if the commit makes one, to
// events.
func statusEvents(card *Card, c *Commit, now time.Time, events []kafka.Event) ([]kafka.Event, error) {
	if c.Status == issuance.StatusCanceled && card.Status != issuance.StatusCanceled {
		after := card.Card
		after.Status, after.StatusReason = c.Status, c.StatusReason
		cev, err := issuance.CardEvent(kafka.TypeCardCanceled, &after, card.Status, c.StatusReason, false, now)
		if err != nil {
			return nil, err
		}
		events = append(events, cev)
	}
	return events, nil
}

func currencyAlpha(numeric string) string {
	if a, ok := issuance.CurrencyAlpha(numeric); ok {
		return a
	}
	return numeric
}

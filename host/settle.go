package host

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cardhost/cardhost/iso"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/ledger"
)

// findOriginal looks up the authorization a capture or reversal refers to:
// by field 90 (original MTI, STAN, transmission time, acquirer) and the
// terminal, or by RRN, terminal and the request's own acquirer (field 32)
// when field 90 is absent. nil when none.
func (e *Engine) findOriginal(ctx context.Context, req *Request, card *Card) (*Authorization, error) {
	q := OriginalQuery{CardID: card.ID, Terminal: req.Terminal}
	if o := req.Original; o != nil {
		q.MTI, q.STAN, q.TransmissionTime, q.AcquirerID = o.MTI, o.STAN, o.TransmissionTime, trimZeros(o.AcquirerID)
	} else {
		q.RRN, q.AcquirerID = req.RRN, trimZeros(req.AcquirerID)
	}
	orig, err := e.ledger.FindOriginal(ctx, q)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("finding original: %w", err)
	}
	return orig, nil
}

// trimZeros drops the zero fill of field 90's acquirer id (n11, right
// justified) so it compares with field 32 (LLVAR).
func trimZeros(s string) string {
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	return s
}

// acknowledged is the answer to captures, reversals and advices: they are
// records of what already happened, never declined.
var acknowledged = Decision{Code: iso.Approved, Reason: ReasonApproved}

// capture applies a 0220 completion to its original authorization: the
// final amount replaces what was held (a capture for less releases the
// rest, for more adds the difference), and a one-time card with trigger
// ON_CAPTURE is cancelled. A capture without an original is a forced
// capture: its amount is spent as it stands.
func (e *Engine) capture(ctx context.Context, req *Request, card *Card, now time.Time) (*Commit, *Response, error) {
	orig, err := e.findOriginal(ctx, req, card)
	if err != nil {
		return nil, nil, err
	}
	m := e.newMoney(card, now)
	c, err := e.post(req, card, orig, cardAmount(req, &card.Card), m, now)
	if err != nil {
		return nil, nil, err
	}
	return c, &Response{Decision: acknowledged, Amount: req.Amount, AuthorizationID: c.Record.ID}, nil
}

// post applies a final amount (in the card's currency) to an original (a
// capture, or a clearing presentment): the final amount replaces what was
// held (for less the rest is released, for more the difference is added),
// further captures add, and without an original (or a declined one) it is
// a forced capture, spent as it stands. A funded card's money moves with
// it (money.post). A one-time card with trigger ON_CAPTURE is cancelled.
func (e *Engine) post(req *Request, card *Card, orig *Authorization, amount int64, m *money, now time.Time) (*Commit, error) {
	rec := e.newRecord(req, card, acknowledged, now)
	c := &Commit{CardID: card.ID, CardVersion: card.Version, Record: rec}
	next := card.State.Clone()
	rec.CardAmount, rec.ApprovedAmount = amount, req.Amount
	if orig == nil || orig.Status == StatusDeclined {
		rec.Status = StatusUnmatched
		applied := spendTargets(&card.Card, req.MCC, now, amount)
		applySpend(&next, applied, amount)
		rec.Held, rec.Applied = amount, applied
		m.post(nil, amount, rec.ID, req.MCC)
	} else {
		o := *orig
		rec.OriginalID, rec.Status = o.ID, StatusApplied
		m.post(&o, amount, rec.ID, req.MCC)
		if o.Status == StatusOpen {
			if delta := amount - o.Held; delta < 0 {
				releaseSpend(&next, o.Applied, -delta, false)
			} else if delta > 0 {
				applySpend(&next, withoutCount(o.Applied, delta), delta)
			}
			o.Held, o.CapturedAmount = amount, amount
		} else { // an additional capture (split shipment), after a reversal or an expiry
			applySpend(&next, withoutCount(o.Applied, amount), amount)
			o.Held += amount
			o.CapturedAmount += amount
		}
		o.Status = StatusCaptured
		c.Original = &o
	}
	if card.UsageType == issuance.UsageOneTime && card.AutoCancelTrigger == issuance.CancelOnCapture && card.UsedAt == nil {
		used := now
		next.UsedAt = &used
		if card.Status != issuance.StatusCanceled {
			c.Status, c.StatusReason = issuance.StatusCanceled, CancelReasonOneTimeUsed
		}
	}
	c.State = &next
	m.done(c)
	var err error
	c.Events, err = decisionEvents(card, rec, c, now)
	return c, err
}

// reverse applies a 0400/0420 to its original: a full reversal releases
// everything the original still holds; a partial one (field 95) keeps the
// amount that stays authorized. Applying the same reversal twice changes
// nothing the second time. A reversal for an unknown original is
// acknowledged and recorded as unmatched.
func (e *Engine) reverse(ctx context.Context, req *Request, card *Card, now time.Time) (*Commit, *Response, error) {
	orig, err := e.findOriginal(ctx, req, card)
	if err != nil {
		return nil, nil, err
	}
	rec := e.newRecord(req, card, acknowledged, now)
	c := &Commit{CardID: card.ID, CardVersion: card.Version, Record: rec}
	resp := &Response{Decision: acknowledged, Amount: req.Amount, AuthorizationID: rec.ID}
	if orig == nil {
		rec.Status = StatusUnmatched
		if c.Events, err = decisionEvents(card, rec, c, now); err != nil {
			return nil, nil, err
		}
		return c, resp, nil
	}
	o := *orig
	rec.OriginalID, rec.Status = o.ID, StatusApplied
	next := card.State.Clone()
	m := e.newMoney(card, now)
	switch {
	case o.Status == StatusDeclined || o.Status == StatusReversed:
		// Nothing held: nothing to give back.
	case o.CardAmount < 0: // a refund: reversing it takes the credit back
		next.TotalSpent -= o.CardAmount
		o.Status, o.ReversedAmount = StatusReversed, o.ApprovedAmount
		rec.CardAmount = -o.CardAmount
		m.spend(ledger.KindDebit, -o.CardAmount, rec.ID, o.MCC, true)
		c.State = &next
	default:
		stays := int64(0)
		if req.Replacement != nil {
			stays = *req.Replacement
			if o.Amount > 0 && o.Amount != o.CardAmount { // convert to the card's currency
				stays = stays * o.CardAmount / o.Amount
			}
		}
		if release := o.Held - stays; release > 0 {
			releaseSpend(&next, o.Applied, release, stays == 0)
			o.Held = stays
			o.ReversedAmount += release
			rec.CardAmount = release
			if stays == 0 {
				o.Status = StatusReversed
			}
			reverseMoney(m, &o, release, stays, rec.ID)
			c.State = &next
		}
	}
	m.done(c)
	c.Original = &o
	if c.Events, err = decisionEvents(card, rec, c, now); err != nil {
		return nil, nil, err
	}
	return c, resp, nil
}

// reverseMoney is what a reversal of release moves on a funded card: a
// live hold is voided (and, when stays remains authorized, a new hold of
// stays placed with the old one's expiry: each hold resolves once);
// money already posted is credited back.
func reverseMoney(m *money, o *Authorization, release, stays int64, recID string) {
	if m == nil {
		return
	}
	if o.HoldAmount <= 0 {
		m.give(ledger.KindCredit, release, recID)
		return
	}
	expires := o.HoldExpiresAt
	m.resolve(ledger.KindVoid, o, 0, recID)
	if stays > 0 {
		m.hold(o, stays, recID, o.MCC, true, expires)
	}
}

// spendTargets lists the counters an amount spent now at this MCC adds to.
func spendTargets(card *issuance.Card, mcc string, now time.Time, amount int64) []Applied {
	var out []Applied
	for _, sc := range card.SpendingControls {
		if sc.Interval == issuance.PerTransaction || !sc.Applies(mcc) {
			continue
		}
		out = append(out, Applied{Key: sc.Key(), Window: sc.Interval.WindowStart(now), Amount: amount, Count: 1})
	}
	return dedupApplied(out)
}

// withoutCount returns the counters of applied with amount and no count:
// adding to an existing approval, not a new one.
func withoutCount(applied []Applied, amount int64) []Applied {
	out := make([]Applied, len(applied))
	for i, a := range applied {
		out[i] = Applied{Key: a.Key, Window: a.Window, Amount: amount}
	}
	return out
}

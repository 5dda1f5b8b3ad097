package host

import (
	"context"
	"time"

	"github.com/cardhost/cardhost/issuance"
)

// stepSpending checks the spending controls that apply to the request's
// MCC and the card limit, and computes what an approval adds to the card's
// counters. With partial approval supported (field 48 element 04 = Y) and
// an amount limit smaller than the request, it approves the remaining
// amount instead of declining (response code 10); count limits always
// decline.
//
// Refunds credit the card (they lower what counts against card_limit) and
// pass no spending control, but give back at most what the card has spent:
// a larger one is declined whole (refund_exceeds_spent, 13), so no refund
// lifts what the card may spend above its limit. Balance inquiries spend
// nothing.
func stepSpending(_ context.Context, t *txn) (Decision, error) {
	switch t.req.TxnType() {
	case TxnBalanceInquiry:
		return Approve, nil
	case TxnRefund:
		if d := refundDecision(t.card.TotalSpent, t.amount); !d.Approved() {
			return d, nil
		}
		t.approved = t.amount
		t.next.TotalSpent -= t.amount
		t.dirty = true
		return Approve, nil
	}
	if t.amount <= 0 {
		return Decline(ReasonInvalidTransaction), nil
	}
	var funds *int64
	if t.card.Funded() {
		a := t.card.Source.Available()
		funds = &a
	}
	d, approved, applied := spendDecision(&t.card.Card, t.card.State, t.req.MCC, t.amount, t.req.PartialSupported, funds, t.now)
	switch {
	case d.Reason == ReasonInsufficientFunds && t.req.PartialSupported:
		t.fundsBelow = 1 // nothing was available
	case d.Reason == ReasonInsufficientFunds:
		t.fundsBelow = t.amount
	case funds != nil && d.Reason == ReasonPartialApproval && approved == *funds:
		t.fundsBelow = approved + 1 // the balance, not a limit, cut the amount
	}
	if !d.Approved() {
		return d, nil
	}
	t.approved, t.applied = approved, applied
	applySpend(&t.next, applied, approved)
	t.dirty = true
	return d, nil
}

// refundDecision is the refund rule as a pure function: a refund of amount
// (in the card's currency; 0 when it could not be converted) on a card that
// has spent spent. Not partially approved: an acquirer cannot take a
// partial approval of a credit, and the excess is no spend of this card.
func refundDecision(spent, amount int64) Decision {
	switch {
	case amount <= 0:
		return Decline(ReasonInvalidTransaction) // another currency without field 6
	case amount > spent:
		return Decline(ReasonRefundExceedsSpent)
	}
	return Approve
}

// spendDecision is the spending rule as a pure function: the decision, the
// amount approved and the counters it adds to. funds, for a funded card, is
// its funding account's available balance: the last bound, after the
// spending controls and the card limit (insufficient_funds, 51).
func spendDecision(c *issuance.Card, s State, mcc string, amount int64, partialOK bool, funds *int64, now time.Time) (Decision, int64, []Applied) {
	allowed := amount // the most that every amount limit lets through
	limitReason := Reason("")
	for _, sc := range c.SpendingControls {
		if !sc.Applies(mcc) {
			continue
		}
		if sc.Count != nil {
			cur := s.Current(sc, now)
			if sc.Interval != issuance.PerTransaction && cur.Count+1 > *sc.Count {
				return Decline(ReasonSpendingCount), 0, nil
			}
		}
		if sc.Amount == nil {
			continue
		}
		remaining := *sc.Amount
		if sc.Interval != issuance.PerTransaction {
			remaining -= s.Current(sc, now).Amount
		}
		if remaining < allowed {
			allowed, limitReason = remaining, ReasonSpendingAmount
		}
	}
	if c.CardLimit != nil {
		if remaining := *c.CardLimit - s.TotalSpent; remaining < allowed {
			allowed, limitReason = remaining, ReasonCardLimitExceeded
		}
	}
	if funds != nil && *funds < allowed {
		allowed, limitReason = *funds, ReasonInsufficientFunds
	}
	decision := Approve
	if allowed < amount {
		if !partialOK || allowed <= 0 {
			return Decline(limitReason), 0, nil
		}
		decision = Decision{Code: ReasonPartialApproval.Code(), Reason: ReasonPartialApproval}
	}
	var applied []Applied
	seen := map[string]bool{}
	for _, sc := range c.SpendingControls {
		if sc.Interval == issuance.PerTransaction || !sc.Applies(mcc) || seen[sc.Key()] {
			continue
		}
		seen[sc.Key()] = true
		applied = append(applied, Applied{Key: sc.Key(), Window: sc.Interval.WindowStart(now), Amount: allowed, Count: 1})
	}
	return decision, allowed, applied
}

// applySpend adds an approval to a state: each counter (reset when its
// window moved on) and the card total.
func applySpend(s *State, applied []Applied, amount int64) {
	for _, a := range applied {
		cur := s.Spend[a.Key]
		if !cur.Window.Equal(a.Window) {
			cur = Counter{Window: a.Window}
		}
		cur.Amount += a.Amount
		cur.Count += a.Count
		s.Spend[a.Key] = cur
	}
	s.TotalSpent += amount
}

// releaseSpend takes amount (and, when count, one approval) back out of
// the counters an authorization added to — only where the counter still
// counts the same window — and out of the card total, which stops at zero
// like the counters (a refund of a purchase still held, then its reversal,
// gives it back once).
func releaseSpend(s *State, applied []Applied, amount int64, count bool) {
	for _, a := range applied {
		cur, ok := s.Spend[a.Key]
		if !ok || !cur.Window.Equal(a.Window) {
			continue // that window is over: nothing to give back
		}
		cur.Amount -= amount
		if cur.Amount < 0 {
			cur.Amount = 0
		}
		if count && cur.Count > 0 {
			cur.Count--
		}
		s.Spend[a.Key] = cur
	}
	s.TotalSpent -= amount
	if s.TotalSpent < 0 { // a refund already gave it back: never above the limit
		s.TotalSpent = 0
	}
}

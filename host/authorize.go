package host

import (
	"context"
	"time"

	"github.com/cardhost/cardhost/iso"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/ledger"
)

// authorize decides a 0100 or 0200 through the pipeline and builds its
// commit: the card's new state, the record, the events and, for chip
// cards, the ARPC. v is the request's Verifier across its attempts, so a
// decision taken again after a stale commit reuses the HSM's answers.
//
// call, for a tenant with a decision endpoint, is the request's question
// to its issuer: an approval by the host's checks returns errAskIssuer
// until it is asked (the engine asks with the card let go), then its
// answer or the default action decides (issuer.go).
func (e *Engine) authorize(ctx context.Context, req *Request, card *Card, now time.Time, v *verified, call *issuerCall) (*Commit, *Response, error) {
	t := newTxn(req, card, now, v, e.Acquirer)
	d, err := runPipeline(ctx, t, authorizationPipeline, e.hook)
	if err != nil {
		return nil, nil, err
	}
	if !d.Decided() {
		d = Approve
	}
	by, latency := DecidedByHost, time.Duration(0)
	if call != nil && d.Approved() && wantsIssuer(req) {
		if !call.asked {
			call.deadline = e.issuers.callDeadline(ctx, call.ep, time.Now())
			if err := call.prepare(t, d, call.deadline); err != nil {
				return nil, nil, err
			}
			return nil, nil, errAskIssuer
		}
		d, by, latency = call.apply(t, d), call.by, call.latency
	}
	rec := e.newRecord(req, card, d, now)
	if call != nil {
		rec.ID = call.id
	}
	rec.DecidedBy, rec.IssuerLatency = by, latency
	resp := &Response{Decision: d, Amount: req.Amount, AuthorizationID: rec.ID}
	c := &Commit{CardID: card.ID, CardVersion: card.Version, Record: rec}
	if d.Approved() {
		rec.ApprovalCode = approvalCode()
		resp.ApprovalCode = rec.ApprovalCode
		rec.CardAmount = t.approved
		rec.ApprovedAmount = req.Amount
		if t.approved < t.amount { // partial approval: field 4 carries what was approved
			rec.ApprovedAmount = t.approved
		}
		resp.Amount = rec.ApprovedAmount
		rec.Applied = t.applied
		switch {
		case req.TxnType() == TxnBalanceInquiry:
			rec.Status, rec.CardAmount = StatusApplied, 0
		case req.TxnType() == TxnRefund:
			rec.Status, rec.CardAmount = StatusCaptured, -t.approved
		case req.Kind == KindFinancial:
			rec.Status, rec.Held, rec.CapturedAmount = StatusCaptured, t.approved, t.approved
		default:
			rec.Status, rec.Held = StatusOpen, t.approved
		}
		if card.UsageType == issuance.UsageOneTime && req.TxnType() != TxnBalanceInquiry && req.TxnType() != TxnRefund &&
			(card.AutoCancelTrigger == issuance.CancelOnAuth || req.Kind == KindFinancial) {
			t.cancel = true
			used := now
			t.next.UsedAt = &used
			t.dirty = true
		}
		approvalMoney(e.newMoney(card, now), req, rec, c)
	} else {
		rec.Status = StatusDeclined
	}
	if t.fundsBelow > 0 {
		c.FundsAccount, c.FundsBelow = card.FundingAccount, t.fundsBelow
	}
	if req.TxnType() == TxnBalanceInquiry || d.Approved() {
		resp.Balances = balances(req, card, t.next, c.Source, now)
		rec.Balances = resp.Balances
	}
	if resp.ICC, err = arpc(ctx, t, d); err != nil {
		return nil, nil, err
	}
	rec.ResponseICC = resp.ICC
	if t.dirty {
		c.State = &t.next
	}
	if t.cancel {
		c.Status, c.StatusReason = issuance.StatusCanceled, CancelReasonOneTimeUsed
	}
	if c.Events, err = decisionEvents(card, rec, c, now); err != nil {
		return nil, nil, err
	}
	return c, resp, nil
}

// approvalMoney is what an approval moves on a funded card: a hold of the
// approved amount (0100), a posted debit (0200), a credit (refunds);
// nothing for a balance inquiry.
func approvalMoney(m *money, req *Request, rec *Authorization, c *Commit) {
	switch {
	case m == nil || req.TxnType() == TxnBalanceInquiry:
	case rec.CardAmount < 0:
		m.give(ledger.KindRefund, -rec.CardAmount, rec.ID)
	case req.Kind == KindFinancial:
		m.spend(ledger.KindDebit, rec.CardAmount, rec.ID, req.MCC, false)
	default:
		m.hold(rec, rec.CardAmount, rec.ID, req.MCC, false, nil)
	}
	m.done(c)
}

// advice records a 0120: the network already decided (stand-in), so the
// advice is never declined.
//
// An advice reports the same transaction as an 0100 the host may already
// have decided and stored while the acquirer never got the answer (a
// timeout, or a 91 after a commit whose outcome was in doubt). It is matched
// to it like a capture (field 90, else RRN and terminal) so the amount is
// not held twice:
//   - approved advice, original approved and open or captured: linked to it;
//     an open original's hold becomes the advice's amount; nothing new is
//     held.
//   - declined advice, original approved and open: the network declined the
//     transaction, so the original's hold is released.
//   - otherwise (no original, declined or reversed original): an approved
//     advice spends its amount whatever the limits say, a declined one is
//     only recorded.
//
// An approved advice carries the network's approval code (field 38) when it
// sent a valid one.
func (e *Engine) advice(ctx context.Context, req *Request, card *Card, now time.Time) (*Commit, *Response, error) {
	approved := req.AdviceResponseCode == "" || req.AdviceResponseCode == "00" || req.AdviceResponseCode == "10"
	orig, err := e.findOriginal(ctx, req, card)
	if err != nil {
		return nil, nil, err
	}
	if orig != nil && !(orig.Status == StatusOpen || (approved && orig.Status == StatusCaptured)) {
		orig = nil // nothing of it to confirm or release: the advice stands alone
	}
	d := Decision{Code: ReasonApproved.Code(), Reason: ReasonApproved}
	rec := e.newRecord(req, card, d, now)
	c := &Commit{CardID: card.ID, CardVersion: card.Version, Record: rec}
	resp := &Response{Decision: d, Amount: req.Amount, AuthorizationID: rec.ID}
	amount := cardAmount(req, &card.Card)
	next := card.State.Clone()
	m := e.newMoney(card, now)
	switch {
	case !approved:
		rec.Status = StatusDeclined
		rec.Code = iso.ResponseCode(req.AdviceResponseCode)
		rec.Reason = ReasonStandInDecline
		if orig != nil {
			o := *orig
			rec.OriginalID, rec.CardAmount = o.ID, o.Held
			releaseSpend(&next, o.Applied, o.Held, true)
			o.ReversedAmount += o.Held
			o.Held, o.Status = 0, StatusReversed
			m.resolve(ledger.KindVoid, &o, 0, rec.ID)
			c.Original, c.State = &o, &next
		}
	case orig != nil:
		o := *orig
		rec.OriginalID, rec.Status = o.ID, StatusApplied
		rec.CardAmount, rec.ApprovedAmount = amount, req.Amount
		rec.ApprovalCode = adviceApprovalCode(req, o.ApprovalCode)
		if o.Status == StatusOpen && amount != o.Held {
			if delta := amount - o.Held; delta < 0 {
				releaseSpend(&next, o.Applied, -delta, false)
			} else {
				applySpend(&next, withoutCount(o.Applied, delta), delta)
			}
			o.Held = amount
			if m != nil && o.HoldAmount > 0 { // the network approved another amount: hold that
				expires := o.HoldExpiresAt
				m.resolve(ledger.KindVoid, &o, 0, rec.ID)
				m.hold(&o, amount, rec.ID, o.MCC, true, expires)
			}
			c.State = &next
		}
		c.Original = &o
	default:
		applied := spendTargets(&card.Card, req.MCC, now, amount)
		applySpend(&next, applied, amount)
		rec.CardAmount, rec.ApprovedAmount, rec.Held, rec.Applied = amount, req.Amount, amount, applied
		rec.Status = StatusOpen
		rec.ApprovalCode = adviceApprovalCode(req, "")
		m.hold(rec, amount, rec.ID, req.MCC, true, nil) // the network approved it: forced
		c.State = &next
	}
	m.done(c)
	if c.Events, err = decisionEvents(card, rec, c, now); err != nil {
		return nil, nil, err
	}
	return c, resp, nil
}

// adviceApprovalCode is the approval code an approved advice is recorded
// with: the network's (field 38) when it is six letters or digits, else
// the original's, else a new one.
func adviceApprovalCode(req *Request, original string) string {
	if c := req.AdviceApprovalCode; len(c) == 6 && iso.Alphanumeric(c) {
		return c
	}
	if original != "" {
		return original
	}
	return approvalCode()
}

// dedupApplied keeps one entry per counter key.
func dedupApplied(in []Applied) []Applied {
	seen := map[string]bool{}
	out := in[:0]
	for _, a := range in {
		if !seen[a.Key] {
			seen[a.Key] = true
			out = append(out, a)
		}
	}
	return out
}

// balances answers field 54: the available amount against the card limit
// (or, without one, the smallest remaining amount control), in the card's
// currency; for a funded card no more than its funding account's available
// balance (source: as the decision leaves it, nil when it moved nothing).
func balances(req *Request, card *Card, s State, source *ledger.Account, now time.Time) []Balance {
	cur, _ := issuance.CurrencyNumeric(card.Currency)
	acct := "00"
	if len(req.ProcessingCode) >= 4 {
		acct = req.ProcessingCode[2:4]
	}
	var avail *int64
	if card.CardLimit != nil {
		v := *card.CardLimit - s.TotalSpent
		avail = &v
	}
	for _, sc := range card.SpendingControls {
		if sc.Amount == nil || sc.Interval == issuance.PerTransaction || !sc.Applies(req.MCC) {
			continue
		}
		v := *sc.Amount - s.Current(sc, now).Amount
		if avail == nil || v < *avail {
			avail = &v
		}
	}
	if card.Funded() {
		if source == nil {
			source = &card.Source
		}
		if v := source.Available(); avail == nil || v < *avail {
			avail = &v
		}
	}
	if avail == nil {
		return nil
	}
	return []Balance{{AccountType: acct, AmountType: "02", Currency: cur, Amount: *avail}}
}

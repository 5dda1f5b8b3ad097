package host

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/ledger"
	"github.com/cardhost/cardhost/kafka"
)

// Clearing records and hold expiry (docs/ledger.md): decisions that come
// from no ISO message. Each is decided under the card's lock (and its
// funding account's, so that the ledger.* event carries the exact
// balance), recorded as an authorizations row of its own kind, and made
// once: its match key is the clearing record's type and ARN, or the hold
// it expires.

// ClearingOutcome says what a clearing record did.
type ClearingOutcome string

// Clearing outcomes.
const (
	ClearingPosted    ClearingOutcome = "posted"       // matched and posted, or credited (refund, reversal)
	ClearingSettled   ClearingOutcome = "settled"      // matched money already posted (a capture, an approved refund): nothing moved
	ClearingForced    ClearingOutcome = "force_posted" // matched no live hold: posted anyway, flagged
	ClearingUnmatched ClearingOutcome = "unmatched"    // a reversal of no presentment: recorded, nothing moved
	ClearingDuplicate ClearingOutcome = "duplicate"    // applied before: nothing changed
)

// ClearingResult is what Engine.Clear did with one record.
type ClearingResult struct {
	Outcome  ClearingOutcome
	RecordID string // the clearing record's row (the earlier one for a duplicate)
	CardID   string
	Flagged  bool
}

// Errors of Engine.Clear that refuse one record (reported on its line;
// nothing changes).
var (
	ErrUnknownCard      = errors.New("no card has this PAN")
	ErrCurrencyMismatch = errors.New("the record's currency is not the card's")
)

// errNothingToDo ends a locked decision that finds nothing to change.
var errNothingToDo = errors.New("nothing to do")

// lockedAttempts bounds how often a locked decision is taken again when an
// original changed under it.
const lockedAttempts = 8

// Clear applies one clearing record: it finds the card by PAN, matches the
// record to its authorization (approval code, and RRN when both have one)
// and posts it (docs/ledger.md, "What a record does"). A record already
// applied is ClearingDuplicate. ErrUnknownCard and ErrCurrencyMismatch
// refuse the record; other errors mean it could not be applied now.
func (e *Engine) Clear(ctx context.Context, r ledger.ClearingRecord) (ClearingResult, error) {
	idxs, err := e.v.IndexPANAll(ctx, e.cfg.PANIndexRef, r.PAN)
	if err == nil && len(idxs) == 0 {
		err = errors.New("no usable version of the PAN-index key")
	}
	if err != nil {
		return ClearingResult{}, fmt.Errorf("indexing PAN: %w", err)
	}
	card, err := e.ledger.CardByPANIndex(ctx, idxs)
	if errors.Is(err, ErrNotFound) {
		return ClearingResult{}, ErrUnknownCard
	}
	if err != nil {
		return ClearingResult{}, fmt.Errorf("looking up card: %w", err)
	}
	if card.Currency != r.Currency {
		return ClearingResult{}, ErrCurrencyMismatch
	}
	numeric, _ := issuance.CurrencyNumeric(r.Currency)
	now := e.now()
	req := &Request{Kind: KindClearing, PAN: r.PAN, ProcessingCode: "000000", Amount: r.Amount, Currency: numeric, MCC: r.MCC,
		RRN: r.RRN, Acceptor: fmt.Sprintf("%-25.25s", strings.ToUpper(r.Merchant)), Received: now,
		Clearing: &Clearing{Type: r.Type, ARN: r.ARN, ApprovalCode: r.ApprovalCode}}
	switch r.Type {
	case ledger.ClearingRefund:
		req.ProcessingCode = "200000"
	case ledger.ClearingReversal:
		req.Kind = KindClearingReversal
	}
	res := ClearingResult{CardID: card.ID}
	o, existing, err := e.locked(ctx, card.ID, func(ctx context.Context, card *Card) (*Commit, error) {
		c, out, flagged, err := e.clear(ctx, req, card, now)
		res.Outcome, res.Flagged = out, flagged
		if c != nil {
			res.RecordID = c.Record.ID
		}
		return c, err
	})
	switch {
	case err != nil:
		return res, err
	case o == CommitDuplicate:
		res.Outcome, res.Flagged = ClearingDuplicate, false
		if existing != nil {
			res.RecordID = existing.ID
		}
	}
	return res, nil
}

// locked decides under the card's lock, again while an original changed
// under the decision.
func (e *Engine) locked(ctx context.Context, cardID string, decide func(context.Context, *Card) (*Commit, error)) (CommitOutcome, *Authorization, error) {
	for attempt := 1; ; attempt++ {
		var card *Card
		var c *Commit
		o, existing, err := e.ledger.CommitLocked(ctx, cardID, func(locked *Card) (*Commit, error) {
			card = locked
			var derr error
			c, derr = decide(ctx, locked)
			return c, derr
		})
		if err != nil {
			return o, existing, err
		}
		if o == CommitDone {
			e.remember(card, c)
		}
		if o != CommitStale {
			return o, existing, nil
		}
		if attempt >= lockedAttempts {
			return o, nil, fmt.Errorf("deciding: card %s kept changing after %d attempts", cardID, attempt)
		}
	}
}

// clear decides one clearing record for a card.
func (e *Engine) clear(ctx context.Context, req *Request, card *Card, now time.Time) (*Commit, ClearingOutcome, bool, error) {
	m := e.newMoney(card, now)
	q := OriginalQuery{CardID: card.ID, Clearing: true, ApprovalCode: req.Clearing.ApprovalCode, RRN: req.RRN, Refund: req.TxnType() == TxnRefund}
	var orig *Authorization
	var err error
	switch {
	case req.Kind == KindClearingReversal:
		orig, err = e.ledger.AuthorizationByKey(ctx, "CLR|"+ledger.ClearingPurchase+"|"+req.Clearing.ARN)
		if err == nil && (orig.CardID != card.ID || orig.Status == StatusReversed) {
			orig = nil
		}
	case q.ApprovalCode != "" || q.RRN != "":
		orig, err = e.ledger.FindOriginal(ctx, q)
	}
	if errors.Is(err, ErrNotFound) {
		orig, err = nil, nil
	}
	if err != nil {
		return nil, "", false, fmt.Errorf("finding original: %w", err)
	}
	amount := req.Amount
	var c *Commit
	out, flagged := ClearingPosted, false
	switch {
	case req.Kind == KindClearingReversal || req.TxnType() == TxnRefund:
		c, out = e.clearCredit(req, card, orig, amount, m, now)
	case orig != nil && orig.Status == StatusCaptured && orig.HoldAmount == 0:
		// Posted already, by a capture or a 0200: the record settles what
		// was captured and not yet cleared; only more than that moves.
		uncleared := max(orig.CapturedAmount-orig.Cleared, 0)
		if amount <= uncleared {
			rec := e.newRecord(req, card, acknowledged, now)
			rec.OriginalID, rec.Status, rec.ApprovedAmount = orig.ID, StatusApplied, amount
			o := *orig
			c = &Commit{CardID: card.ID, CardVersion: card.Version, Record: rec, Original: &o}
			out = ClearingSettled
			break
		}
		if c, err = e.post(req, card, orig, amount-uncleared, m, now); err != nil {
			return nil, "", false, err
		}
	default:
		if c, err = e.post(req, card, orig, amount, m, now); err != nil {
			return nil, "", false, err
		}
		for _, t := range c.Transfers {
			flagged = flagged || t.Kind == ledger.KindForcePost
		}
		if flagged {
			out = ClearingForced
		}
	}
	if c.Original != nil && req.Kind == KindClearing {
		c.Original.Cleared += amount
	}
	for i := range c.Transfers {
		c.Transfers[i].Reference = req.Clearing.ARN
	}
	if c.Events, err = decisionEvents(card, c.Record, c, now); err != nil {
		return nil, "", false, err
	}
	if len(c.Transfers) > 0 {
		typ := kafka.TypeLedgerCleared
		if flagged {
			typ = kafka.TypeLedgerForcePosted
		}
		authID := ""
		if orig != nil {
			authID = orig.ID
		}
		ev, err := ledger.MoneyEvent(typ, req.Clearing.Type, c.Transfers, card.FundingAccount, m.moved(), authID, now)
		if err != nil {
			return nil, "", false, err
		}
		c.Events = append(c.Events, ev)
	}
	return c, out, flagged, nil
}

// clearCredit decides a clearing refund (credited unless it matched a
// refund the host approved, which credited it then) or a clearing
// reversal (the presentment's amount given back, once).
func (e *Engine) clearCredit(req *Request, card *Card, orig *Authorization, amount int64, m *money, now time.Time) (*Commit, ClearingOutcome) {
	rec := e.newRecord(req, card, acknowledged, now)
	rec.ApprovedAmount = amount
	c := &Commit{CardID: card.ID, CardVersion: card.Version, Record: rec}
	next := card.State.Clone()
	switch {
	case req.Kind == KindClearingReversal && orig == nil:
		rec.Status = StatusUnmatched
		return c, ClearingUnmatched
	case req.Kind == KindClearingReversal:
		o := *orig
		amount = min(amount, o.ApprovedAmount) // at most what was presented
		releaseSpend(&next, o.Applied, amount, false)
		o.Status, o.ReversedAmount = StatusReversed, o.ReversedAmount+amount
		rec.OriginalID, rec.Status, rec.CardAmount = o.ID, StatusApplied, amount
		m.give(ledger.KindCredit, amount, rec.ID)
		c.Original = &o
	case orig != nil: // the host approved this refund and credited it then
		o := *orig
		rec.OriginalID, rec.Status = o.ID, StatusApplied
		c.Original = &o
		return c, ClearingSettled
	default:
		releaseSpend(&next, nil, amount, false)
		rec.Status, rec.CardAmount = StatusUnmatched, -amount
		m.give(ledger.KindRefund, amount, rec.ID)
	}
	c.State = &next
	m.done(c)
	return c, ClearingPosted
}

// ExpireDue expires up to 200 holds due now and tells whether more may be
// due: one pass of the hold expiry job.
func (e *Engine) ExpireDue(ctx context.Context) (more bool, err error) {
	n, err := e.ExpireHolds(ctx, 200)
	return n == 200, err
}

// ExpireHolds expires up to limit holds due now, each in a commit of its
// own, and returns how many it expired.
func (e *Engine) ExpireHolds(ctx context.Context, limit int) (int, error) {
	due, err := e.ledger.DueHolds(ctx, e.now(), limit)
	if err != nil {
		return 0, fmt.Errorf("listing due holds: %w", err)
	}
	n := 0
	for _, h := range due {
		ok, err := e.ExpireHold(ctx, h.AuthorizationID, false)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// ExpireHold expires the hold of an authorization when it is due (at
// once with force: the sandbox simulator's expire). The money goes back
// to the funding account, the authorization leaves the card's spend as a
// reversal would and becomes EXPIRED, and ledger.hold_expired is
// published. It reports false when there was nothing to expire (no live
// hold, not due, or expired already). ErrNotFound: no such authorization.
func (e *Engine) ExpireHold(ctx context.Context, authorizationID string, force bool) (bool, error) {
	a, err := e.ledger.AuthorizationByID(ctx, authorizationID)
	if err != nil {
		return false, err
	}
	if a.CardID == "" || a.HoldAmount <= 0 {
		return false, nil
	}
	now := e.now()
	o, _, err := e.locked(ctx, a.CardID, func(ctx context.Context, card *Card) (*Commit, error) {
		return e.expire(ctx, card, authorizationID, force, now)
	})
	if errors.Is(err, errNothingToDo) {
		return false, nil
	}
	return err == nil && o == CommitDone, err
}

func (e *Engine) expire(ctx context.Context, card *Card, authorizationID string, force bool, now time.Time) (*Commit, error) {
	a, err := e.ledger.AuthorizationByID(ctx, authorizationID) // again, under the card's lock
	if err != nil {
		return nil, err
	}
	m := e.newMoney(card, now)
	if m == nil || a.HoldAmount <= 0 || (!force && (a.HoldExpiresAt == nil || a.HoldExpiresAt.After(now))) {
		return nil, errNothingToDo
	}
	req := &Request{Kind: KindExpiry, Amount: a.HoldAmount, Currency: a.Currency, MCC: a.MCC, Received: now}
	rec := e.newRecord(req, card, acknowledged, now)
	rec.MatchKey, rec.OriginalID, rec.Status, rec.CardAmount = "EXP|"+a.HoldID, a.ID, StatusApplied, a.HoldAmount
	o := *a
	next := card.State.Clone()
	releaseSpend(&next, o.Applied, o.Held, o.Status == StatusOpen)
	m.resolve(ledger.KindExpire, &o, 0, rec.ID)
	o.Held = 0
	if o.Status == StatusOpen {
		o.Status = StatusExpired
	}
	c := &Commit{CardID: card.ID, CardVersion: card.Version, Record: rec, Original: &o, State: &next}
	m.done(c)
	ev, err := ledger.MoneyEvent(kafka.TypeLedgerHoldExpired, string(ledger.KindExpire), c.Transfers, card.FundingAccount, m.moved(), a.ID, now)
	if err != nil {
		return nil, err
	}
	c.Events = []kafka.Event{ev}
	return c, nil
}

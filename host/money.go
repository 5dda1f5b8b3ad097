package host

import (
	"time"

	"github.com/cardhost/cardhost/issuance/ledger"
)

// money is the ledger side of one decision on a funded card
// (docs/ledger.md): the transfers it makes between the card's funding
// account (its source) and the tenant's settlement account, and the source
// as they leave it. A LIMIT card has none: newMoney returns nil, and every
// method of a nil *money does nothing, so the decisions of LIMIT cards
// stay what they were.
type money struct {
	e          *Engine
	card       *Card
	now        time.Time
	settlement string
	acct       ledger.Account // the source, as the transfers leave it
	ts         []ledger.Transfer
}

func (e *Engine) newMoney(card *Card, now time.Time) *money {
	if card == nil || !card.Funded() {
		return nil
	}
	return &money{e: e, card: card, now: now, settlement: ledger.TenantAccount(ledger.AccountSettlement, card.TenantID, card.Currency), acct: card.Source}
}

// transfer makes a transfer of kind k between the source and settlement
// (from the source when out) for the record recID.
func (m *money) transfer(k ledger.Kind, amount int64, recID string, out, forced bool) ledger.Transfer {
	debit, credit := m.card.FundingAccount, m.settlement
	if !out {
		debit, credit = credit, debit
	}
	t := ledger.New(k, m.card.TenantID, debit, credit, amount, m.card.Currency, m.now)
	t.CardID, t.AuthorizationID, t.Forced = m.card.ID, recID, forced
	return t
}

// add records a transfer and follows the source's balance (hold is the
// hold t resolves, if any).
func (m *money) add(t ledger.Transfer, hold *ledger.Transfer) ledger.Transfer {
	if eff, err := ledger.Effects(t, hold); err == nil {
		for _, e := range eff {
			if e.Account == m.acct.ID {
				m.acct.Apply(e)
			}
		}
	}
	m.ts = append(m.ts, t)
	return t
}

// spend moves amount from the source: a hold (pending until it expires,
// by the MCC's rule), or a posted debit of kind k. Forced spend may take
// the source below zero (what the issuer cannot refuse).
func (m *money) spend(k ledger.Kind, amount int64, recID, mcc string, forced bool) ledger.Transfer {
	if m == nil || amount <= 0 {
		return ledger.Transfer{}
	}
	t := m.transfer(k, amount, recID, true, forced)
	if k == ledger.KindHold {
		exp := ledger.HoldExpiry(mcc, m.now, m.e.cfg.HoldExpiry, m.e.cfg.HoldExpiryLong)
		t.Pending, t.ExpiresAt = true, &exp
	}
	return m.add(t, nil)
}

// give moves amount back to the source (a refund, a credit).
func (m *money) give(k ledger.Kind, amount int64, recID string) {
	if m == nil || amount <= 0 {
		return
	}
	m.add(m.transfer(k, amount, recID, false, false), nil)
}

// hold places a new hold for an authorization record and records it on
// the record (the hold's expiry: expires, or the MCC's rule when nil).
func (m *money) hold(a *Authorization, amount int64, recID, mcc string, forced bool, expires *time.Time) {
	t := m.spend(ledger.KindHold, amount, recID, mcc, forced)
	if t.ID == "" {
		return
	}
	if expires != nil {
		e := *expires
		m.ts[len(m.ts)-1].ExpiresAt, t.ExpiresAt = &e, &e
	}
	a.HoldID, a.HoldAmount, a.HoldExpiresAt = t.ID, amount, t.ExpiresAt
}

// resolve ends the live hold of o: a post of amount (the rest released),
// a void or an expiry of the whole; o no longer holds money.
func (m *money) resolve(k ledger.Kind, o *Authorization, amount int64, recID string) {
	if m == nil || o.HoldAmount <= 0 || o.HoldID == "" {
		return
	}
	hold := m.transfer(ledger.KindHold, o.HoldAmount, o.ID, true, false)
	hold.ID, hold.Pending = o.HoldID, true
	if k == ledger.KindPost && amount <= 0 {
		k = ledger.KindVoid
	}
	m.add(ledger.Resolve(k, hold, amount, recID, m.now), &hold)
	o.HoldAmount = 0
}

// post settles amount against o (the original before this decision, nil
// when none matched): a live hold is posted, for less (the rest
// released) or for more (the excess a further debit within the MCC's
// tolerance, a flagged force_post beyond it); an original whose money was
// already posted (a further capture) is debited again; anything else
// (no original, declined, reversed, expired) is a flagged force_post.
// Captures and clearing records are advices of what happened: every
// posting here is forced. It reports whether a force_post was made.
func (m *money) post(o *Authorization, amount int64, recID, mcc string) (flagged bool) {
	if m == nil {
		return false
	}
	switch {
	case o != nil && o.HoldAmount > 0:
		held := o.HoldAmount
		m.resolve(ledger.KindPost, o, min(amount, held), recID)
		if amount > held {
			k := ledger.KindDebit
			if !ledger.WithinTolerance(mcc, held, amount) {
				k, flagged = ledger.KindForcePost, true
			}
			m.spend(k, amount-held, recID, mcc, true)
		}
	case o != nil && o.Status == StatusCaptured:
		m.spend(ledger.KindDebit, amount, recID, mcc, true)
	default:
		m.spend(ledger.KindForcePost, amount, recID, mcc, true)
		flagged = amount > 0
	}
	return flagged
}

// done puts the transfers into the commit, with the source as they leave
// it (for the card cache and the locked decisions' events).
func (m *money) done(c *Commit) {
	if m == nil || len(m.ts) == 0 {
		return
	}
	c.Transfers = m.ts
	a := m.acct
	c.Source = &a
	if c.State == nil { // money moved: the card's version moves too
		s := m.card.State.Clone()
		c.State = &s
	}
}

// moved is what the transfers did to the source, as ledger.Moved: its
// available balance before (the card as read) and after.
func (m *money) moved() ledger.Moved {
	return ledger.Moved{Before: map[string]int64{m.acct.ID: m.card.Source.Available()}, After: map[string]ledger.Account{m.acct.ID: m.acct}}
}

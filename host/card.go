package host

import (
	"time"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/ledger"
)

// Card is the snapshot of a card the pipeline decides on: the issuer's card
// (status, controls, data references) and the authorization state the host
// keeps for it. Version identifies the snapshot: a commit succeeds only if
// the card is still at this version.
type Card struct {
	issuance.Card
	State
	// FundingAccount is the ledger account a funded card spends ("" for
	// LIMIT): ledger.SourceAccount of the card, stored with it.
	FundingAccount string
	// Source is the funding account a funded card spends (its own or the
	// program balance; zero for LIMIT cards), as read with the card: a
	// snapshot the commit checks (docs/ledger.md, "Concurrency"), exact
	// when the card was read for a locked commit.
	Source ledger.Account
}

// Funded reports whether the card spends a ledger balance.
func (c *Card) Funded() bool { return c.FundingAccount != "" && ledger.Funded(c.FundingMode) }

// State is the authorization state of a card, updated only by commits.
type State struct {
	// Spend holds one counter per spending-control key (SpendingControl.Key).
	Spend map[string]Counter
	// TotalSpent is what counts against card_limit: approvals and captures
	// minus reversals, releases and refunds.
	TotalSpent int64
	// LastATC is the highest application transaction counter seen in a
	// verified ARQC (-1: none yet).
	LastATC int
	// PINTries counts consecutive wrong PINs.
	PINTries int
	// CVV2Tries counts consecutive wrong CVV2s (step_cnp.go); only the
	// issuer resets it once it reached the card's limit.
	CVV2Tries int
	// UsedAt is when a one-time card was first used.
	UsedAt *time.Time
}

// Counter is the spend of one control's current window.
type Counter struct {
	Window time.Time `json:"w"` // start of the window it counts (zero for ALL_TIME)
	Amount int64     `json:"a"` // minor units of the card currency
	Count  int       `json:"c"` // approvals
}

// Clone returns a deep copy of s, for computing a new state.
func (s State) Clone() State {
	c := s
	c.Spend = make(map[string]Counter, len(s.Spend))
	for k, v := range s.Spend {
		c.Spend[k] = v
	}
	if s.UsedAt != nil {
		t := *s.UsedAt
		c.UsedAt = &t
	}
	return c
}

// Current returns the counter for control c at now: what the card spent
// in the window that holds now (a zero counter once its window has passed).
func (s State) Current(c issuance.SpendingControl, now time.Time) Counter {
	w := c.Interval.WindowStart(now)
	cur := s.Spend[c.Key()]
	if !cur.Window.Equal(w) {
		return Counter{Window: w}
	}
	return cur
}

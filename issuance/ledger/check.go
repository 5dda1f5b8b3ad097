package ledger

import (
	"fmt"
	"sort"
)

// Checker verifies the ledger's invariants (docs/ledger.md, "Invariants")
// from what is stored: feed it every account (Account), every transfer in
// the order the ledger applied them (Transfer, by Seq), every funded
// authorization that moved money (Approval), then call Finish. It replays
// the transfers with Effects and compares. Not safe for concurrent use.
type Checker struct {
	stored   map[string]Account
	replayed map[string]*Account
	holds    map[string]*holdState
	byAuth   map[string]int // transfers per authorization id
	approved []Approval
	out      []Violation
	notes    []string
	seen     map[string]bool
	n        int
}

type holdState struct {
	t        Transfer
	resolved string // id of the transfer that resolved it
}

// Approval is an approved, funded authorization (or financial request,
// advice, capture, clearing record) that moved money: its transfers carry
// its id, and while it holds money, HoldID names its pending hold of
// HoldAmount.
type Approval struct {
	ID         string
	HoldID     string
	HoldAmount int64
}

// Violation is one broken invariant.
type Violation struct {
	Rule   string // zero_sum, balance_mismatch, unknown_account, overdraft, hold, approval, transfer
	Detail string
}

func (v Violation) String() string { return v.Rule + ": " + v.Detail }

// NewChecker returns an empty Checker.
func NewChecker() *Checker {
	return &Checker{stored: map[string]Account{}, replayed: map[string]*Account{}, holds: map[string]*holdState{},
		byAuth: map[string]int{}, seen: map[string]bool{}}
}

func (c *Checker) fail(rule, format string, a ...any) {
	c.out = append(c.out, Violation{Rule: rule, Detail: fmt.Sprintf(format, a...)})
}

// Account records a stored account.
func (c *Checker) Account(a Account) {
	c.stored[a.ID] = a
	r := Account{ID: a.ID, TenantID: a.TenantID, Kind: a.Kind, Currency: a.Currency, NoOverdraft: a.NoOverdraft}
	c.replayed[a.ID] = &r
}

// Transfer replays one transfer; call in Seq order, after every Account.
func (c *Checker) Transfer(t Transfer) {
	c.n++
	if c.seen[t.ID] {
		c.fail("transfer", "transfer %s appears twice", t.ID)
		return
	}
	c.seen[t.ID] = true
	if err := t.Validate(); err != nil {
		c.fail("transfer", "transfer %s: %v", t.ID, err)
		return
	}
	d, okd := c.replayed[t.Debit]
	cr, okc := c.replayed[t.Credit]
	if !okd || !okc {
		c.fail("unknown_account", "transfer %s names an account that does not exist (%s -> %s)", t.ID, t.Debit, t.Credit)
		return
	}
	if d.Currency != t.Currency || cr.Currency != t.Currency {
		c.fail("transfer", "transfer %s in %s between accounts in %s and %s", t.ID, t.Currency, d.Currency, cr.Currency)
		return
	}
	var hold *Transfer
	if t.Kind.Resolves() {
		h, ok := c.holds[t.PendingID]
		switch {
		case !ok:
			c.fail("hold", "transfer %s resolves %s, which is no hold applied before it", t.ID, t.PendingID)
			return
		case h.resolved != "":
			c.fail("hold", "hold %s resolved twice (%s and %s)", t.PendingID, h.resolved, t.ID)
			return
		}
		h.resolved, hold = t.ID, &h.t
	}
	eff, err := Effects(t, hold)
	if err != nil {
		c.fail("hold", "transfer %s: %v", t.ID, err)
		return
	}
	before := d.Available()
	d.Apply(eff[0])
	cr.Apply(eff[1])
	if d.NoOverdraft && !t.Forced && eff[0].Reduces() && d.Available() < 0 {
		c.fail("overdraft", "transfer %s (%s, not forced) took %s from %d to %d", t.ID, t.Kind, d.ID, before, d.Available())
	}
	if t.Pending {
		c.holds[t.ID] = &holdState{t: t}
	}
	if t.AuthorizationID != "" {
		c.byAuth[t.AuthorizationID]++
	}
}

// Approval records a funded authorization that moved money.
func (c *Checker) Approval(a Approval) { c.approved = append(c.approved, a) }

// Finish runs the remaining checks and returns every violation (none: the
// ledger is consistent) and notes that are not violations (accounts
// overdrawn by forced postings).
func (c *Checker) Finish() ([]Violation, []string) {
	ids := make([]string, 0, len(c.stored))
	for id := range c.stored {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	type sums struct{ posted, pending, replayedPosted, replayedPending int64 }
	per := map[string]*sums{}
	for _, id := range ids {
		s, r := c.stored[id], c.replayed[id]
		cs := per[s.Currency]
		if cs == nil {
			cs = &sums{}
			per[s.Currency] = cs
		}
		cs.posted += s.CreditsPosted - s.DebitsPosted
		cs.pending += s.CreditsPending - s.DebitsPending
		cs.replayedPosted += r.CreditsPosted - r.DebitsPosted
		cs.replayedPending += r.CreditsPending - r.DebitsPending
		if s.DebitsPending != r.DebitsPending || s.DebitsPosted != r.DebitsPosted || s.CreditsPending != r.CreditsPending || s.CreditsPosted != r.CreditsPosted {
			c.fail("balance_mismatch", "account %s holds debits %d/%d credits %d/%d (pending/posted), its transfers sum to %d/%d and %d/%d",
				id, s.DebitsPending, s.DebitsPosted, s.CreditsPending, s.CreditsPosted, r.DebitsPending, r.DebitsPosted, r.CreditsPending, r.CreditsPosted)
		}
		if s.DebitsPending < 0 || s.CreditsPending < 0 {
			c.fail("balance_mismatch", "account %s has negative pending totals", id)
		}
		if s.NoOverdraft && s.Available() < 0 {
			c.notes = append(c.notes, fmt.Sprintf("account %s is overdrawn by forced postings: available %d %s", id, s.Available(), s.Currency))
		}
	}
	curs := make([]string, 0, len(per))
	for cur := range per {
		curs = append(curs, cur)
	}
	sort.Strings(curs)
	for _, cur := range curs {
		s := per[cur]
		if s.posted != 0 || s.pending != 0 {
			c.fail("zero_sum", "%s accounts sum to %d posted and %d pending, not zero", cur, s.posted, s.pending)
		}
		if s.replayedPosted != 0 || s.replayedPending != 0 {
			c.fail("zero_sum", "%s transfers sum to %d posted and %d pending, not zero", cur, s.replayedPosted, s.replayedPending)
		}
	}
	held := map[string]bool{}
	for _, a := range c.approved {
		if c.byAuth[a.ID] == 0 {
			c.fail("approval", "authorization %s moved money but no transfer carries its id", a.ID)
		}
		if a.HoldAmount == 0 {
			continue
		}
		h, ok := c.holds[a.HoldID]
		switch {
		case !ok:
			c.fail("approval", "authorization %s holds %d under %q, which is no hold", a.ID, a.HoldAmount, a.HoldID)
		case h.resolved != "":
			c.fail("approval", "authorization %s still holds %d under %s, which %s resolved", a.ID, a.HoldAmount, a.HoldID, h.resolved)
		case h.t.Amount != a.HoldAmount:
			c.fail("approval", "authorization %s holds %d, its hold %s is for %d", a.ID, a.HoldAmount, a.HoldID, h.t.Amount)
		default:
			held[a.HoldID] = true
		}
	}
	hids := make([]string, 0, len(c.holds))
	for id := range c.holds {
		hids = append(hids, id)
	}
	sort.Strings(hids)
	for _, id := range hids {
		if h := c.holds[id]; h.resolved == "" && !held[id] {
			c.fail("hold", "hold %s (%d %s) is pending but no open authorization holds it", id, h.t.Amount, h.t.Currency)
		}
	}
	return c.out, c.notes
}

// Transfers returns how many transfers were replayed.
func (c *Checker) Transfers() int { return c.n }

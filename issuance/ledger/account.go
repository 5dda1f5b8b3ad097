package ledger

import (
	"strings"
	"time"
)

// Funding modes of a product and of its cards (issuance.Product.FundingMode).
const (
	// ModeLimit: limits and controls only, no balance (the default, and
	// what cardhost did before it held money).
	ModeLimit = "LIMIT"
	// ModeShared: the card spends its tenant's program balance in the
	// card's currency.
	ModeShared = "SHARED"
	// ModePrepaid: the card has a balance of its own, moved from and to
	// the program balance by recharge and withdraw.
	ModePrepaid = "PREPAID"
)

// ValidMode reports whether m is a funding mode ("" is not: callers
// default it to ModeLimit first).
func ValidMode(m string) bool { return m == ModeLimit || m == ModeShared || m == ModePrepaid }

// Funded reports whether cards of mode m spend a ledger balance.
func Funded(mode string) bool { return mode == ModeShared || mode == ModePrepaid }

// AccountKind says whose money an account holds.
type AccountKind string

// Account kinds. Program and card accounts hold a customer's money: their
// available balance may not go below zero except by a forced posting.
// Funding, fees and settlement are the platform's side of each movement,
// one of each per tenant and currency.
const (
	AccountProgram    AccountKind = "program"    // the tenant's master balance
	AccountCard       AccountKind = "card"       // a PREPAID card's own balance
	AccountFunding    AccountKind = "funding"    // money from and to outside (deposits, operator funding)
	AccountFees       AccountKind = "fees"       // fees the platform charged
	AccountSettlement AccountKind = "settlement" // what the networks are owed for card spend (holds, postings, refunds)
)

// AccountKinds lists every kind.
var AccountKinds = []AccountKind{AccountProgram, AccountCard, AccountFunding, AccountFees, AccountSettlement}

// Customer reports whether accounts of kind k hold a customer's money
// (their available balance may not go below zero but by forced postings).
func (k AccountKind) Customer() bool { return k == AccountProgram || k == AccountCard }

// Account ids are derived from what the account belongs to, so that the
// host names the accounts of a decision without reading them. A card's
// account sorts before its tenant's program account, which sorts before
// the settlement account: the order every transaction locks them in.
const accountPrefix = "acct_"

// TenantAccount returns the id of a tenant's account of kind k (not
// AccountCard) in a currency.
func TenantAccount(k AccountKind, tenantID, currency string) string {
	return accountPrefix + string(k) + "_" + tenantID + "_" + currency
}

// CardAccount returns the id of a PREPAID card's account.
func CardAccount(cardID string) string { return accountPrefix + string(AccountCard) + "_" + cardID }

// SourceAccount returns the account a card of the funding mode spends: its
// own (PREPAID), its tenant's program account (SHARED), or "" (LIMIT).
func SourceAccount(mode, tenantID, cardID, currency string) string {
	switch mode {
	case ModePrepaid:
		return CardAccount(cardID)
	case ModeShared:
		return TenantAccount(AccountProgram, tenantID, currency)
	}
	return ""
}

// KindOf returns the kind named in an account id ("" for another id).
func KindOf(id string) AccountKind {
	rest, ok := strings.CutPrefix(id, accountPrefix)
	if !ok {
		return ""
	}
	for _, k := range AccountKinds {
		if strings.HasPrefix(rest, string(k)+"_") {
			return k
		}
	}
	return ""
}

// Account is one ledger account with its four totals, TigerBeetle's
// debits_pending, debits_posted, credits_pending and credits_posted. Each
// is the sum of the account's transfers (Effects); the totals are kept on
// the row so that a balance check reads one row.
type Account struct {
	ID       string
	TenantID string
	Kind     AccountKind
	CardID   string // AccountCard only
	Currency string // ISO 4217 alpha
	// NoOverdraft: debits (pending and posted) may not exceed posted
	// credits, but by forced postings (customer accounts).
	NoOverdraft bool

	DebitsPending, DebitsPosted, CreditsPending, CreditsPosted int64

	CreatedAt time.Time
}

// Balance is an account as the API shows it: posted is credits less
// debits posted, pending what holds reserve, available what can be spent.
type Balance struct {
	Currency  string `json:"currency"`
	Available int64  `json:"available" doc:"posted less pending: what can be spent now"`
	Pending   int64  `json:"pending" doc:"held by authorizations not yet posted"`
	Posted    int64  `json:"posted" doc:"credits less debits posted"`
}

// Balance returns a's balance.
func (a Account) Balance() Balance {
	posted := a.CreditsPosted - a.DebitsPosted
	return Balance{Currency: a.Currency, Available: posted - a.DebitsPending, Pending: a.DebitsPending, Posted: posted}
}

// Available is what a customer account can spend now.
func (a Account) Available() int64 { return a.CreditsPosted - a.DebitsPosted - a.DebitsPending }

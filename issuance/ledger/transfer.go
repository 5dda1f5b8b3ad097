package ledger

import (
	"errors"
	"fmt"
	"time"

	"github.com/cardhost/cardhost/issuance"
)

// TransferIDPrefix prefixes transfer ids.
const TransferIDPrefix = "trf"

// Kind says why a transfer was made; the list of transfers filters on it.
type Kind string

// Transfer kinds. Source is the card's funding account (its own for
// PREPAID, the program account for SHARED), settlement the tenant's
// settlement account in the currency.
const (
	KindDeposit       Kind = "deposit"        // funding -> program: a sandbox deposit
	KindFundingCredit Kind = "funding_credit" // funding -> program: an operator's credit (cardhost funding credit)
	KindFundingDebit  Kind = "funding_debit"  // program -> funding: an operator's debit (cardhost funding debit)
	KindRecharge      Kind = "recharge"       // program -> card
	KindWithdraw      Kind = "withdraw"       // card -> program
	KindFee           Kind = "fee"            // program -> fees: a product's issue fee
	KindHold          Kind = "hold"           // pending source -> settlement: an approved authorization
	KindPost          Kind = "post"           // posts a hold, fully or in part (the rest is released)
	KindVoid          Kind = "void"           // releases a hold (reversal, declined advice)
	KindExpire        Kind = "expire"         // a hold not posted in time gives the money back
	KindDebit         Kind = "debit"          // source -> settlement at once: 0200, tips within tolerance, further presentments
	KindForcePost     Kind = "force_post"     // source -> settlement that matched no live hold: flagged for review
	KindRefund        Kind = "refund"         // settlement -> source: a refund
	KindCredit        Kind = "credit"         // settlement -> source: a reversal of posted spend
	KindReissue       Kind = "reissue"        // old card -> new card: a PREPAID balance carried by a reissue
)

// Kinds lists every transfer kind, in the order above.
var Kinds = []Kind{KindDeposit, KindFundingCredit, KindFundingDebit, KindRecharge, KindWithdraw, KindFee, KindHold, KindPost,
	KindVoid, KindExpire, KindDebit, KindForcePost, KindRefund, KindCredit, KindReissue}

// Valid reports whether k is a transfer kind.
func (k Kind) Valid() bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// Resolves reports whether transfers of kind k resolve a hold (PendingID).
func (k Kind) Resolves() bool { return k == KindPost || k == KindVoid || k == KindExpire }

// Transfer is one immutable movement. Its JSON form is also what the SQL
// function ch_ledger_apply reads (one object per transfer, the
// ledger_transfers columns).
type Transfer struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	Kind     Kind   `json:"kind"`
	// Debit and Credit are the accounts. A transfer that resolves a hold
	// names the hold's accounts.
	Debit    string `json:"debit_account"`
	Credit   string `json:"credit_account"`
	Amount   int64  `json:"amount"`   // minor units, > 0
	Currency string `json:"currency"` // ISO 4217 alpha
	// Pending makes the transfer a hold: it reserves Amount (debits and
	// credits pending) until a post, void or expire resolves it, once.
	Pending bool `json:"pending"`
	// PendingID is the hold a post, void or expire resolves.
	PendingID string `json:"pending_id,omitempty"`
	// Forced lets the debit take a customer account below zero: postings
	// the issuer cannot refuse (captures, clearing, network advices).
	Forced bool `json:"forced"`
	// ExpiresAt is when a hold expires (holds only).
	ExpiresAt       *time.Time `json:"expires_at,omitempty"`
	CardID          string     `json:"card_id,omitempty"`
	AuthorizationID string     `json:"authorization_id,omitempty"`
	// Reference is the outside reference: the acquirer reference number of
	// a clearing record, an operator's funding reference.
	Reference string    `json:"reference,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Seq is the order the ledger applied transfers in (per account, the
	// order of their commits); 0 until stored.
	Seq int64 `json:"-"`
}

// New returns a transfer of kind k between two accounts, with a new id.
func New(k Kind, tenantID, debit, credit string, amount int64, currency string, now time.Time) Transfer {
	return Transfer{ID: issuance.NewID(TransferIDPrefix, now), TenantID: tenantID, Kind: k, Debit: debit, Credit: credit,
		Amount: amount, Currency: currency, CreatedAt: now}
}

// Resolve returns the transfer of kind k (KindPost, KindVoid or
// KindExpire) that resolves hold, made by the record authorizationID: a
// post moves amount (at most the hold's; the rest is released), a void or
// an expiry the whole hold.
func Resolve(k Kind, hold Transfer, amount int64, authorizationID string, now time.Time) Transfer {
	if k != KindPost {
		amount = hold.Amount
	}
	t := New(k, hold.TenantID, hold.Debit, hold.Credit, amount, hold.Currency, now)
	t.PendingID, t.CardID, t.AuthorizationID = hold.ID, hold.CardID, authorizationID
	return t
}

// Effect is what one transfer does to one account's four totals.
type Effect struct {
	Account                                                    string
	DebitsPending, DebitsPosted, CreditsPending, CreditsPosted int64
}

// Errors of Effects and Validate.
var (
	ErrHoldMissing  = errors.New("ledger: the transfer resolves no pending hold")
	ErrHoldMismatch = errors.New("ledger: the transfer does not match the hold it resolves")
	ErrInvalid      = errors.New("ledger: invalid transfer")
)

// Effects returns what t does to its two accounts. hold is the pending
// transfer t resolves (post, void, expire; nil otherwise), which must
// match t's accounts and currency, and cover a post's amount. This is the
// rule ch_ledger_apply implements in SQL; the checker replays it.
func Effects(t Transfer, hold *Transfer) ([2]Effect, error) {
	d, c := Effect{Account: t.Debit}, Effect{Account: t.Credit}
	switch {
	case t.Kind.Resolves():
		if hold == nil || !hold.Pending {
			return [2]Effect{}, ErrHoldMissing
		}
		if hold.Debit != t.Debit || hold.Credit != t.Credit || hold.Currency != t.Currency || t.Amount > hold.Amount || t.Amount <= 0 {
			return [2]Effect{}, ErrHoldMismatch
		}
		d.DebitsPending, c.CreditsPending = -hold.Amount, -hold.Amount
		if t.Kind == KindPost {
			d.DebitsPosted, c.CreditsPosted = t.Amount, t.Amount
		}
	case t.Pending:
		d.DebitsPending, c.CreditsPending = t.Amount, t.Amount
	default:
		d.DebitsPosted, c.CreditsPosted = t.Amount, t.Amount
	}
	return [2]Effect{d, c}, nil
}

// Apply adds an effect to an account's totals.
func (a *Account) Apply(e Effect) {
	a.DebitsPending += e.DebitsPending
	a.DebitsPosted += e.DebitsPosted
	a.CreditsPending += e.CreditsPending
	a.CreditsPosted += e.CreditsPosted
}

// Reduces reports whether the effect lowers the account's available
// balance (new debits, pending or posted).
func (e Effect) Reduces() bool { return e.DebitsPending+e.DebitsPosted > 0 }

// Validate checks a transfer's own fields (not its accounts or hold).
func (t Transfer) Validate() error {
	switch {
	case !t.Kind.Valid():
		return fmt.Errorf("%w: kind %q", ErrInvalid, t.Kind)
	case t.ID == "" || t.TenantID == "" || t.Debit == "" || t.Credit == "":
		return fmt.Errorf("%w: id, tenant and accounts are required", ErrInvalid)
	case t.Debit == t.Credit:
		return fmt.Errorf("%w: debit and credit are the same account", ErrInvalid)
	case t.Amount <= 0:
		return fmt.Errorf("%w: amount must be positive", ErrInvalid)
	case !issuance.ValidCurrency(t.Currency):
		return fmt.Errorf("%w: currency %q", ErrInvalid, t.Currency)
	case t.Kind.Resolves() != (t.PendingID != ""):
		return fmt.Errorf("%w: only a post, void or expire names a hold", ErrInvalid)
	case t.Pending && (t.Kind != KindHold || t.ExpiresAt == nil):
		return fmt.Errorf("%w: a pending transfer is a hold with an expiry", ErrInvalid)
	}
	return nil
}

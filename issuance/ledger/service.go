package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/kafka"
)

// Slugs of the money operations (besides issuance.SlugInsufficientFunds,
// 409, and issuance's validation_failed and card_closed).
const (
	// SlugCardNotPrepaid: recharge and withdraw move money to and from a
	// PREPAID card's own balance; this card has none (409).
	SlugCardNotPrepaid = "card_not_prepaid"
	// SlugCardNotFunded: a LIMIT card has no balance (409).
	SlugCardNotFunded = "card_not_funded"
	// SlugDuplicateReference: an operator's funding reference was used
	// before for this tenant (409): the money moved once.
	SlugDuplicateReference = "duplicate_reference"
)

// Store persists money movements; issuance/postgres implements it. Every
// method is safe for concurrent use.
type Store interface {
	// Move applies m in one transaction: it locks the card row when
	// m.CardID is set (the card's version increases, so the host's
	// snapshot of a PREPAID card sees the new balance), opens the tenant's
	// accounts in m.Currency, applies m.Transfers, records m.Audit, and
	// writes the events m.Events builds from the accounts before and
	// after. Errors: *Shortfall (nothing written), ErrDuplicateReference,
	// issuance.ErrNotFound (no such card or tenant).
	Move(ctx context.Context, m Move) (Moved, error)
	// Accounts returns a tenant's accounts of kind k ("" for every kind),
	// by id.
	Accounts(ctx context.Context, tenantID string, k AccountKind) ([]Account, error)
	// Account returns one of a tenant's accounts, or issuance.ErrNotFound.
	Account(ctx context.Context, tenantID, id string) (Account, error)
	// Transfers lists a tenant's transfers, newest first.
	Transfers(ctx context.Context, tenantID string, f TransferFilter) ([]Transfer, bool, error)
	// Settlement returns the clearing records decided on day (UTC) summed
	// per currency and type, for one tenant ("" for every tenant).
	Settlement(ctx context.Context, tenantID string, day time.Time) ([]SettlementLine, error)
}

// CardReader reads a tenant's card (issuance.ErrNotFound for another
// tenant's); issuance's card store implements it.
type CardReader interface {
	Card(ctx context.Context, tenantID, id string) (issuance.Card, error)
}

// Move is one money movement for Store.Move.
type Move struct {
	TenantID  string
	Currency  string
	CardID    string // the card whose balance moves ("" for none)
	Transfers []Transfer
	Audit     *Audit
	// Events builds the movement's events from the accounts it touched
	// (by id): their available balance before and the accounts after.
	// Called inside the transaction.
	Events func(m Moved) ([]kafka.Event, error)
}

// Moved is what applying transfers did to the accounts they touched, by
// id: the available balance before, and the account after.
type Moved struct {
	Before map[string]int64
	After  map[string]Account
}

// Audit records who moved money by hand, and why.
type Audit struct {
	Operator string
	Reason   string
}

// Shortfall is the error of a movement that would take a customer account
// below zero.
type Shortfall struct{ Account string }

func (e *Shortfall) Error() string { return "insufficient funds in " + e.Account }

// ErrDuplicateReference: the funding reference was used before.
var ErrDuplicateReference = errors.New("ledger: funding reference already used")

// Deps are the Service's collaborators.
type Deps struct {
	Store Store
	Cards CardReader
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives money logs (never card data). Default: discard.
	Logger *slog.Logger
}

// Service runs the money operations of the REST API and the operator
// commands. It holds no state and is safe for concurrent use.
type Service struct{ d Deps }

// NewService returns a Service.
func NewService(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{d: d}
}

func (s *Service) now() time.Time { return s.d.Now().UTC() }

// DepositRequest is the body of POST /v1/simulator/deposits.
type DepositRequest struct {
	Currency string `json:"currency" required:"true" doc:"ISO 4217 alpha code"`
	Amount   int64  `json:"amount" required:"true" doc:"minor units, positive"`
}

// AmountRequest is the body of a card's recharge and withdraw.
type AmountRequest struct {
	Amount int64 `json:"amount" required:"true" doc:"minor units of the card's currency, positive"`
}

// FundingRequest is an operator's credit or debit of a program balance
// (cardhost funding credit|debit).
type FundingRequest struct {
	Currency  string
	Amount    int64
	Reference string // the outside reference (a wire's), once per tenant
	Operator  string // who runs the command
	Reason    string // why
}

// Movement is the answer to a money operation.
type Movement struct {
	TransferID string `json:"transfer_id"`
	Kind       Kind   `json:"kind"`
	CardID     string `json:"card_id,omitempty"`
	Amount     int64  `json:"amount"`
	Currency   string `json:"currency"`
	// Account is the account the balance fields describe: the card's for
	// recharge and withdraw, the program balance otherwise.
	Account       string    `json:"account"`
	BalanceBefore int64     `json:"balance_before" doc:"available balance of account before"`
	BalanceAfter  int64     `json:"balance_after" doc:"available balance of account after"`
	Balance       Balance   `json:"balance" doc:"account after"`
	Program       *Balance  `json:"program_balance,omitempty" doc:"recharge and withdraw: the program balance after"`
	CreatedAt     time.Time `json:"created_at"`
}

func validAmount(v *issuance.Validator, amount int64) {
	v.Check(amount > 0 && amount <= issuance.MaxAmount, "amount", "out_of_range", "a positive amount of minor units up to 999999999999")
}

// Deposit credits the tenant's program balance (sandbox: it stands for the
// money an issuer would wire). Publishes ledger.deposit.
func (s *Service) Deposit(ctx context.Context, tenantID string, r DepositRequest) (Movement, error) {
	cur := strings.ToUpper(strings.TrimSpace(r.Currency))
	var v issuance.Validator
	v.Check(issuance.ValidCurrency(cur), "currency", "invalid", "an ISO 4217 alpha code such as USD")
	validAmount(&v, r.Amount)
	if err := v.Err(); err != nil {
		return Movement{}, err
	}
	return s.move(ctx, KindDeposit, tenantID, "", TenantAccount(AccountFunding, tenantID, cur), TenantAccount(AccountProgram, tenantID, cur),
		r.Amount, cur, kafka.TypeLedgerDeposit, false, nil, "")
}

// Fund is an operator's credit (credit true) or debit of a tenant's
// program balance, audited with the operator and reason and published as
// ledger.funding_credit or ledger.funding_debit. A reference used before
// for the tenant answers duplicate_reference: the money moved once.
func (s *Service) Fund(ctx context.Context, tenantID string, credit bool, r FundingRequest) (Movement, error) {
	cur := strings.ToUpper(strings.TrimSpace(r.Currency))
	var v issuance.Validator
	v.Check(issuance.ValidCurrency(cur), "currency", "invalid", "an ISO 4217 alpha code such as USD")
	validAmount(&v, r.Amount)
	for _, f := range []struct{ name, val string }{{"reference", r.Reference}, {"operator", r.Operator}, {"reason", r.Reason}} {
		v.Check(strings.TrimSpace(f.val) != "" && len(f.val) <= 200, f.name, "required", "1 to 200 characters")
	}
	if err := v.Err(); err != nil {
		return Movement{}, err
	}
	kind, typ := KindFundingCredit, kafka.TypeLedgerFundingCredit
	debit, creditAcct := TenantAccount(AccountFunding, tenantID, cur), TenantAccount(AccountProgram, tenantID, cur)
	if !credit {
		kind, typ = KindFundingDebit, kafka.TypeLedgerFundingDebit
		debit, creditAcct = creditAcct, debit
	}
	m, err := s.move(ctx, kind, tenantID, "", debit, creditAcct, r.Amount, cur, typ, false, &Audit{Operator: r.Operator, Reason: r.Reason}, r.Reference)
	if errors.Is(err, ErrDuplicateReference) {
		return Movement{}, issuance.Errorf(SlugDuplicateReference, "reference %q was used before for this tenant: nothing moved", r.Reference)
	}
	if err == nil {
		s.d.Logger.Info("program balance funded by an operator", "tenant_id", tenantID, "kind", kind, "amount", r.Amount,
			"currency", cur, "transfer_id", m.TransferID, "operator", r.Operator)
	}
	return m, err
}

// Recharge moves money from the program balance to a PREPAID card's own
// (card_not_prepaid for other cards, card_closed for a closed one,
// insufficient_funds when the program balance is short). Publishes
// ledger.recharge.
func (s *Service) Recharge(ctx context.Context, tenantID, cardID string, r AmountRequest) (Movement, error) {
	return s.cardMove(ctx, tenantID, cardID, r, true)
}

// Withdraw moves money from a PREPAID card's balance back to the program
// balance (insufficient_funds beyond the card's available balance).
// Publishes ledger.withdraw.
func (s *Service) Withdraw(ctx context.Context, tenantID, cardID string, r AmountRequest) (Movement, error) {
	return s.cardMove(ctx, tenantID, cardID, r, false)
}

func (s *Service) cardMove(ctx context.Context, tenantID, cardID string, r AmountRequest, recharge bool) (Movement, error) {
	c, err := s.card(ctx, tenantID, cardID)
	if err != nil {
		return Movement{}, err
	}
	var v issuance.Validator
	validAmount(&v, r.Amount)
	if err := v.Err(); err != nil {
		return Movement{}, err
	}
	if c.FundingMode != ModePrepaid {
		return Movement{}, issuance.Errorf(SlugCardNotPrepaid, "card %s is a %s card: only PREPAID cards have a balance of their own", c.ID, modeOf(c.FundingMode))
	}
	program, own := TenantAccount(AccountProgram, tenantID, c.Currency), CardAccount(c.ID)
	if recharge {
		if c.Status.Terminal() {
			return Movement{}, issuance.Errorf(issuance.SlugCardClosed, "card %s is %s: it can no longer be recharged", c.ID, c.Status)
		}
		return s.move(ctx, KindRecharge, tenantID, c.ID, program, own, r.Amount, c.Currency, kafka.TypeLedgerRecharge, true, nil, "")
	}
	return s.move(ctx, KindWithdraw, tenantID, c.ID, own, program, r.Amount, c.Currency, kafka.TypeLedgerWithdraw, true, nil, "")
}

func modeOf(m string) string {
	if m == "" {
		return ModeLimit
	}
	return m
}

// card reads a tenant's card: card_not_found for another tenant's.
func (s *Service) card(ctx context.Context, tenantID, id string) (issuance.Card, error) {
	var c issuance.Card
	err := issuance.ErrNotFound
	if issuance.ValidID(issuance.CardIDPrefix, id) {
		c, err = s.d.Cards.Card(ctx, tenantID, id)
	}
	if errors.Is(err, issuance.ErrNotFound) {
		return c, issuance.Errorf(issuance.SlugCardNotFound, "no card %s", id)
	}
	return c, err
}

// move makes one transfer and publishes its event. The balance fields
// follow the card's account for card moves, the program account otherwise.
func (s *Service) move(ctx context.Context, kind Kind, tenantID, cardID, debit, credit string, amount int64, cur, typ string, cardMove bool,
	audit *Audit, reference string) (Movement, error) {
	now := s.now()
	t := New(kind, tenantID, debit, credit, amount, cur, now)
	t.CardID, t.Reference = cardID, reference
	follow := TenantAccount(AccountProgram, tenantID, cur)
	if cardMove {
		follow = CardAccount(cardID)
	}
	m := Move{TenantID: tenantID, Currency: cur, CardID: cardID, Transfers: []Transfer{t}, Audit: audit,
		Events: func(res Moved) ([]kafka.Event, error) {
			ev, err := MoneyEvent(typ, string(kind), []Transfer{t}, follow, res, "", now)
			return []kafka.Event{ev}, err
		}}
	res, err := s.d.Store.Move(ctx, m)
	var short *Shortfall
	if errors.As(err, &short) {
		return Movement{}, s.insufficient(ctx, tenantID, cur, amount, short.Account, debit, credit)
	}
	if err != nil {
		return Movement{}, err
	}
	a := res.After[follow]
	out := Movement{TransferID: t.ID, Kind: kind, CardID: cardID, Amount: amount, Currency: cur, Account: follow,
		BalanceBefore: res.Before[follow], BalanceAfter: a.Available(), Balance: a.Balance(), CreatedAt: now}
	if cardMove {
		p := res.After[TenantAccount(AccountProgram, tenantID, cur)].Balance()
		out.Program = &p
	}
	return out, nil
}

// insufficient is the insufficient_funds rejection, with the balances of
// the accounts involved (the one short first) as extension members.
func (s *Service) insufficient(ctx context.Context, tenantID, cur string, amount int64, short string, accounts ...string) error {
	var accts []Account
	for _, id := range append([]string{short}, accounts...) {
		if a, err := s.d.Store.Account(ctx, tenantID, id); err == nil && (len(accts) == 0 || a.ID != short) && a.Kind.Customer() {
			accts = append(accts, a)
		}
	}
	return InsufficientFunds(cur, amount, accts...)
}

// FundsError is an insufficient_funds issuance.Error (errors.As finds
// it) with the problem's extension members.
type FundsError struct {
	Problem issuance.Error
	Extra   map[string]any
}

func (e *FundsError) Error() string { return e.Problem.Error() }

// Unwrap gives the issuance.Error the REST adapter maps.
func (e *FundsError) Unwrap() error { return &e.Problem }

// ProblemExtra is what the problem carries besides its slug and detail.
func (e *FundsError) ProblemExtra() map[string]any { return e.Extra }

// InsufficientFunds is the insufficient_funds rejection of a movement of
// amount: the first account is the one short. Its extension members are
// currency, amount, available (the short account's) and balances (each
// customer account involved: program and card).
func InsufficientFunds(cur string, amount int64, accts ...Account) *FundsError {
	e := &FundsError{Problem: issuance.Error{Slug: issuance.SlugInsufficientFunds, Message: fmt.Sprintf("the balance is short of %d %s", amount, cur)},
		Extra: map[string]any{"currency": cur, "amount": amount}}
	balances := map[string]Balance{}
	for i, a := range accts {
		if i == 0 {
			e.Extra["available"] = a.Available()
			e.Problem.Message = fmt.Sprintf("the %s balance has %d %s available, %d needed", a.Kind, a.Available(), cur, amount)
		}
		balances[string(a.Kind)] = a.Balance()
	}
	if len(accts) == 0 {
		e.Extra["available"] = int64(0)
	}
	e.Extra["balances"] = balances
	return e
}

// MoneyEvent builds a ledger.* event for transfers ts that moved money on
// account, as res reports it; authorizationID names the authorization
// they belong to ("": the transfers').
func MoneyEvent(typ, kind string, ts []Transfer, account string, res Moved, authorizationID string, now time.Time) (kafka.Event, error) {
	if len(ts) == 0 {
		return kafka.Event{}, errors.New("ledger: an event needs its transfers")
	}
	if authorizationID == "" {
		authorizationID = ts[0].AuthorizationID
	}
	after := res.After[account]
	d := kafka.MoneyData{TenantID: ts[0].TenantID, CardID: ts[0].CardID, Kind: kind, Currency: ts[0].Currency,
		AuthorizationID: authorizationID, Reference: ts[0].Reference, Account: account,
		BalanceBefore: res.Before[account], BalanceAfter: after.Available(), Pending: after.DebitsPending,
		Posted: after.CreditsPosted - after.DebitsPosted, CreatedAt: now, Flagged: typ == kafka.TypeLedgerForcePosted}
	for _, t := range ts {
		d.TransferIDs = append(d.TransferIDs, t.ID)
		if t.Kind != KindVoid && t.Kind != KindExpire || kind == string(KindExpire) {
			d.Amount += t.Amount
		}
	}
	subject := d.CardID
	if subject == "" {
		subject = d.TenantID
	}
	return kafka.NewEvent(typ, subject, d.TenantID, d, now)
}

// Balances returns the tenant's program balance in every currency it has
// one.
func (s *Service) Balances(ctx context.Context, tenantID string) ([]Balance, error) {
	accts, err := s.d.Store.Accounts(ctx, tenantID, AccountProgram)
	if err != nil {
		return nil, err
	}
	out := make([]Balance, len(accts))
	for i, a := range accts {
		out[i] = a.Balance()
	}
	return out, nil
}

// CardBalance is a card's balance as GET /v1/cards/{id}/balance shows it:
// the card's own (PREPAID) or the program balance it spends (SHARED).
type CardBalance struct {
	CardID      string `json:"card_id"`
	FundingMode string `json:"funding_mode" enum:"SHARED,PREPAID"`
	Account     string `json:"account"`
	Balance
}

// CardBalance returns what a funded card can spend (card_not_funded for a
// LIMIT card).
func (s *Service) CardBalance(ctx context.Context, tenantID, cardID string) (CardBalance, error) {
	c, err := s.card(ctx, tenantID, cardID)
	if err != nil {
		return CardBalance{}, err
	}
	if !Funded(c.FundingMode) {
		return CardBalance{}, issuance.Errorf(SlugCardNotFunded, "card %s is a LIMIT card: it has limits, not a balance (GET /v1/cards/%s/spend)", c.ID, c.ID)
	}
	id := SourceAccount(c.FundingMode, tenantID, c.ID, c.Currency)
	a, err := s.d.Store.Account(ctx, tenantID, id)
	if errors.Is(err, issuance.ErrNotFound) {
		a, err = Account{ID: id, Currency: c.Currency}, nil // no money yet
	}
	if err != nil {
		return CardBalance{}, err
	}
	return CardBalance{CardID: c.ID, FundingMode: c.FundingMode, Account: id, Balance: a.Balance()}, nil
}

// TransferFilter narrows the list of transfers.
type TransferFilter struct {
	issuance.PageRequest
	CardID    string
	AccountID string
	Kind      Kind
	// CreatedAfter and CreatedBefore bound the creation time (both
	// exclusive); nil: unbounded.
	CreatedAfter, CreatedBefore *time.Time
}

// Transfers lists a tenant's transfers, newest first.
func (s *Service) Transfers(ctx context.Context, tenantID string, f TransferFilter) ([]Transfer, bool, error) {
	var v issuance.Validator
	issuance.ValidatePage(&v, f.PageRequest, TransferIDPrefix)
	v.Check(f.CardID == "" || issuance.ValidID(issuance.CardIDPrefix, f.CardID), "card_id", "invalid", "a card id")
	v.Check(f.AccountID == "" || KindOf(f.AccountID) != "", "account_id", "invalid", "an account id (acct_...)")
	v.Check(f.Kind == "" || f.Kind.Valid(), "kind", "invalid", "a transfer kind (docs/ledger.md)")
	v.Check(f.CreatedAfter == nil || f.CreatedBefore == nil || f.CreatedAfter.Before(*f.CreatedBefore), "created_before", "invalid", "after created_after")
	if err := v.Err(); err != nil {
		return nil, false, err
	}
	return s.d.Store.Transfers(ctx, tenantID, f)
}

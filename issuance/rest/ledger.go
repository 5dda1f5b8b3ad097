package rest

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/ledger"
)

// Money (docs/ledger.md): sandbox deposits, the tenant's balances, a
// PREPAID card's recharge and withdraw, a funded card's balance, the list
// of ledger transfers and the daily settlement report. Every answer and
// every filter is the calling tenant's.

type balanceList struct {
	Data []ledger.Balance `json:"data"`
}

// transferView is a ledger transfer as the API shows it.
type transferView struct {
	ID              string      `json:"transfer_id"`
	Kind            ledger.Kind `json:"kind" enum:"deposit,funding_credit,funding_debit,recharge,withdraw,fee,hold,post,void,expire,debit,force_post,refund,credit,reissue"`
	DebitAccount    string      `json:"debit_account"`
	CreditAccount   string      `json:"credit_account"`
	Amount          int64       `json:"amount"`
	Currency        string      `json:"currency"`
	Pending         bool        `json:"pending" doc:"a hold"`
	PendingID       string      `json:"pending_id,omitempty" doc:"the hold a post, void or expire resolves"`
	Forced          bool        `json:"forced" doc:"may take the debit account below zero (captures, clearing, advices)"`
	ExpiresAt       *time.Time  `json:"expires_at,omitempty" doc:"holds: when the hold expires"`
	CardID          string      `json:"card_id,omitempty"`
	AuthorizationID string      `json:"authorization_id,omitempty"`
	Reference       string      `json:"reference,omitempty" doc:"a clearing record's ARN, an operator's funding reference"`
	CreatedAt       time.Time   `json:"created_at"`
}

type transferList page[transferView]

func viewTransfer(t ledger.Transfer) transferView {
	return transferView{ID: t.ID, Kind: t.Kind, DebitAccount: t.Debit, CreditAccount: t.Credit, Amount: t.Amount, Currency: t.Currency,
		Pending: t.Pending, PendingID: t.PendingID, Forced: t.Forced, ExpiresAt: t.ExpiresAt, CardID: t.CardID,
		AuthorizationID: t.AuthorizationID, Reference: t.Reference, CreatedAt: t.CreatedAt}
}

// transferFilterQuery documents the transfer list's filters.
var transferFilterQuery = []queryParam{
	{Name: "card_id", Type: "string", Doc: "transfers of this card"},
	{Name: "account_id", Type: "string", Doc: "transfers debiting or crediting this account (acct_...)"},
	{Name: "kind", Type: "string", Doc: "one transfer kind (docs/ledger.md)"},
	{Name: "created_after", Type: "string", Doc: "RFC 3339 time"},
	{Name: "created_before", Type: "string", Doc: "RFC 3339 time"},
}

// transferFilterOf reads the transfer list's filters.
func transferFilterOf(c *fiber.Ctx, p issuance.PageRequest) (ledger.TransferFilter, error) {
	var v issuance.Validator
	f := ledger.TransferFilter{PageRequest: p, CardID: c.Query("card_id"), AccountID: c.Query("account_id"), Kind: ledger.Kind(c.Query("kind")),
		CreatedAfter: timeQuery(c, "created_after", &v), CreatedBefore: timeQuery(c, "created_before", &v)}
	return f, v.Err()
}

func (s *Server) simulateDeposit(c *fiber.Ctx) error {
	var r ledger.DepositRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	m, err := s.deps.Ledger.Deposit(c.UserContext(), tenantOf(c).ID, r)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(m)
}

func (s *Server) listBalances(c *fiber.Ctx) error {
	b, err := s.deps.Ledger.Balances(c.UserContext(), tenantOf(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(balanceList{Data: b})
}

// cardMoney answers a recharge or withdraw of the card named by :id.
func (s *Server) cardMoney(move func(*ledger.Service, context.Context, string, string, ledger.AmountRequest) (ledger.Movement, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := cardIDParam(c)
		if err != nil {
			return err
		}
		var r ledger.AmountRequest
		if err := decodeJSON(c, &r); err != nil {
			return err
		}
		m, err := move(s.deps.Ledger, c.UserContext(), tenantOf(c).ID, id, r)
		if err != nil {
			return err
		}
		return c.JSON(m)
	}
}

func (s *Server) getCardBalance(c *fiber.Ctx) error {
	b, err := s.deps.Ledger.CardBalance(c.UserContext(), tenantOf(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(b)
}

func (s *Server) getSettlement(c *fiber.Ctx) error {
	date := c.Query("date")
	if date == "" {
		date = s.deps.Now().UTC().Format(time.DateOnly)
	}
	r, err := s.deps.Ledger.Settlement(c.UserContext(), tenantOf(c).ID, date)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

// ledgerRoutes are the money routes, when the ledger is wired.
func (s *Server) ledgerRoutes() []route {
	if s.deps.Ledger == nil {
		return nil
	}
	money := operation{Tag: "money", Idempotent: true, Status: fiber.StatusOK, Request: ledger.AmountRequest{}, Response: ledger.Movement{}}
	return []route{
		{post, "/v1/simulator/deposits", s.simulateDeposit, operation{ID: "simulateDeposit", Tag: "simulator", SandboxOnly: true, Idempotent: true,
			Summary: "Credit the program balance in a currency (sandbox; ledger.deposit)", Request: ledger.DepositRequest{}, Response: ledger.Movement{}}},
		{get, "/v1/balances", s.listBalances, operation{ID: "listBalances", Tag: "money",
			Summary: "The program balance in each currency: available, pending, posted", Response: balanceList{}}},
		{post, "/v1/cards/:id/recharge", s.cardMoney((*ledger.Service).Recharge), money.named("rechargeCard",
			"Move money from the program balance to a PREPAID card (ledger.recharge); answers balance_before and balance_after")},
		{post, "/v1/cards/:id/withdraw", s.cardMoney((*ledger.Service).Withdraw), money.named("withdrawCard",
			"Move money from a PREPAID card back to the program balance (ledger.withdraw); answers balance_before and balance_after")},
		{get, "/v1/cards/:id/balance", s.getCardBalance, operation{ID: "getCardBalance", Tag: "money",
			Summary: "What a funded card can spend: its own balance (PREPAID) or the program balance (SHARED)", Response: ledger.CardBalance{}}},
		{get, "/v1/ledger/transfers", listHandler(s.deps.Ledger, transferFilterOf, (*ledger.Service).Transfers, viewTransfer), operation{ID: "listLedgerTransfers", Tag: "money",
			Summary: "The tenant's ledger transfers, newest first", Response: transferList{},
			Query: append(append([]queryParam{}, pageQueryParams...), transferFilterQuery...)}},
		{get, "/v1/reports/settlement", s.getSettlement, operation{ID: "getSettlementReport", Tag: "money",
			Summary: "The day's clearing per currency: presentments, refunds, reversals, unmatched records and the net", Response: ledger.SettlementReport{},
			Query: []queryParam{{Name: "date", Type: "string", Doc: "YYYY-MM-DD (UTC); default today"}}}},
	}
}

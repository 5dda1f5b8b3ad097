package rest

import (
	"context"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/iso/digit"
	"github.com/cardhost/cardhost/issuance"
)

// AuthorizationReader reads the authorization host's records for a tenant
// (implemented by the PostgreSQL ledger). Another tenant's ids answer
// issuance.ErrNotFound.
type AuthorizationReader interface {
	CardAuthorizations(ctx context.Context, tenantID, cardID string, p issuance.PageRequest) ([]*host.Authorization, bool, error)
	TenantAuthorization(ctx context.Context, tenantID, id string) (*host.Authorization, error)
	TenantCard(ctx context.Context, tenantID, cardID string) (*host.Card, error)
}

// Simulator drives the authorization host through real ISO 8583 messages
// on its own TCP port (sandbox only) and returns the stored record.
type Simulator interface {
	Authorize(ctx context.Context, tenantID string, r SimAuthorization) (*host.Authorization, error)
	Capture(ctx context.Context, tenantID, authorizationID string, amount int64) (*host.Authorization, error)
	Reverse(ctx context.Context, tenantID, authorizationID string, remaining *int64) (*host.Authorization, error)
	// Expire expires the authorization's hold now (a funded card's) and
	// returns the authorization after it; Clear sends a clearing record of
	// it through the clearing path (cardhost clearing import) and returns
	// the record stored.
	Expire(ctx context.Context, tenantID, authorizationID string) (*host.Authorization, error)
	Clear(ctx context.Context, tenantID, authorizationID string, r SimClearing) (*host.Authorization, error)
}

// SimClearing is a simulated clearing record of an authorization.
type SimClearing struct {
	Amount int64  `json:"amount" required:"true" doc:"presented amount, minor units; more than held for a tip"`
	Type   string `json:"type,omitempty" enum:"purchase,refund,reversal" doc:"default purchase"`
	ARN    string `json:"arn,omitempty" doc:"acquirer reference number, 23 digits; default a new one (a reversal names its presentment's)"`
}

type simExpireRequest struct{}

// SimAuthorization is a simulated authorization request.
type SimAuthorization struct {
	CardID           string `json:"card_id" required:"true"`
	Amount           int64  `json:"amount" required:"true" doc:"minor units"`
	Currency         string `json:"currency,omitempty" doc:"ISO 4217 alpha; default the card's"`
	MCC              string `json:"mcc,omitempty" doc:"default 5999"`
	Country          string `json:"country,omitempty" doc:"acquirer country, ISO 3166-1 alpha-2; default US"`
	EntryMode        string `json:"entry_mode,omitempty" enum:"ecommerce,manual" doc:"default ecommerce"`
	ProcessingCode   string `json:"processing_code,omitempty" doc:"field 3; default 000000 (purchase)"`
	MerchantName     string `json:"merchant_name,omitempty"`
	PartialSupported bool   `json:"partial_supported,omitempty"`
	Financial        bool   `json:"financial,omitempty" doc:"send an 0200 (authorize and capture) instead of an 0100"`
	CVV2             string `json:"cvv2,omitempty" doc:"field 48 element 01: three digits, or none; default the card's own"`
	Expiry           string `json:"expiry,omitempty" doc:"field 14, YYMM, or none; default the card's"`
}

type simCaptureRequest struct {
	Amount int64 `json:"amount" required:"true" doc:"final amount, minor units; may be less than authorized"`
}

type simReversalRequest struct {
	Remaining *int64 `json:"remaining_amount,omitempty" doc:"amount that stays authorized (partial reversal); omit to reverse everything"`
}

// authorizationView is a stored authorization as the API shows it: never a
// PAN, track data, PIN block or CVV.
type authorizationView struct {
	ID                      string     `json:"authorization_id"`
	CardID                  string     `json:"card_id"`
	Kind                    string     `json:"kind" enum:"authorization,financial,advice,capture,reversal,reversal_advice,clearing,clearing_reversal,expiry"`
	MTI                     string     `json:"mti"`
	ProcessingCode          string     `json:"processing_code"`
	Amount                  int64      `json:"amount"`
	Currency                string     `json:"currency"`
	ApprovedAmount          int64      `json:"approved_amount"`
	CardAmount              int64      `json:"card_amount" doc:"what the decision applied to the card, in the card's currency"`
	ResponseCode            string     `json:"response_code"`
	Reason                  string     `json:"reason"`
	ApprovalCode            string     `json:"approval_code,omitempty"`
	Status                  string     `json:"status" enum:"OPEN,CAPTURED,REVERSED,DECLINED,APPLIED,UNMATCHED,EXPIRED"`
	HeldAmount              int64      `json:"held_amount"`
	CapturedAmount          int64      `json:"captured_amount"`
	ReversedAmount          int64      `json:"reversed_amount"`
	OriginalAuthorizationID string     `json:"original_authorization_id,omitempty"`
	HoldID                  string     `json:"hold_id,omitempty" doc:"funded cards: the ledger hold (pending transfer) of the authorization"`
	HoldAmount              int64      `json:"hold_amount,omitempty" doc:"funded cards: what the hold still reserves"`
	HoldExpiresAt           *time.Time `json:"hold_expires_at,omitempty" doc:"funded cards: when the hold expires unless posted"`
	ClearedAmount           int64      `json:"cleared_amount,omitempty" doc:"what clearing records presented of it"`
	MCC                     string     `json:"mcc"`
	MerchantID              string     `json:"merchant_id"`
	MerchantName            string     `json:"merchant_name,omitempty"`
	MerchantCity            string     `json:"merchant_city,omitempty"`
	Country                 string     `json:"country,omitempty"`
	TerminalID              string     `json:"terminal_id"`
	AcquirerID              string     `json:"acquirer_id"`
	STAN                    string     `json:"stan"`
	RRN                     string     `json:"rrn"`
	EntryMode               string     `json:"entry_mode"`
	ECI                     string     `json:"eci,omitempty"`
	ReceivedAt              time.Time  `json:"received_at"`
	DecidedAt               time.Time  `json:"decided_at"`
	DecisionMicros          int64      `json:"decision_us" doc:"time from the last byte received to the decision"`
	DecidedBy               string     `json:"decided_by" enum:"host,issuer,issuer_timeout,issuer_error,stand_in" doc:"who decided (docs/webhooks.md, Authorization decisions)"`
	IssuerLatencyMS         *int64     `json:"issuer_latency_ms,omitempty" doc:"how long the issuer's decision endpoint took, when it was called"`
}

type authorizationList struct {
	Data    []authorizationView `json:"data"`
	HasMore bool                `json:"has_more"`
}

func viewAuthorization(a *host.Authorization) authorizationView {
	v := authorizationView{
		ID: a.ID, CardID: a.CardID, Kind: a.Kind.String(), MTI: a.MTI, ProcessingCode: a.ProcessingCode,
		Amount: a.Amount, Currency: a.Currency, ApprovedAmount: a.ApprovedAmount, CardAmount: a.CardAmount,
		ResponseCode: string(a.Code), Reason: string(a.Reason), ApprovalCode: a.ApprovalCode, Status: string(a.Status),
		HeldAmount: a.Held, CapturedAmount: a.CapturedAmount, ReversedAmount: a.ReversedAmount, OriginalAuthorizationID: a.OriginalID,
		HoldID: a.HoldID, HoldAmount: a.HoldAmount, HoldExpiresAt: a.HoldExpiresAt, ClearedAmount: a.Cleared,
		MCC: a.MCC, MerchantID: a.Merchant, TerminalID: a.Terminal, AcquirerID: a.AcquirerID, STAN: a.STAN, RRN: a.RRN,
		EntryMode: a.EntryMode, ECI: a.ECI, ReceivedAt: a.ReceivedAt, DecidedAt: a.DecidedAt,
		DecisionMicros: a.DecidedAt.Sub(a.ReceivedAt).Microseconds(),
		DecidedBy:      string(a.DecidedBy), IssuerLatencyMS: a.IssuerLatencyMS(),
	}
	if v.DecidedBy == "" {
		v.DecidedBy = string(host.DecidedByHost)
	}
	if c, ok := issuance.CurrencyAlpha(a.Currency); ok {
		v.Currency = c
	}
	if c, ok := issuance.CountryAlpha(a.Country); ok {
		v.Country = c
	}
	if len(a.Acceptor) >= 25 {
		v.MerchantName = strings.TrimSpace(a.Acceptor[:25])
		if len(a.Acceptor) >= 38 {
			v.MerchantCity = strings.TrimSpace(a.Acceptor[25:38])
		}
	}
	return v
}

// spendView is a card's spend against each control.
type spendView struct {
	CardID           string         `json:"card_id"`
	Currency         string         `json:"currency"`
	CardLimit        *limitSpend    `json:"card_limit,omitempty"`
	SpendingControls []controlSpend `json:"spending_controls"`
}

type limitSpend struct {
	Limit     int64 `json:"limit"`
	Spent     int64 `json:"spent"`
	Available int64 `json:"available"`
}

type controlSpend struct {
	Interval        string     `json:"interval"`
	MCC             []string   `json:"mcc,omitempty"`
	AmountLimit     *int64     `json:"amount_limit,omitempty"`
	CountLimit      *int       `json:"count_limit,omitempty"`
	Spent           int64      `json:"spent"`
	Count           int        `json:"count"`
	AvailableAmount *int64     `json:"available_amount,omitempty"`
	AvailableCount  *int       `json:"available_count,omitempty"`
	WindowStart     *time.Time `json:"window_start,omitempty"`
	WindowEnd       *time.Time `json:"window_end,omitempty"`
}

// windowEnd is the start of the window after the one starting at start.
func windowEnd(i issuance.Interval, start time.Time) *time.Time {
	var t time.Time
	switch i {
	case issuance.Daily:
		t = start.AddDate(0, 0, 1)
	case issuance.Weekly:
		t = start.AddDate(0, 0, 7)
	case issuance.Monthly:
		t = start.AddDate(0, 1, 0)
	case issuance.Yearly:
		t = start.AddDate(1, 0, 0)
	default:
		return nil
	}
	return &t
}

func viewSpend(c *host.Card, now time.Time) spendView {
	v := spendView{CardID: c.ID, Currency: c.Currency, SpendingControls: []controlSpend{}}
	if c.CardLimit != nil {
		v.CardLimit = &limitSpend{Limit: *c.CardLimit, Spent: c.TotalSpent, Available: *c.CardLimit - c.TotalSpent}
	}
	for _, sc := range c.SpendingControls {
		cs := controlSpend{Interval: string(sc.Interval), MCC: sc.MCC, AmountLimit: sc.Amount, CountLimit: sc.Count}
		if sc.Interval != issuance.PerTransaction {
			start := sc.Interval.WindowStart(now)
			cur := c.Current(sc, now)
			cs.Spent, cs.Count = cur.Amount, cur.Count
			if sc.Interval != issuance.AllTime {
				cs.WindowStart, cs.WindowEnd = &start, windowEnd(sc.Interval, start)
			}
		}
		if sc.Amount != nil {
			a := *sc.Amount - cs.Spent
			cs.AvailableAmount = &a
		}
		if sc.Count != nil && sc.Interval != issuance.PerTransaction {
			n := *sc.Count - cs.Count
			cs.AvailableCount = &n
		}
		v.SpendingControls = append(v.SpendingControls, cs)
	}
	return v
}

func (s *Server) listCardAuthorizations(c *fiber.Ctx) error {
	p, err := pageOf(c)
	if err != nil {
		return err
	}
	var v issuance.Validator
	issuance.ValidatePage(&v, p, issuance.AuthorizationIDPrefix)
	if err := v.Err(); err != nil {
		return err
	}
	if !issuance.ValidID(issuance.CardIDPrefix, c.Params("id")) {
		return issuance.ErrNotFound
	}
	list, more, err := s.deps.Authorizations.CardAuthorizations(c.UserContext(), tenantOf(c).ID, c.Params("id"), p)
	if err != nil {
		return err
	}
	out := authorizationList{Data: make([]authorizationView, len(list)), HasMore: more}
	for i, a := range list {
		out.Data[i] = viewAuthorization(a)
	}
	return c.JSON(out)
}

// getValid answers the tenant's record named by :id when it is a valid id
// with prefix; any other id answers 404 without a query.
func getValid[T, V any](prefix string, read func(ctx context.Context, tenantID, id string) (T, error), view func(T) V) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !issuance.ValidID(prefix, c.Params("id")) {
			return issuance.ErrNotFound
		}
		t, err := read(c.UserContext(), tenantOf(c).ID, c.Params("id"))
		if err != nil {
			return err
		}
		return c.JSON(view(t))
	}
}

// spendNow is a card's spend at the server's clock.
func (s *Server) spendNow(card *host.Card) spendView { return viewSpend(card, s.deps.Now().UTC()) }

// simulated answers 201 with the record of a simulated message.
func simulated(c *fiber.Ctx, a *host.Authorization, err error) error {
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(viewAuthorization(a))
}

// decodeValid decodes the request body into v and runs check on it.
func decodeValid(c *fiber.Ctx, v any, check func(*issuance.Validator)) error {
	if err := decodeJSON(c, v); err != nil {
		return err
	}
	var val issuance.Validator
	check(&val)
	return val.Err()
}

func (s *Server) simulateAuthorization(c *fiber.Ctx) error {
	var req SimAuthorization
	if err := decodeValid(c, &req, func(v *issuance.Validator) {
		v.Check(issuance.ValidID(issuance.CardIDPrefix, req.CardID), "card_id", "invalid", "a card id")
		v.Check(req.Amount >= 0 && req.Amount <= issuance.MaxAmount, "amount", "out_of_range", "0 to 999999999999 minor units")
		v.Check(req.Currency == "" || issuance.ValidCurrency(req.Currency), "currency", "invalid", "an ISO 4217 alpha code")
		v.Check(req.MCC == "" || issuance.ValidMCC(req.MCC), "mcc", "invalid", "a four-digit MCC")
		v.Check(req.Country == "" || issuance.ValidCountry(req.Country), "country", "invalid", "an ISO 3166-1 alpha-2 code")
		v.Check(req.EntryMode == "" || req.EntryMode == "ecommerce" || req.EntryMode == "manual", "entry_mode", "invalid", "ecommerce or manual")
		v.Check(req.ProcessingCode == "" || len(req.ProcessingCode) == 6, "processing_code", "invalid", "six digits")
		v.Check(len(req.MerchantName) <= 25, "merchant_name", "too_long", "at most 25 characters")
		v.Check(req.CVV2 == "" || req.CVV2 == "none" || digit.N(req.CVV2, 3), "cvv2", "invalid", "three digits, or none")
		v.Check(req.Expiry == "" || req.Expiry == "none" || digit.N(req.Expiry, 4), "expiry", "invalid", "YYMM, or none")
	}); err != nil {
		return err
	}
	a, err := s.deps.Simulator.Authorize(c.UserContext(), tenantOf(c).ID, req)
	return simulated(c, a, err)
}

// simulateOnAuthorization decodes and checks a body R, then sends a
// message about the authorization named by :id.
func simulateOnAuthorization[R any](check func(*issuance.Validator, R), send func(c *fiber.Ctx, id string, r R) (*host.Authorization, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req R
		if err := decodeValid(c, &req, func(v *issuance.Validator) { check(v, req) }); err != nil {
			return err
		}
		if !issuance.ValidID(issuance.AuthorizationIDPrefix, c.Params("id")) {
			return issuance.ErrNotFound
		}
		a, err := send(c, c.Params("id"), req)
		return simulated(c, a, err)
	}
}

func checkCapture(v *issuance.Validator, req simCaptureRequest) {
	v.Check(req.Amount > 0 && req.Amount <= issuance.MaxAmount, "amount", "out_of_range", "1 to 999999999999 minor units")
}

func (s *Server) simulateCapture(c *fiber.Ctx, id string, req simCaptureRequest) (*host.Authorization, error) {
	return s.deps.Simulator.Capture(c.UserContext(), tenantOf(c).ID, id, req.Amount)
}

func checkReversal(v *issuance.Validator, req simReversalRequest) {
	v.Check(req.Remaining == nil || *req.Remaining >= 0 && *req.Remaining <= issuance.MaxAmount, "remaining_amount", "out_of_range", "0 to 999999999999 minor units")
}

func (s *Server) simulateReversal(c *fiber.Ctx, id string, req simReversalRequest) (*host.Authorization, error) {
	return s.deps.Simulator.Reverse(c.UserContext(), tenantOf(c).ID, id, req.Remaining)
}

func checkClearing(v *issuance.Validator, req SimClearing) {
	v.Check(req.Amount > 0 && req.Amount <= issuance.MaxAmount, "amount", "out_of_range", "1 to 999999999999 minor units")
	v.Check(req.Type == "" || req.Type == "purchase" || req.Type == "refund" || req.Type == "reversal", "type", "invalid", "purchase, refund or reversal")
	v.Check(req.ARN == "" || len(req.ARN) == 23 && digitsOnly(req.ARN), "arn", "invalid", "23 digits")
	v.Check(req.Type != "reversal" || req.ARN != "", "arn", "required", "a reversal names the ARN of the presentment it reverses")
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (s *Server) simulateClearing(c *fiber.Ctx, id string, req SimClearing) (*host.Authorization, error) {
	return s.deps.Simulator.Clear(c.UserContext(), tenantOf(c).ID, id, req)
}

func (s *Server) simulateExpiry(c *fiber.Ctx, id string, _ simExpireRequest) (*host.Authorization, error) {
	return s.deps.Simulator.Expire(c.UserContext(), tenantOf(c).ID, id)
}

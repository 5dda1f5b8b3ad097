package scenario

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
)

// API is a small typed client for cardhost's REST API (docs/api.md): what
// the simulator needs to set up its cards. It authenticates with a bearer
// API key, sends an Idempotency-Key with every POST that takes one, and
// turns problem+json answers into *APIError values. It is safe for
// concurrent use.
type API struct {
	base string
	key  string
	hc   *http.Client
}

// NewAPI returns a client for the API at baseURL (e.g.
// "http://127.0.0.1:8080") with the bearer key. timeout bounds each call
// (0: 10 seconds).
func NewAPI(baseURL, key string, timeout time.Duration) (*API, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: API URL must be http(s)://host[:port]", ErrAPIConfig)
	}
	if key == "" {
		return nil, fmt.Errorf("%w: API key is required", ErrAPIConfig)
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &API{base: strings.TrimRight(baseURL, "/"), key: key, hc: &http.Client{Timeout: timeout}}, nil
}

// ErrAPIConfig: the API client was given an unusable URL or key.
var ErrAPIConfig = errors.New("termsim: invalid API configuration")

// APIError is a problem details answer (RFC 9457) from the API.
type APIError struct {
	// Status is the HTTP status.
	Status int `json:"status"`
	// Slug is the machine-readable problem (e.g. "product_not_found").
	Slug   string `json:"slug"`
	Title  string `json:"title"`  // the HTTP status text
	Detail string `json:"detail"` // what went wrong
	// Errors are the per-field validation errors.
	Errors []struct {
		Field   string `json:"field"`
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
	RequestID string `json:"request_id"` // for the issuer's logs
	// Op is the call, e.g. "POST /v1/cards".
	Op string `json:"-"`
}

// Error returns e.g. "POST /v1/cards: 422 validation_failed: ... (product_id: required)".
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d %s", e.Op, e.Status, e.Slug)
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	} else if e.Title != "" {
		b.WriteString(": " + e.Title)
	}
	for i, f := range e.Errors {
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", f.Field, f.Message)
		if i == len(e.Errors)-1 {
			b.WriteString(")")
		}
	}
	return b.String()
}

// newIdempotencyKey returns a random key for one logical POST.
func newIdempotencyKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "termsim-" + hex.EncodeToString(b)
}

// call sends one request. body (when not nil) is sent as JSON; idem sends
// an Idempotency-Key, the same one on the one retry made after a transport
// error, so a retried POST never creates twice. out (when not nil)
// receives the JSON answer.
func (a *API) call(ctx context.Context, method, path string, body, out any, idem bool) error {
	op := method + " " + path
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("%s: encoding request: %w", op, err)
		}
	}
	key := ""
	if idem {
		key = newIdempotencyKey()
	}
	transportRetried := false
	for throttled := 0; ; {
		req, err := http.NewRequestWithContext(ctx, method, a.base+path, bytes.NewReader(payload))
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		req.Header.Set("Authorization", "Bearer "+a.key)
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := a.hc.Do(req)
		if err != nil {
			// One retry after a transport error, only where it cannot
			// act twice: reads, and POSTs with their Idempotency-Key.
			if transportRetried || ctx.Err() != nil || (method != http.MethodGet && key == "") {
				return fmt.Errorf("%s: %w", op, err)
			}
			transportRetried = true
			continue
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("%s: reading answer: %w", op, err)
		}
		// The API limits requests per tenant: wait as told and try again
		// (the same Idempotency-Key), a bounded number of times.
		if resp.StatusCode == http.StatusTooManyRequests && throttled < maxThrottled {
			throttled++
			wait := 200 * time.Millisecond
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
				wait = time.Duration(s) * time.Second
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("%s: %w", op, ctx.Err())
			}
			continue
		}
		if resp.StatusCode >= 300 {
			e := &APIError{Status: resp.StatusCode, Op: op}
			if json.Unmarshal(data, e) != nil || e.Slug == "" {
				e.Slug = "http_" + strconv.Itoa(resp.StatusCode)
			}
			e.Status = resp.StatusCode
			return e
		}
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("%s: decoding answer: %w", op, err)
			}
		}
		return nil
	}
}

// maxThrottled is how many 429 answers one call waits out.
const maxThrottled = 30

// SpendingControl is one spending control (DESIGN.md "Card domain").
// Its members are the API's JSON members of the same names (docs/api.md).
type SpendingControl struct {
	Amount   *int64   `json:"amount,omitempty" yaml:"amount,omitempty"`
	Count    *int     `json:"count,omitempty" yaml:"count,omitempty"`
	Interval string   `json:"interval" yaml:"interval"`
	MCC      []string `json:"mcc,omitempty" yaml:"mcc,omitempty"`
}

// Channels allow or forbid card channels (nil: allowed).
// Its members are the API's JSON members of the same names (docs/api.md).
type Channels struct {
	Ecommerce   *bool `json:"ecommerce,omitempty" yaml:"ecommerce,omitempty"`
	ATM         *bool `json:"atm,omitempty" yaml:"atm,omitempty"`
	Contactless *bool `json:"contactless,omitempty" yaml:"contactless,omitempty"`
	Magstripe   *bool `json:"magstripe,omitempty" yaml:"magstripe,omitempty"`
	Chip        *bool `json:"chip,omitempty" yaml:"chip,omitempty"`
	Manual      *bool `json:"manual,omitempty" yaml:"manual,omitempty"`
}

// RiskControls are a card's risk controls.
// Its members are the API's JSON members of the same names (docs/api.md).
type RiskControls struct {
	Allow3DS         *bool    `json:"allow_3ds_transactions,omitempty" yaml:"allow_3ds_transactions,omitempty"`
	AllowedMCC       []string `json:"allowed_mcc,omitempty" yaml:"allowed_mcc,omitempty"`
	BlockedMCC       []string `json:"blocked_mcc,omitempty" yaml:"blocked_mcc,omitempty"`
	AllowedCountries []string `json:"allowed_countries,omitempty" yaml:"allowed_countries,omitempty"`
	Channels         Channels `json:"channels,omitempty" yaml:"channels,omitempty"`
}

// CardRequest is the body of POST /v1/cards.
// Its members are the API's JSON members of the same names (docs/api.md).
type CardRequest struct {
	ProductID         string            `json:"product_id"`
	CardholderID      string            `json:"cardholder_id,omitempty"`
	CardHolderName    string            `json:"card_holder_name,omitempty"`
	ReferenceID       string            `json:"reference_id,omitempty"`
	Type              string            `json:"type,omitempty"`
	Currency          string            `json:"currency,omitempty"`
	CardLimit         *int64            `json:"card_limit,omitempty"`
	SpendingControls  []SpendingControl `json:"spending_controls,omitempty"`
	RiskControls      *RiskControls     `json:"risk_controls,omitempty"`
	UsageType         string            `json:"usage_type,omitempty"`
	AutoCancelTrigger string            `json:"auto_cancel_trigger,omitempty"`
	ExpiryAt          *time.Time        `json:"expiry_at,omitempty"`
	PINLength         int               `json:"pin_length,omitempty"`
	ShippingAddress   *Address          `json:"shipping_address,omitempty"`
}

// Address is a postal address (shipping address of PLASTIC cards).
// Its members are the API's JSON members of the same names (docs/api.md).
type Address struct {
	Line1   string `json:"line1"`
	City    string `json:"city"`
	Country string `json:"country"`
}

// CardInfo is a card as the API shows it (no card data).
// Its members are the API's JSON members of the same names (docs/api.md).
type CardInfo struct {
	CardID    string `json:"card_id"`
	Status    string `json:"status"`
	ProductID string `json:"product_id"`
	Network   string `json:"network"`
	MaskedPAN string `json:"masked_pan"`
	Last4     string `json:"last4"`
	Expiry    string `json:"expiry"`
	Currency  string `json:"currency"`
	UsageType string `json:"usage_type"`
	PINSet    bool   `json:"pin_set"`
}

// CreateCard creates a card (idempotent).
func (a *API) CreateCard(ctx context.Context, r CardRequest) (CardInfo, error) {
	return do[CardInfo](ctx, a, http.MethodPost, "/v1/cards", r, true)
}

// Card reads a card.
func (a *API) Card(ctx context.Context, id string) (CardInfo, error) {
	return do[CardInfo](ctx, a, http.MethodGet, "/v1/cards/"+url.PathEscape(id), nil, false)
}

// CardAction moves a card's status: action freeze, unfreeze, block (reason
// lost, stolen, fraud or other) or cancel; or, action reset_cvv2_tries,
// resets its count of wrong CVV2s (POST /v1/cards/{id}/cvv2-tries/reset).
func (a *API) CardAction(ctx context.Context, id, action, reason string) (CardInfo, error) {
	switch action {
	case "freeze", "unfreeze", "block", "cancel":
	case "reset_cvv2_tries":
		action = "cvv2-tries/reset"
	default:
		return CardInfo{}, fmt.Errorf("%w: card action %q is not freeze, unfreeze, block, cancel or reset_cvv2_tries", ErrAPIConfig, action)
	}
	var body any
	if reason != "" {
		body = map[string]string{"reason": reason}
	}
	return do[CardInfo](ctx, a, http.MethodPost, "/v1/cards/"+url.PathEscape(id)+"/"+action, body, true)
}

// CardUpdate is the body of PATCH /v1/cards/{id}; nil members stay.
// Its members are the API's JSON members of the same names (docs/api.md).
type CardUpdate struct {
	CardLimit        *int64             `json:"card_limit,omitempty"`
	SpendingControls *[]SpendingControl `json:"spending_controls,omitempty"`
	RiskControls     *RiskControls      `json:"risk_controls,omitempty"`
	ExpiryAt         *time.Time         `json:"expiry_at,omitempty"`
}

// UpdateCard changes a card's controls.
func (a *API) UpdateCard(ctx context.Context, id string, u CardUpdate) (CardInfo, error) {
	return do[CardInfo](ctx, a, http.MethodPatch, "/v1/cards/"+url.PathEscape(id), u, false)
}

// SetSandboxPIN sets the card's PIN from a clear test PIN (sandbox only;
// the PIN is then part of the personalisation export).
func (a *API) SetSandboxPIN(ctx context.Context, id, pin string) (CardInfo, error) {
	return do[CardInfo](ctx, a, http.MethodPost, "/v1/simulator/cards/"+url.PathEscape(id)+"/pin", map[string]string{"pin": pin}, false)
}

// ExportPerso exports a card's sealed personalisation record (sandbox).
func (a *API) ExportPerso(ctx context.Context, id string) (terminal.PersoExport, error) {
	return do[terminal.PersoExport](ctx, a, http.MethodPost, "/v1/simulator/cards/"+url.PathEscape(id)+"/perso", nil, false)
}

// Template is a data prep template (the members termsim uses).
// Its members are the API's JSON members of the same names (docs/api.md).
type Template struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Network string `json:"network"`
	CVN     int    `json:"cvn"`
}

// Templates lists the tenant's data prep templates (every page).
func (a *API) Templates(ctx context.Context) ([]Template, error) {
	return listAll[Template](ctx, a, "/v1/data-prep-templates", func(t Template) string { return t.ID })
}

// Product is a card product (the members termsim uses).
// Its members are the API's JSON members of the same names (docs/api.md).
type Product struct {
	ID                string `json:"product_id"`
	Name              string `json:"name"`
	LayoutID          string `json:"layout_id"`
	TemplateID        string `json:"data_prep_template_id"`
	DefaultEmbosserID string `json:"default_embosser_id"`
	Currency          string `json:"currency"`
	CardType          string `json:"card_type"`
	Status            string `json:"status"`
	CVV2Policy        string `json:"cvv2_policy"`
	CVV2MaxTries      int    `json:"cvv2_max_tries"`
	FundingMode       string `json:"funding_mode"`
}

// ProductRequest is the body of POST /v1/card-products.
// Its members are the API's JSON members of the same names (docs/api.md).
type ProductRequest struct {
	Name              string            `json:"name"`
	LayoutID          string            `json:"layout_id"`
	TemplateID        string            `json:"data_prep_template_id"`
	DefaultEmbosserID string            `json:"default_embosser_id"`
	Currency          string            `json:"currency"`
	CardType          string            `json:"card_type"`
	ValidityMonths    int               `json:"validity_months,omitempty"`
	CardLimit         *int64            `json:"card_limit,omitempty"`
	SpendingControls  []SpendingControl `json:"spending_controls,omitempty"`
	RiskControls      *RiskControls     `json:"risk_controls,omitempty"`
	CVV2Policy        string            `json:"cvv2_policy,omitempty"`
	CVV2MaxTries      int               `json:"cvv2_max_tries,omitempty"`
	FundingMode       string            `json:"funding_mode,omitempty"`
}

// Embosser is an embosser (the members termsim uses).
// Its members are the API's JSON members of the same names (docs/api.md).
type Embosser struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Type        string `json:"type"`
	KEKRef      string `json:"transport_key_reference"`
	ManualIssue bool   `json:"manual_issue"`
}

// Embossers lists the tenant's embossers (every page).
func (a *API) Embossers(ctx context.Context) ([]Embosser, error) {
	return listAll[Embosser](ctx, a, "/v1/embossers", func(e Embosser) string { return e.ID })
}

// CreateEmbosser creates a LOOPBACK embosser (idempotent); with manual
// issue its cards stay PROVISIONED until the simulator's issue call.
func (a *API) CreateEmbosser(ctx context.Context, name, kekRef string, manualIssue bool) (Embosser, error) {
	body := map[string]any{"name": name, "type": "LOOPBACK", "transport_key_reference": kekRef, "manual_issue": manualIssue}
	return do[Embosser](ctx, a, http.MethodPost, "/v1/embossers", body, true)
}

// Products lists the tenant's card products (every page).
func (a *API) Products(ctx context.Context) ([]Product, error) {
	return listAll[Product](ctx, a, "/v1/card-products", func(p Product) string { return p.ID })
}

// CreateProduct creates a card product (idempotent).
func (a *API) CreateProduct(ctx context.Context, r ProductRequest) (Product, error) {
	return do[Product](ctx, a, http.MethodPost, "/v1/card-products", r, true)
}

// CardholderRequest is the body of POST /v1/cardholders.
// Its members are the API's JSON members of the same names (docs/api.md).
type CardholderRequest struct {
	FirstName   string   `json:"first_name"`
	LastName    string   `json:"last_name"`
	Email       string   `json:"email,omitempty"`
	Phone       string   `json:"phone,omitempty"`
	BirthDate   string   `json:"birth_date,omitempty"` // YYYY-MM-DD
	Nationality string   `json:"nationality,omitempty"`
	Address     *Address `json:"address,omitempty"`
}

// Cardholder is a cardholder (the members termsim uses).
// Its members are the API's JSON members of the same names (docs/api.md).
type Cardholder struct {
	ID        string `json:"cardholder_id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	KYCStatus string `json:"kyc_status"`
}

// CreateCardholder creates a cardholder (idempotent).
func (a *API) CreateCardholder(ctx context.Context, r CardholderRequest) (Cardholder, error) {
	return do[Cardholder](ctx, a, http.MethodPost, "/v1/cardholders", r, true)
}

// Authorization is a stored authorization record as the API shows it.
// Its members are the API's JSON members of the same names (docs/api.md).
type Authorization struct {
	ID             string `json:"authorization_id"`
	CardID         string `json:"card_id"`
	Kind           string `json:"kind"`
	MTI            string `json:"mti"`
	Amount         int64  `json:"amount"`
	ApprovedAmount int64  `json:"approved_amount"`
	ResponseCode   string `json:"response_code"`
	Reason         string `json:"reason"`
	ApprovalCode   string `json:"approval_code"`
	Status         string `json:"status"`
	TerminalID     string `json:"terminal_id"`
	STAN           string `json:"stan"`
	RRN            string `json:"rrn"`
}

// CardAuthorizations lists a card's authorizations, newest first (the
// first page of up to 100).
func (a *API) CardAuthorizations(ctx context.Context, cardID string) ([]Authorization, error) {
	var page struct {
		Data []Authorization `json:"data"`
	}
	err := a.call(ctx, http.MethodGet, "/v1/cards/"+url.PathEscape(cardID)+"/authorizations?limit=100", nil, &page, false)
	return page.Data, err
}

// Balance is an account balance (docs/ledger.md).
// Its members are the API's JSON members of the same names (docs/api.md).
type Balance struct {
	Currency  string `json:"currency"`
	Available int64  `json:"available"`
	Pending   int64  `json:"pending"`
	Posted    int64  `json:"posted"`
}

// Deposit credits the tenant's program balance (sandbox, idempotent).
func (a *API) Deposit(ctx context.Context, currency string, amount int64) error {
	return a.call(ctx, http.MethodPost, "/v1/simulator/deposits", map[string]any{"currency": currency, "amount": amount}, nil, true)
}

// Recharge moves money from the program balance to a PREPAID card
// (idempotent).
func (a *API) Recharge(ctx context.Context, cardID string, amount int64) error {
	return a.call(ctx, http.MethodPost, "/v1/cards/"+url.PathEscape(cardID)+"/recharge", map[string]any{"amount": amount}, nil, true)
}

// CardBalance returns what a funded card can spend.
func (a *API) CardBalance(ctx context.Context, cardID string) (Balance, error) {
	return do[Balance](ctx, a, http.MethodGet, "/v1/cards/"+url.PathEscape(cardID)+"/balance", nil, false)
}

// SimulateClearing sends a clearing record of an authorization (sandbox):
// typ purchase or refund, amount presented.
func (a *API) SimulateClearing(ctx context.Context, authorizationID, typ string, amount int64) (Authorization, error) {
	body := map[string]any{"amount": amount}
	if typ != "" {
		body["type"] = typ
	}
	return do[Authorization](ctx, a, http.MethodPost, "/v1/simulator/authorizations/"+url.PathEscape(authorizationID)+"/clearing", body, true)
}

// SimulateExpire expires an authorization's hold now (sandbox).
func (a *API) SimulateExpire(ctx context.Context, authorizationID string) (Authorization, error) {
	return do[Authorization](ctx, a, http.MethodPost, "/v1/simulator/authorizations/"+url.PathEscape(authorizationID)+"/expire", map[string]any{}, true)
}

// do sends one request (see call) and returns its JSON answer.
func do[T any](ctx context.Context, a *API, method, path string, body any, idem bool) (T, error) {
	var out T
	err := a.call(ctx, method, path, body, &out, idem)
	return out, err
}

// listAll reads every page of a list endpoint.
func listAll[T any](ctx context.Context, a *API, path string, id func(T) string) ([]T, error) {
	var out []T
	after := ""
	for {
		q := "?limit=100"
		if after != "" {
			q += "&starting_after=" + url.QueryEscape(after)
		}
		var page struct {
			Data    []T  `json:"data"`
			HasMore bool `json:"has_more"`
		}
		if err := a.call(ctx, http.MethodGet, path+q, nil, &page, false); err != nil {
			return nil, err
		}
		out = append(out, page.Data...)
		if !page.HasMore || len(page.Data) == 0 {
			return out, nil
		}
		after = id(page.Data[len(page.Data)-1])
	}
}

// DecisionEndpoint is the tenant's authorization decision endpoint
// (PUT /v1/authorization-decision); Secret is answered by the PUT that
// creates it only.
type DecisionEndpoint struct {
	URL           string `json:"url"`
	TimeoutMS     int    `json:"timeout_ms,omitempty"`
	DefaultAction string `json:"default_action,omitempty"`
	Secret        string `json:"secret,omitempty"`
}

// PutDecision sets the tenant's decision endpoint.
func (a *API) PutDecision(ctx context.Context, d DecisionEndpoint) (DecisionEndpoint, error) {
	return do[DecisionEndpoint](ctx, a, http.MethodPut, "/v1/authorization-decision", d, true)
}

// DeleteDecision removes the tenant's decision endpoint (none: no error).
func (a *API) DeleteDecision(ctx context.Context) error {
	err := a.call(ctx, http.MethodDelete, "/v1/authorization-decision", nil, nil, false)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return nil
	}
	return err
}

package kafka

import (
	"encoding/json"
	"time"
)

// Event payloads. Each catalogue entry (catalogue.go) names one of these
// structs; it is the event's data, encoded as JSON with snake_case names.
// Money is int64 minor units of Currency (ISO 4217 alphabetic code), times are
// UTC. Payloads carry no PAN, track data, CVV, PIN, PIN block or key
// material: there is no field to put them in, and a test keeps it so.
//
// Consumers must ignore fields they do not know: new fields may be added to a
// payload without a new event type; removing or retyping a field needs a new
// type name.

// payload is what every catalogue payload implements: the subject and tenant
// the event must carry, and its own required fields.
type payload interface {
	eventSubject() string
	eventTenant() string
	missing() []string
}

// required lists the names of the empty values among name/value pairs.
func required(pairs ...string) []string {
	var out []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			out = append(out, pairs[i])
		}
	}
	return out
}

// TenantData is the payload of tenant events. The subject is the tenant id.
type TenantData struct {
	ID       string `json:"id"`                  // tenant (issuer) id
	Name     string `json:"name"`                // display name
	ParentID string `json:"parent_id,omitempty"` // the parent tenant of a sub-account
}

func (d TenantData) eventSubject() string { return d.ID }
func (d TenantData) eventTenant() string  { return d.ID }
func (d TenantData) missing() []string    { return required("id", d.ID) }

// CardData is the payload of every card.* event: the card as it is after the
// change. The subject is the card id.
type CardData struct {
	ID           string `json:"id"`
	TenantID     string `json:"tenant_id"`
	ProductID    string `json:"product_id"`
	CardholderID string `json:"cardholder_id,omitempty"`
	ReferenceID  string `json:"reference_id,omitempty"` // the issuer's own reference, unique per tenant
	Type         string `json:"type"`                   // VIRTUAL, PLASTIC or TEMPORARY
	Status       string `json:"status"`                 // PROVISIONED, ACTIVE, FROZEN, BLOCKED, CANCELED, EXPIRED or INOPERATIVE
	// PreviousStatus is the status before a status change; empty on
	// card.created and on changes that keep the status.
	PreviousStatus string `json:"previous_status,omitempty"`
	// Reason says why the status changed: for BLOCKED lost, stolen, fraud or
	// other; for CANCELED e.g. issuer, one_time_used, expiry_at.
	Reason    string     `json:"reason,omitempty"`
	Last4     string     `json:"last4"`               // last four digits of the PAN
	Expiry    string     `json:"expiry"`              // printed expiry, YYMM
	UsageType string     `json:"usage_type"`          // NORMAL or ONE_TIME
	Currency  string     `json:"currency"`            // ISO 4217 alphabetic code
	CardLimit int64      `json:"card_limit"`          // minor units; 0 means no card-level limit
	ExpiryAt  *time.Time `json:"expiry_at,omitempty"` // logical end of validity, if set
	// ValidUntil is when a card with a validity (validity_period_hours,
	// TEMPORARY cards) becomes INOPERATIVE.
	ValidUntil *time.Time `json:"valid_until,omitempty"`
	// Replaces and ReplacedBy link a reissued card and its successor.
	Replaces   string `json:"replaces,omitempty"`
	ReplacedBy string `json:"replaced_by,omitempty"`
	// Controls holds the card's spending_controls and risk_controls as the
	// REST API renders them: set on card.created and card.controls_updated.
	Controls  json.RawMessage `json:"controls,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

func (d CardData) eventSubject() string { return d.ID }
func (d CardData) eventTenant() string  { return d.TenantID }
func (d CardData) missing() []string {
	return required("id", d.ID, "tenant_id", d.TenantID, "status", d.Status)
}

// AuthorizationData is the payload of authorization.* events: the record of
// one acquirer message and its decision. For authorization.approved and
// authorization.declined it is the 0100/0200 (or 0120 advice) itself. For
// authorization.captured and authorization.reversed it is the 0220 capture or
// the 0400/0420 reversal: its own id, MTI, kind, STAN and amount (the amount
// captured or reversed by this message), with OriginalAuthorizationID naming
// the authorization it applies to and CapturedAmount/ReversedAmount giving
// that authorization's totals after it.
//
// The subject is the card id, so a card's authorizations are ordered with its
// lifecycle events. Declines for which no card was found are not published:
// there is no card or tenant to address them to.
type AuthorizationData struct {
	ID             string `json:"id"`
	CardID         string `json:"card_id"`
	TenantID       string `json:"tenant_id"`
	MTI            string `json:"mti"`             // request MTI, e.g. 0100
	Kind           string `json:"kind"`            // authorization, financial, advice, capture, reversal, reversal_advice
	ProcessingCode string `json:"processing_code"` // ISO field 3, six digits
	Amount         int64  `json:"amount"`          // requested, minor units (field 4)
	ApprovedAmount int64  `json:"approved_amount"` // 0 on a decline; less than amount on a partial approval
	Currency       string `json:"currency"`        // ISO 4217 alphabetic code
	ResponseCode   string `json:"response_code"`   // ISO field 39
	Reason         string `json:"reason"`          // decision reason slug (DESIGN.md)
	ApprovalCode   string `json:"approval_code,omitempty"`
	MCC            string `json:"mcc"`
	MerchantID     string `json:"merchant_id"`             // field 42
	MerchantName   string `json:"merchant_name,omitempty"` // field 43, name part
	MerchantCity   string `json:"merchant_city,omitempty"` // field 43, city part
	TerminalID     string `json:"terminal_id"`             // field 41
	AcquirerID     string `json:"acquirer_id"`             // field 32
	Country        string `json:"country"`                 // ISO 3166-1 alpha-2, the country the country controls were checked against
	EntryMode      string `json:"entry_mode"`              // field 22
	STAN           string `json:"stan"`                    // field 11
	RRN            string `json:"rrn"`                     // field 37
	// OriginalAuthorizationID links a capture or reversal to the
	// authorization it completes or reverses.
	OriginalAuthorizationID string `json:"original_authorization_id,omitempty"`
	CapturedAmount          int64  `json:"captured_amount"` // total captured on the original authorization so far
	ReversedAmount          int64  `json:"reversed_amount"` // total reversed on the original authorization so far
	// DecidedBy says who decided: host, issuer, issuer_timeout,
	// issuer_error or stand_in (docs/webhooks.md, "Authorization
	// decisions"); IssuerLatencyMS how long the issuer's decision endpoint
	// took, when it was called.
	DecidedBy       string    `json:"decided_by,omitempty"`
	IssuerLatencyMS *int64    `json:"issuer_latency_ms,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
}

func (d AuthorizationData) eventSubject() string { return d.CardID }
func (d AuthorizationData) eventTenant() string  { return d.TenantID }
func (d AuthorizationData) missing() []string {
	return required("id", d.ID, "card_id", d.CardID, "tenant_id", d.TenantID, "response_code", d.ResponseCode)
}

// OrderData is the payload of order.* events: an asynchronous card order
// reaching a final status. The subject is the card id when the order has a
// card, the order id otherwise.
type OrderData struct {
	ID            string `json:"id"`
	TenantID      string `json:"tenant_id"`
	CardID        string `json:"card_id,omitempty"`
	BatchID       string `json:"batch_id,omitempty"`
	Status        string `json:"status"`                 // completed or failed
	IssueStatus   string `json:"issue_status,omitempty"` // sub-status of the issuing step
	LastError     string `json:"last_error,omitempty"`   // human-readable, no card data
	LastErrorSlug string `json:"last_error_slug,omitempty"`
}

func (d OrderData) eventSubject() string {
	if d.CardID != "" {
		return d.CardID
	}
	return d.ID
}
func (d OrderData) eventTenant() string { return d.TenantID }
func (d OrderData) missing() []string {
	return required("id", d.ID, "tenant_id", d.TenantID, "status", d.Status)
}

// CertificateData is the payload of certificate.* events. The subject is the
// tenant id: certificates belong to the tenant, not to a card.
type CertificateData struct {
	ID       string    `json:"id"`
	TenantID string    `json:"tenant_id"`
	NotAfter time.Time `json:"not_after"` // end of validity, UTC
}

func (d CertificateData) eventSubject() string { return d.TenantID }
func (d CertificateData) eventTenant() string  { return d.TenantID }
func (d CertificateData) missing() []string {
	out := required("id", d.ID, "tenant_id", d.TenantID)
	if d.NotAfter.IsZero() {
		out = append(out, "not_after")
	}
	return out
}

// MerchantData is the payload of merchant.blocked: a merchant (acquirer id,
// field 32, and merchant id, field 42) whose card-not-present requests
// failed verification on many cards in a short window, the signature of a
// BIN attack, so the host declines its card-not-present requests until
// BlockedUntil. One event goes to each issuer whose cards it hit, with
// those cards; the counts are over every card. The subject is the
// merchant, "acquirer_id/merchant_id".
type MerchantData struct {
	Merchant       string    `json:"merchant"` // acquirer_id + "/" + merchant_id
	TenantID       string    `json:"tenant_id"`
	AcquirerID     string    `json:"acquirer_id"`     // field 32
	MerchantID     string    `json:"merchant_id"`     // field 42
	CardIDs        []string  `json:"card_ids"`        // this issuer's cards the merchant failed to verify
	FailedCards    int       `json:"failed_cards"`    // distinct cards failed in the window, of every issuer and unknown ones
	FailedRequests int       `json:"failed_requests"` // card-not-present requests failed in the window
	Requests       int       `json:"requests"`        // card-not-present requests in the window
	WindowSeconds  int       `json:"window_seconds"`  // the window the counts cover
	BlockedAt      time.Time `json:"blocked_at"`
	BlockedUntil   time.Time `json:"blocked_until"`
}

// MerchantKey is the subject of merchant events: acquirer id and merchant
// id, joined by a slash.
func MerchantKey(acquirerID, merchantID string) string { return acquirerID + "/" + merchantID }

func (d MerchantData) eventSubject() string { return d.Merchant }
func (d MerchantData) eventTenant() string  { return d.TenantID }
func (d MerchantData) missing() []string {
	out := required("merchant", d.Merchant, "tenant_id", d.TenantID, "acquirer_id", d.AcquirerID)
	if d.BlockedUntil.IsZero() {
		out = append(out, "blocked_until")
	}
	return out
}

// WebhookEndpointData is the payload of webhook_endpoint.* events: an
// endpoint cardhost disabled by itself. The subject is the tenant id: the
// endpoint belongs to the tenant. The endpoint's URL and secrets are not
// in it (a URL may carry a token of the issuer's).
type WebhookEndpointData struct {
	ID       string `json:"id"` // webhook endpoint id
	TenantID string `json:"tenant_id"`
	// Reason is gone (the endpoint answered 410) or failing (every
	// delivery failed since failing_since, for 5 days or more).
	Reason       string     `json:"reason"`
	FailingSince *time.Time `json:"failing_since,omitempty"`
	DisabledAt   time.Time  `json:"disabled_at"`
}

func (d WebhookEndpointData) eventSubject() string { return d.TenantID }
func (d WebhookEndpointData) eventTenant() string  { return d.TenantID }
func (d WebhookEndpointData) missing() []string {
	out := required("id", d.ID, "tenant_id", d.TenantID, "reason", d.Reason)
	if d.DisabledAt.IsZero() {
		out = append(out, "disabled_at")
	}
	return out
}

// MoneyData is the payload of ledger.* events: one money movement, made of
// one or more ledger transfers, and the balance of the account it is about
// after it (the program balance for deposits, funding and fees; the card's
// own for recharge and withdraw; the card's funding account for expiries
// and clearing). The subject is the card id when a card is concerned, the
// tenant id otherwise.
type MoneyData struct {
	TenantID    string   `json:"tenant_id"`
	CardID      string   `json:"card_id,omitempty"`
	TransferIDs []string `json:"transfer_ids"`
	// Kind is the movement: deposit, funding_credit, funding_debit,
	// recharge, withdraw, fee, expire, or for clearing the record's type
	// (purchase, refund, reversal).
	Kind     string `json:"kind"`
	Amount   int64  `json:"amount"`   // minor units
	Currency string `json:"currency"` // ISO 4217 alphabetic code
	// AuthorizationID is the authorization a hold, expiry or clearing
	// record belongs to; Reference the clearing record's acquirer
	// reference number or the operator's funding reference.
	AuthorizationID string `json:"authorization_id,omitempty"`
	Reference       string `json:"reference,omitempty"`
	// Flagged marks a forced posting for review (ledger.force_posted).
	Flagged bool `json:"flagged,omitempty"`
	// Account is the ledger account the balance fields describe:
	// BalanceBefore and BalanceAfter are its available balance (posted
	// less pending) around the movement, Pending and Posted its other two
	// figures after it.
	Account       string    `json:"account"`
	BalanceBefore int64     `json:"balance_before"`
	BalanceAfter  int64     `json:"balance_after"`
	Pending       int64     `json:"pending"`
	Posted        int64     `json:"posted"`
	CreatedAt     time.Time `json:"created_at"`
}

func (d MoneyData) eventSubject() string {
	if d.CardID != "" {
		return d.CardID
	}
	return d.TenantID
}
func (d MoneyData) eventTenant() string { return d.TenantID }
func (d MoneyData) missing() []string {
	out := required("tenant_id", d.TenantID, "kind", d.Kind, "currency", d.Currency, "account", d.Account)
	if len(d.TransferIDs) == 0 {
		out = append(out, "transfer_ids")
	}
	return out
}

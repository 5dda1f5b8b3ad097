package host

import (
	"time"

	"github.com/cardhost/cardhost/iso"
)

// AuthStatus is the life of a stored record.
type AuthStatus string

// Record statuses. An authorization (0100) is OPEN while its amount is
// held, CAPTURED once completed (0220), REVERSED when fully reversed;
// a financial request (0200) is CAPTURED at once; a declined request is
// DECLINED; an authorization whose hold expired is EXPIRED. Captures,
// reversals, clearing records and expiries are stored as their own
// records, APPLIED when they matched an original and UNMATCHED when none
// was found.
const (
	StatusOpen      AuthStatus = "OPEN"
	StatusCaptured  AuthStatus = "CAPTURED"
	StatusReversed  AuthStatus = "REVERSED"
	StatusDeclined  AuthStatus = "DECLINED"
	StatusApplied   AuthStatus = "APPLIED"
	StatusUnmatched AuthStatus = "UNMATCHED"
	StatusExpired   AuthStatus = "EXPIRED"
)

// Authorization is one stored message and its decision. It never holds a
// PAN, track data, PIN block or CVV: only references and amounts.
type Authorization struct {
	ID       string
	TenantID string // "" when the card was not found
	CardID   string // "" when the card was not found

	Kind           Kind
	MTI            string
	ProcessingCode string
	Amount         int64  // field 4, transaction currency
	Currency       string // field 49, ISO 4217 numeric
	// CardAmount is the amount in the card's currency that the decision
	// applied to the card's spend (0 for declines).
	CardAmount     int64
	ApprovedAmount int64
	Code           iso.ResponseCode
	Reason         Reason
	ApprovalCode   string

	AcquirerID       string
	Terminal         string
	Merchant         string
	Acceptor         string
	STAN             string
	RRN              string
	TransmissionTime string
	MCC              string
	Country          string
	EntryMode        string
	Channel          string
	ECI              string

	// OriginalID is, for a capture or reversal, the authorization it applies to.
	OriginalID string
	Status     AuthStatus
	// Held is what this authorization still counts in the card's spend:
	// the approved amount, less releases, reversals and captures for less.
	Held           int64
	CapturedAmount int64
	ReversedAmount int64
	// Applied lists the spend counters this authorization added to, so a
	// reversal restores exactly what was added (in the same windows).
	Applied []Applied

	// Money (funded cards, docs/ledger.md). HoldID is the pending ledger
	// transfer holding HoldAmount (0 once posted, voided or expired) until
	// HoldExpiresAt. Cleared is what clearing records presented of it.
	HoldID        string
	HoldAmount    int64
	HoldExpiresAt *time.Time
	Cleared       int64

	// MatchKey is the retransmission key (unique); Fingerprint the keyed
	// hash of the request content.
	MatchKey    string
	Fingerprint []byte
	// ResponseICC is the response field 55 (tag 91) and Balances field 54,
	// kept so a retransmission gets the same answer byte for byte.
	ResponseICC []byte
	Balances    []Balance

	// DecidedBy says who decided (issuer.go; "" reads as host) and
	// IssuerLatency how long the issuer's endpoint took (when DecidedBy is
	// issuer, issuer_timeout or issuer_error; 0 otherwise).
	DecidedBy     DecidedBy
	IssuerLatency time.Duration

	ReceivedAt time.Time
	DecidedAt  time.Time
	// Version increases with every update (captures, reversals).
	Version int64
}

// IssuerCalled reports whether the issuer's decision endpoint was called
// for a: DecidedBy is issuer, issuer_timeout or issuer_error.
func (a *Authorization) IssuerCalled() bool {
	return a.DecidedBy == DecidedByIssuer || a.DecidedBy == DecidedByIssuerTimeout || a.DecidedBy == DecidedByIssuerError
}

// IssuerLatencyMS is the issuer's latency in milliseconds, nil when it
// was not called.
func (a *Authorization) IssuerLatencyMS() *int64 {
	if !a.IssuerCalled() {
		return nil
	}
	ms := a.IssuerLatency.Milliseconds()
	return &ms
}

// Applied is one spend counter an authorization added to.
type Applied struct {
	Key    string    `json:"k"`
	Window time.Time `json:"w"`
	Amount int64     `json:"a"`
	Count  int       `json:"c"`
}

// Response rebuilds the answer a record was given.
func (a *Authorization) Response() *Response {
	if a.Kind == KindAdvice && (a.Reason == ReasonApproved || a.Reason == ReasonStandInDecline) {
		// A recorded advice was acknowledged with 00 and nothing else,
		// whatever the network decided: the record keeps that decision
		// (Code) and an approval code, which the 0130 does not carry.
		// Advices answered otherwise (format errors, no card) replay as
		// stored.
		return &Response{Decision: Decision{Code: ReasonApproved.Code(), Reason: a.Reason}, Amount: a.Amount, AuthorizationID: a.ID}
	}
	return &Response{
		Decision:        Decision{Code: a.Code, Reason: a.Reason},
		Amount:          a.ApprovedAmount,
		ApprovalCode:    a.ApprovalCode,
		ICC:             a.ResponseICC,
		Balances:        a.Balances,
		AuthorizationID: a.ID,
	}
}

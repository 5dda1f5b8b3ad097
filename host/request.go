package host

import (
	"time"

	"github.com/cardhost/cardhost/emv"
)

// Kind is what a message asks the host to do, derived from its MTI.
type Kind int

// Message kinds (DESIGN.md, "ISO 8583 interface").
const (
	KindUnknown        Kind = iota
	KindAuthorization       // 0100: authorize, hold the amount
	KindFinancial           // 0200: authorize and capture at once
	KindAdvice              // 0120: stand-in decision made by the network; never declined
	KindCapture             // 0220: completion of an earlier 0100
	KindReversal            // 0400: full or partial reversal
	KindReversalAdvice      // 0420: reversal advice
)

var kindNames = [...]string{"unknown", "authorization", "financial", "advice", "capture", "reversal", "reversal_advice"}

// String returns the kind's lower-case name.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "unknown"
	}
	return kindNames[k]
}

// Transaction types from field 3 positions 1-2.
const (
	TxnPurchase       = "00"
	TxnCash           = "01"
	TxnRefund         = "20"
	TxnBalanceInquiry = "30"
)

// OriginalData is field 90: what a reversal or capture refers to.
type OriginalData struct {
	MTI              string // original MTI, e.g. "0100"
	STAN             string // original STAN (6)
	TransmissionTime string // original field 7 (MMDDhhmmss)
	AcquirerID       string // original acquirer id (11, zero-filled)
	ForwardingID     string // forwarding institution (11, zeros when none)
}

// Request is one acquirer message, decoded from ISO 8583 into plain Go
// values. Secret fields use emv's secret types so that a Request can be
// logged without leaking card data.
type Request struct {
	MTI  string
	Kind Kind

	PAN              emv.PAN // 2
	ProcessingCode   string  // 3, six digits
	Amount           int64   // 4, minor units
	BillingAmount    int64   // 6, minor units (0 when absent)
	TransmissionTime string  // 7, MMDDhhmmss UTC
	STAN             string  // 11
	LocalTime        string  // 12 hhmmss
	LocalDate        string  // 13 MMDD
	Expiry           string  // 14 YYMM ("" when absent)
	MCC              string  // 18
	Country          string  // 19, ISO 3166 numeric
	EntryMode        string  // 22, three digits
	PSN              string  // 23, "0nn" ("" when absent)
	AcquirerID       string  // 32
	Track2           emv.Track2
	RRN              string // 37
	Terminal         string // 41
	Merchant         string // 42
	Acceptor         string // 43 (name 25 + city 13 + country 2)

	// Field 48 private elements.
	CVV2             emv.CVV // 48.01
	ECI              string  // 48.02
	CAVV             string  // 48.03, 40 hex characters
	PartialSupported bool    // 48.04 == "Y"

	Currency string       // 49, ISO 4217 numeric
	PINBlock emv.PINBlock // 52, 16 hex characters
	ICC      []byte       // 55, raw BER-TLV

	// AdviceResponseCode is field 39 of an advice (0120): the decision the
	// network made in the issuer's stead ("" when absent).
	AdviceResponseCode string
	// AdviceApprovalCode is field 38 of an advice: the approval code the
	// network gave in stand-in ("" when absent).
	AdviceApprovalCode string

	Original    *OriginalData // 90
	Replacement *int64        // 95, first 12 digits: the amount that stays authorized

	// Fingerprint identifies the request's content for retransmission
	// detection: a keyed hash over every field, computed by the transport.
	Fingerprint []byte

	// Received is when the transport finished reading the message.
	Received time.Time

	// Refused, when set, is a decline the transport decided before the
	// host: the message failed its acquirer's message authentication
	// (mac_missing, mac_invalid; docs/iso8583.md section 5.15). The host
	// runs no step: it records the request as declined with that reason
	// (with its card when the PAN names one, which it does not change;
	// under a match key of its own, so that a retransmission with a good
	// MAC is still decided) and answers it.
	Refused Reason
}

// TxnType returns field 3 positions 1-2 ("00" purchase, "01" cash, ...).
func (r *Request) TxnType() string {
	if len(r.ProcessingCode) < 2 {
		return ""
	}
	return r.ProcessingCode[:2]
}

// Balance is one field 54 entry.
type Balance struct {
	AccountType string // 2 digits, from field 3
	AmountType  string // "02" available, "01" ledger
	Currency    string // ISO 4217 numeric
	Amount      int64  // signed minor units (negative = debit)
}

// Response is the host's answer to a Request. The transport packs it into
// the response MTI, echoing the request fields the acquirer needs.
type Response struct {
	Decision
	// Amount is the approved amount: the request amount, or less on a
	// partial approval (response field 4).
	Amount       int64
	ApprovalCode string    // field 38, six characters, approvals only
	ICC          []byte    // field 55 of the response (tag 91), nil when none
	Balances     []Balance // field 54, balance inquiries and approvals
	// AuthorizationID is the stored record's id ("" when nothing was stored).
	AuthorizationID string
}

// ParseKind returns the Kind named by s (Kind.String), or KindUnknown.
func ParseKind(s string) Kind {
	for i, n := range kindNames {
		if n == s {
			return Kind(i)
		}
	}
	return KindUnknown
}

package issuance

import (
	"encoding/json"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/issuance/lifecycle"
)

// Id prefixes of the objects the card domain and the host create.
const (
	CardIDPrefix          = "crd"
	AuthorizationIDPrefix = "auth"
)

// CardType is the form of a card (Pismo's card types).
type CardType string

// Card types.
const (
	CardVirtual   CardType = "VIRTUAL"   // fixed PAN, no plastic
	CardPlastic   CardType = "PLASTIC"   // embossed physical card
	CardTemporary CardType = "TEMPORARY" // short-lived virtual card
)

// Valid reports whether t is a known card type.
func (t CardType) Valid() bool {
	return t == CardVirtual || t == CardPlastic || t == CardTemporary
}

// UsageType says whether a card is cancelled after its first use.
type UsageType string

// Usage types (UQPay's usage_type).
const (
	UsageNormal  UsageType = "NORMAL"
	UsageOneTime UsageType = "ONE_TIME"
)

// AutoCancelTrigger is when a one-time card is cancelled.
type AutoCancelTrigger string

// One-time card triggers.
const (
	CancelOnAuth    AutoCancelTrigger = "ON_AUTH"    // with its first approved authorization
	CancelOnCapture AutoCancelTrigger = "ON_CAPTURE" // with its first capture (0220, or a 0200)
)

// Network is the card's payment network; it decides the CVN family (its
// emv scheme, [emv.Network.CVN]) and how the ECI in field 48 is read. The
// type and its link to the scheme are emv's, so that data prep, the host
// and the card simulator share one definition.
type Network = emv.Network

// Card networks.
const (
	NetworkVisa       = emv.NetworkVisa
	NetworkMastercard = emv.NetworkMastercard
	NetworkUnionPay   = emv.NetworkUnionPay
)

// PIN verification methods.
const (
	PINMethodNone    = ""
	PINMethodPVV     = "PVV"
	PINMethodIBM3624 = "IBM3624"
)

// Address is a postal address.
type Address struct {
	Name       string `json:"name,omitempty" doc:"the addressee (1-100 characters), e.g. on the carrier of a plastic"`
	Line1      string `json:"line1" required:"true"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city" required:"true"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	Country    string `json:"country" required:"true" doc:"ISO 3166-1 alpha-2"`
}

// Card is one card as the issuer sees it, plus the card data references the
// authorization host needs. The PAN itself is never here: it is sealed by
// the Vault (PANCipher) and indexed by a keyed hash (PANIndex); only BIN and
// Last4 are clear.
type Card struct {
	ID              string
	TenantID        string
	ProductID       string
	CardholderID    string
	ReferenceID     string // issuer's own id, unique per tenant
	ReferenceNumber string // cardhost's human-readable reference
	Type            CardType
	Status          Status
	StatusReason    string
	PrintedName     string
	Currency        string // ISO 4217 alpha
	CardLimit       *int64 // most the card may spend in total (nil: none)
	FundingMode     string // the product's (issuance/ledger: LIMIT, SHARED, PREPAID; "" is LIMIT)

	SpendingControls  []SpendingControl
	RiskControls      RiskControls
	UsageType         UsageType
	AutoCancelTrigger AutoCancelTrigger
	ExpiryAt          *time.Time // cancelled when passed
	PINLength         int
	Metadata          json.RawMessage
	BillingAddress    *Address
	ShippingAddress   *Address
	EmbosserID        string
	LayoutID          string
	EmbossingStatus   string

	// Card data.
	PANCipher   []byte // AES-GCM sealed PAN (Vault)
	PANIndex    []byte // keyed HMAC of the PAN, for look-up
	BIN         string
	Last4       string
	PANLength   int
	Expiry      string // printed expiry, YYMM
	PSN         string // PAN sequence number, 2 digits
	ServiceCode string
	Network     Network
	CVN         int

	// PANIndexOlder holds the PAN's indexes under the older live versions
	// of the PAN-index key, newest first: storing a new card checks that no
	// card has one (PANs are unique across key versions). Never stored.
	PANIndexOlder [][]byte

	// Key references in the HSM.
	IMKACRef   string // issuer master key for application cryptograms
	CVKRef     string // CVK pair for CVV, iCVV, CVV2
	PVKRef     string // PIN verification key
	PINMethod  string // PVV, IBM3624 or "" (no PIN set)
	PVKI       string // PIN verification key index, 1 digit
	PINVerify  string // the PVV or the IBM 3624 offset (not secret on its own, never shown)
	PINTryMax  int    // wrong PINs before 75 (default 3)
	Imported   bool   // moved from another processor
	TemplateID string
	// CVKVersion is the CVK version the card's printed CVV2 and tracks were
	// made with (0: the active one), so that the audited reveal shows the
	// CVV2 on the plastic even after the CVK is rotated.
	CVKVersion int
	// CVV2Policy and CVV2MaxTries are the product's card-not-present rules
	// when the card was made (issuance/cvv2).
	CVV2Policy   string
	CVV2MaxTries int
	// Fields are the lifecycle fields: validity, dynamic CVV2, embossing
	// custom field, reissue links (issuance/lifecycle).
	lifecycle.Fields

	CreatedAt time.Time
	UpdatedAt time.Time
	// Version increases with every change to the card row (REST or
	// authorization); the authorization host uses it to detect stale reads.
	Version int64
}

// MaskedPAN returns BIN + '*' + last 4 in the card's PAN length.
func (c *Card) MaskedPAN() string {
	n := c.PANLength
	if n < len(c.BIN)+len(c.Last4) {
		n = len(c.BIN) + len(c.Last4)
	}
	b := make([]byte, 0, n)
	b = append(b, c.BIN...)
	for len(b) < n-len(c.Last4) {
		b = append(b, '*')
	}
	return string(append(b, c.Last4...))
}

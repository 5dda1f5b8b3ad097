package issuance

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/issuance/alias"
	"github.com/cardhost/cardhost/issuance/dataprep"
	"github.com/cardhost/cardhost/issuance/lifecycle"
)

// CardRequest asks for a new card: the body of POST /v1/cards and each item
// of a batch. Absent fields take the product's defaults; spending_controls
// given as [] means "none", absent means "the product's".
type CardRequest struct {
	ProductID    string `json:"product_id" required:"true"`
	CardholderID string `json:"cardholder_id,omitempty" doc:"the cardholder the card is issued to (or give card_holder_name)"`
	// CardHolderName is QPay's name to emboss; printed_name wins when both
	// are given.
	CardHolderName string   `json:"card_holder_name,omitempty" example:"ADA LOVELACE" doc:"name to emboss when the card has no cardholder record (A-Z and spaces, 2-26)"`
	ReferenceID    string   `json:"reference_id,omitempty" doc:"your own id for the card, unique per tenant (1-64 characters)"`
	Type           CardType `json:"type,omitempty" enum:"VIRTUAL,PLASTIC,TEMPORARY" doc:"default: the product's card_type"`
	PrintedName    string   `json:"printed_name,omitempty" doc:"EMV 5F20 name: 2-26 letters A-Z and spaces, upper-cased; default from the cardholder's names"`
	// Addresses: a PLASTIC card is shipped to its shipping address, by
	// default its cardholder's address.
	BillingAddress  *Address `json:"billing_address,omitempty"`
	ShippingAddress *Address `json:"shipping_address,omitempty" doc:"where a PLASTIC card is shipped; default the cardholder's address (a PLASTIC card without either is refused)"`
	EmbosserID      string   `json:"embosser_id,omitempty" doc:"overrides the product's default embosser"`
	Currency        string   `json:"currency,omitempty" doc:"ISO 4217 alpha code; default the product's"`
	// CardLimit is the most the card may spend in total (minor units).
	CardLimit         *int64            `json:"card_limit,omitempty" doc:"most the card may spend in total, minor units; omit for none (default: the product's)"`
	SpendingControls  []SpendingControl `json:"spending_controls,omitempty" doc:"default: the product's; [] for none"`
	RiskControls      *RiskControls     `json:"risk_controls,omitempty" doc:"default: the product's"`
	UsageType         UsageType         `json:"usage_type,omitempty" enum:"NORMAL,ONE_TIME" doc:"default NORMAL"`
	AutoCancelTrigger AutoCancelTrigger `json:"auto_cancel_trigger,omitempty" enum:"ON_AUTH,ON_CAPTURE" doc:"required for ONE_TIME cards, refused otherwise"`
	ExpiryAt          *time.Time        `json:"expiry_at,omitempty" doc:"the card is canceled at this time (must be in the future)"`
	PINLength         int               `json:"pin_length,omitempty" doc:"4 or 6 (default 4)"`
	Metadata          json.RawMessage   `json:"metadata,omitempty" doc:"any JSON object, at most 3200 bytes"`
	// EncipheredPINBlock and IncomingPEK set the PIN at creation
	// (docs/api.md "PIN set"): a format 4 block bound to the placeholder
	// PAN 000000000000, since the PAN does not exist yet.
	EncipheredPINBlock emv.PINBlock `json:"enciphered_pin_block,omitempty" doc:"ISO 9564 format 4 PIN block (32 hex) or format 0 block (16 hex) under the ECDH-agreed key, bound to the placeholder PAN (docs/api.md PIN set)"`
	IncomingPEK        *PEKRef      `json:"incoming_pek,omitempty"`
	// Request holds Pismo's lifecycle fields (issuance/lifecycle).
	lifecycle.Request
	// guide is what the decoder of a guide's body left for the catalog
	// look-up (package alias): amounts in major units waiting for the
	// card's currency, UQPay's facts about the cardholder.
	guide alias.Deferred
}

// Receive takes what the decoder of a guide's body defers (it implements
// alias.Receiver): card creation converts the amounts with the card's
// currency and checks the facts against the cardholder.
func (r *CardRequest) Receive(d alias.Deferred) { r.guide = d }

// PEKRef names the key a PIN block is enciphered under: the
// hsm_key_reference of the issuer certificate whose key agreed it with the
// HSM's ECDH key.
type PEKRef struct {
	KeyReference string `json:"key_reference" required:"true" doc:"the hsm_key_reference of your issuer certificate"`
}

// Limits of card fields.
const (
	MaxMetadataBytes = 3200
	MaxReferenceID   = 64
	DefaultPINLength = 4
)

// validateStatic checks what needs no catalog look-up and fills defaults
// that need none.
func (r *CardRequest) validateStatic(v *Validator, now time.Time) {
	r.ProductID = strings.TrimSpace(r.ProductID)
	v.Check(r.ProductID != "", "product_id", "required", "a card is created from a product")
	v.Check(len(r.ReferenceID) <= MaxReferenceID, "reference_id", "too_long", "at most 64 characters")
	if r.ReferenceID != "" {
		v.Check(strings.TrimSpace(r.ReferenceID) == r.ReferenceID && printable(r.ReferenceID), "reference_id", "invalid", "visible characters without surrounding spaces")
	}
	v.Check(r.Type == "" || r.Type.Valid(), "type", "invalid", "one of VIRTUAL, PLASTIC, TEMPORARY")
	if r.PrintedName != "" {
		n, err := dataprep.NormalizePrintedName(r.PrintedName)
		v.Check(err == nil, "printed_name", "invalid", "2-26 characters, letters A-Z and spaces only (EMV 5F20)")
		r.PrintedName = n
	}
	if r.CardHolderName != "" {
		n, err := dataprep.NormalizePrintedName(r.CardHolderName)
		v.Check(err == nil, "card_holder_name", "invalid", "2-26 characters, letters A-Z and spaces only (EMV 5F20)")
		r.CardHolderName = n
	}
	validateAddress(v, "billing_address", r.BillingAddress)
	validateAddress(v, "shipping_address", r.ShippingAddress)
	if r.Currency != "" {
		r.Currency = strings.ToUpper(r.Currency)
		v.Check(ValidCurrency(r.Currency), "currency", "invalid", "an ISO 4217 alpha code")
	}
	if r.CardLimit != nil {
		v.Check(*r.CardLimit > 0 && *r.CardLimit <= MaxAmount, "card_limit", "out_of_range", "a positive amount of minor units up to 999999999999")
	}
	ValidateSpendingControls(v, "spending_controls", r.SpendingControls)
	if r.RiskControls != nil {
		ValidateRiskControls(v, "risk_controls", *r.RiskControls)
	}
	if r.UsageType == "" {
		r.UsageType = UsageNormal
	}
	switch r.UsageType {
	case UsageNormal:
		v.Check(r.AutoCancelTrigger == "", "auto_cancel_trigger", "invalid", "only ONE_TIME cards have an auto-cancel trigger")
	case UsageOneTime:
		v.Check(r.AutoCancelTrigger == CancelOnAuth || r.AutoCancelTrigger == CancelOnCapture, "auto_cancel_trigger", "required", "ONE_TIME cards need ON_AUTH or ON_CAPTURE")
	default:
		v.Add("usage_type", "invalid", "one of NORMAL, ONE_TIME")
	}
	validateExpiryAt(v, r.ExpiryAt, now)
	if r.PINLength == 0 {
		r.PINLength = DefaultPINLength
	}
	v.Check(r.PINLength == 4 || r.PINLength == 6, "pin_length", "invalid", "4 or 6")
	r.Metadata = validateMetadata(v, r.Metadata)
	validatePINSet(v, r.EncipheredPINBlock, r.IncomingPEK)
	r.Request.Check(v.Add)
}

func validateExpiryAt(v *Validator, at *time.Time, now time.Time) {
	if at != nil {
		v.Check(at.After(now), "expiry_at", "invalid", "must be in the future")
	}
}

// validateMetadata checks that metadata is a JSON object of at most 3200
// bytes and returns it compacted ("{}" when absent or null).
func validateMetadata(v *Validator, m json.RawMessage) json.RawMessage {
	t := bytes.TrimSpace(m)
	if len(t) == 0 || string(t) == "null" {
		return json.RawMessage("{}")
	}
	var obj map[string]json.RawMessage
	if t[0] != '{' || json.Unmarshal(t, &obj) != nil {
		v.Add("metadata", "invalid", "a JSON object")
		return json.RawMessage("{}")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, t); err != nil {
		v.Add("metadata", "invalid", "a JSON object")
		return json.RawMessage("{}")
	}
	v.Check(buf.Len() <= MaxMetadataBytes, "metadata", "too_long", "at most 3200 bytes")
	return json.RawMessage(buf.Bytes())
}

// validatePINSet checks the PIN-set fields: both or neither.
func validatePINSet(v *Validator, block emv.PINBlock, pek *PEKRef) {
	switch {
	case block == "" && pek == nil:
	case block == "":
		v.Add("enciphered_pin_block", "required", "incoming_pek needs an enciphered_pin_block")
	case pek == nil || strings.TrimSpace(pek.KeyReference) == "":
		v.Add("incoming_pek.key_reference", "required", "the hsm_key_reference of the certificate whose key enciphered the PIN block")
	default:
		v.Check(isHex(block.Reveal(), 32) || isHex(block.Reveal(), 16), "enciphered_pin_block", "invalid", "an ISO 9564 format 4 block (32 hex characters) or format 0 block (16)")
	}
}

func validateAddress(v *Validator, path string, a *Address) {
	if a == nil {
		return
	}
	v.Check(strings.TrimSpace(a.Line1) != "" && len(a.Line1) <= 200, path+".line1", "required", "1-200 characters")
	v.Check(len(a.Line2) <= 200, path+".line2", "too_long", "at most 200 characters")
	v.Check(len(a.Name) <= 100, path+".name", "too_long", "at most 100 characters")
	v.Check(strings.TrimSpace(a.City) != "" && len(a.City) <= 100, path+".city", "required", "1-100 characters")
	v.Check(len(a.State) <= 100, path+".state", "too_long", "at most 100 characters")
	v.Check(len(a.PostalCode) <= 20, path+".postal_code", "too_long", "at most 20 characters")
	a.Country = strings.ToUpper(strings.TrimSpace(a.Country))
	v.Check(ValidCountry(a.Country), path+".country", "invalid", "an ISO 3166-1 alpha-2 code")
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// DecodeStrict decodes a JSON request body (or a batch item) into v
// through the guide alias table (package alias: guides' names renamed to
// native ones, unknown fields and trailing data refused); refusals are an
// *Error.
func DecodeStrict(raw []byte, v any) error {
	var e *alias.Error
	if err := alias.Decode(raw, v); !errors.As(err, &e) {
		return err
	}
	fields := make([]FieldError, len(e.Fields))
	for i, f := range e.Fields {
		fields[i] = FieldError(f)
	}
	return &Error{Slug: e.Slug, Message: e.Message, Fields: fields}
}

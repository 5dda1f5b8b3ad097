package issuance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/iso/digit"
	"github.com/cardhost/cardhost/issuance/bins"
	"github.com/cardhost/cardhost/issuance/dataprep"
	"github.com/cardhost/cardhost/kafka"
)

// Card import (portfolio migration): cards issued by another processor
// keep their PAN, expiry, PSN and chip (CVN, issuer master keys imported
// into the HSM beforehand), so that they authorize here unchanged. They
// skip data prep and embossing, and arrive in their current status.

// ImportRequest is the body of POST /v1/cards/import.
type ImportRequest struct {
	PAN         emv.PAN `json:"pan" required:"true" doc:"the card's PAN (12-19 digits, Luhn-valid), in one of the tenant's BIN ranges (GET /v1/bin-ranges)"`
	Expiry      string  `json:"expiry" required:"true" doc:"printed expiry, YYMM"`
	PSN         string  `json:"psn,omitempty" doc:"PAN sequence number, 2 digits (default 00)"`
	ServiceCode string  `json:"service_code,omitempty" doc:"3 digits (default 201)"`
	Network     Network `json:"network" required:"true" enum:"VISA,MASTERCARD,UNIONPAY"`
	CVN         int     `json:"cvn" required:"true" doc:"the chip's cryptogram version number (Visa 10, 18, 22; Mastercard 16, 17, 20, 21; UnionPay 1)"`
	IMKACRef    string  `json:"imk_ac_key_reference" required:"true" doc:"HSM reference of the issuer master key (AC) the chip's key derives from"`
	CVKRef      string  `json:"cvk_key_reference" required:"true" doc:"HSM reference of the CVK pair the card's CVVs were made with"`
	PVKRef      string  `json:"pvk_key_reference,omitempty" doc:"HSM reference of the PIN verification key"`
	PINMethod   string  `json:"pin_method,omitempty" enum:"PVV,IBM3624" doc:"how the existing PIN is verified; with pvv or pin_offset"`
	PVKI        string  `json:"pvki,omitempty" doc:"PIN verification key index, 1 digit (PVV)"`
	PVV         string  `json:"pvv,omitempty" doc:"the existing PVV, 4 digits"`
	PINOffset   string  `json:"pin_offset,omitempty" doc:"the existing IBM 3624 offset, 4-12 digits"`
	Status      Status  `json:"status,omitempty" enum:"ACTIVE,FROZEN,BLOCKED" doc:"the card's status at the old processor (default ACTIVE)"`
	// StatusReason is required for BLOCKED cards (lost, stolen, fraud, other).
	StatusReason     string            `json:"status_reason,omitempty" doc:"for BLOCKED: lost, stolen, fraud or other"`
	ProductID        string            `json:"product_id" required:"true"`
	CardholderID     string            `json:"cardholder_id,omitempty"`
	ReferenceID      string            `json:"reference_id,omitempty"`
	Type             CardType          `json:"type,omitempty" enum:"VIRTUAL,PLASTIC,TEMPORARY" doc:"default: the product's card_type"`
	PrintedName      string            `json:"printed_name,omitempty"`
	BillingAddress   *Address          `json:"billing_address,omitempty"`
	Currency         string            `json:"currency,omitempty"`
	CardLimit        *int64            `json:"card_limit,omitempty"`
	SpendingControls []SpendingControl `json:"spending_controls,omitempty"`
	RiskControls     *RiskControls     `json:"risk_controls,omitempty"`
	ExpiryAt         *time.Time        `json:"expiry_at,omitempty"`
	PINLength        int               `json:"pin_length,omitempty"`
	Metadata         json.RawMessage   `json:"metadata,omitempty"`
}

// ImportCard stores a card moved from another processor and publishes
// card.created (in its imported status) and order.completed. Rejections:
// validation_failed, pan_outside_bin_ranges, product_not_found,
// product_not_active, cardholder_not_found, pan_taken (a card of this
// tenant: the PAN is in its own BIN ranges), reference_id_taken,
// key_not_configured.
func (s *Service) ImportCard(ctx context.Context, tenantID string, req ImportRequest) (Card, Order, error) {
	now := s.now()
	var v Validator
	pan := req.PAN.Reveal()
	v.Check(dataprep.ValidPAN(pan), "pan", "invalid", "12-19 digits with a valid Luhn check digit")
	if end, err := dataprep.ExpiryEnd(req.Expiry); err != nil {
		v.Add("expiry", "invalid", "YYMM")
	} else {
		v.Check(now.Before(end), "expiry", "expired", "the card has expired")
	}
	if req.PSN == "" {
		req.PSN = "00"
	}
	v.Check(len(req.PSN) == 2 && digit.All(req.PSN), "psn", "invalid", "2 digits")
	if req.ServiceCode == "" {
		req.ServiceCode = "201"
	}
	v.Check(len(req.ServiceCode) == 3 && digit.All(req.ServiceCode), "service_code", "invalid", "3 digits")
	v.Check(req.Network.Valid(), "network", "invalid", "one of "+emv.NetworkList())
	if req.Network.Valid() {
		_, err := req.Network.CVN(req.CVN)
		v.Check(err == nil, "cvn", "invalid", "a CVN of the network in the registry ("+emv.CVNList()+")")
	}
	switch req.PINMethod {
	case "":
		v.Check(req.PVV == "" && req.PINOffset == "", "pin_method", "required", "pvv and pin_offset need a pin_method")
	case PINMethodPVV:
		v.Check(req.PVKRef != "", "pvk_key_reference", "required", "a PVV needs the PVK")
		v.Check(len(req.PVKI) == 1 && digit.All(req.PVKI), "pvki", "invalid", "1 digit")
		v.Check(len(req.PVV) == 4 && digit.All(req.PVV), "pvv", "invalid", "4 digits")
	case PINMethodIBM3624:
		v.Check(req.PVKRef != "", "pvk_key_reference", "required", "an offset needs the PVK")
		v.Check(len(req.PINOffset) >= 4 && len(req.PINOffset) <= 12 && digit.All(req.PINOffset), "pin_offset", "invalid", "4-12 digits")
	default:
		v.Add("pin_method", "invalid", "PVV or IBM3624")
	}
	if req.PVKI != "" {
		v.Check(len(req.PVKI) == 1 && digit.All(req.PVKI), "pvki", "invalid", "1 digit")
	}
	if req.Status == "" {
		req.Status = StatusActive
	}
	switch req.Status {
	case StatusActive, StatusFrozen:
		v.Check(req.StatusReason == "" || len(req.StatusReason) <= MaxStatusReason, "status_reason", "too_long", "at most 64 characters")
	case StatusBlocked:
		v.Check(ValidBlockReason(req.StatusReason), "status_reason", "invalid", "one of lost, stolen, fraud, other")
	default:
		v.Add("status", "invalid", "ACTIVE, FROZEN or BLOCKED")
	}
	// The card fields shared with card creation.
	cr := CardRequest{ProductID: req.ProductID, CardholderID: req.CardholderID, ReferenceID: req.ReferenceID, Type: req.Type,
		PrintedName: req.PrintedName, BillingAddress: req.BillingAddress, Currency: req.Currency, CardLimit: req.CardLimit,
		SpendingControls: req.SpendingControls, RiskControls: req.RiskControls, ExpiryAt: req.ExpiryAt, PINLength: req.PINLength,
		Metadata: req.Metadata}
	cr.validateStatic(&v, now)
	if err := v.Err(); err != nil {
		return Card{}, Order{}, err
	}
	// Before the PAN index is looked up, and whatever other tenants hold;
	// a sub-account's own ranges only, not its parent's.
	if rs, err := s.d.Catalog.BINRanges(ctx, tenantID); err != nil || !bins.Covers(bins.Own(rs), pan) {
		if err != nil {
			return Card{}, Order{}, fmt.Errorf("reading BIN ranges: %w", err)
		}
		return Card{}, Order{}, &Error{Slug: bins.SlugPANOutside, Message: "the PAN is not in any of this tenant's BIN ranges",
			Fields: []FieldError{{Field: "pan", Code: "outside_bin_ranges", Message: "see GET /v1/bin-ranges"}}}
	}
	if err := s.requireKeys(); err != nil {
		return Card{}, Order{}, err
	}
	for field, k := range map[string]struct {
		ref string
		typ emv.KeyType
	}{"imk_ac_key_reference": {req.IMKACRef, emv.KeyIMKAC}, "cvk_key_reference": {req.CVKRef, emv.KeyCVK}, "pvk_key_reference": {req.PVKRef, emv.KeyPVK}} {
		if k.ref == "" {
			continue
		}
		meta, err := s.d.Catalog.HSMKey(ctx, k.ref)
		usable := false
		if err == nil {
			usable, err = s.d.KeyUsable(ctx, meta, tenantID)
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Card{}, Order{}, fmt.Errorf("reading HSM key: %w", err)
		}
		v.Check(err == nil && meta.Type == k.typ && usable, field, "invalid", "an active "+string(k.typ)+" key of this tenant (or shared)")
	}
	if err := v.Err(); err != nil {
		return Card{}, Order{}, err
	}
	p, err := s.activeProduct(ctx, tenantID, cr.ProductID)
	if err != nil {
		return Card{}, Order{}, err
	}
	printed := cr.PrintedName // normalised by validateStatic
	if req.CardholderID != "" {
		ch, err := s.cardholder(ctx, tenantID, req.CardholderID)
		if err != nil {
			return Card{}, Order{}, err
		}
		if printed == "" {
			printed, _ = dataprep.PrintedNameFrom(ch.FirstName, ch.LastName)
		}
	}
	typ := cr.Type
	if typ == "" {
		typ = p.CardType
	}
	if !typ.Valid() {
		typ = CardPlastic
	}
	currency := cr.Currency
	if currency == "" {
		currency = p.Currency
	}
	spending, risk, limit := controlsOrProduct(p, cr.SpendingControls, cr.RiskControls, cr.CardLimit)
	c := Card{
		ID: NewID(CardIDPrefix, now), TenantID: tenantID, ProductID: p.ID, CardholderID: req.CardholderID, ReferenceID: cr.ReferenceID,
		Type: typ, Status: req.Status, StatusReason: req.StatusReason, PrintedName: printed, Currency: currency, CardLimit: limit, FundingMode: p.FundingMode,
		SpendingControls: spending, RiskControls: risk, UsageType: UsageNormal, ExpiryAt: utcPtr(cr.ExpiryAt), PINLength: cr.PINLength,
		Metadata: cr.Metadata, BillingAddress: cr.BillingAddress, EmbosserID: p.DefaultEmbosserID, LayoutID: p.LayoutID,
		EmbossingStatus: EmbossingNotRequired, Expiry: req.Expiry, PSN: req.PSN, ServiceCode: req.ServiceCode, Network: req.Network,
		CVN: req.CVN, IMKACRef: req.IMKACRef, CVKRef: req.CVKRef, PVKRef: req.PVKRef, PVKI: req.PVKI, PINTryMax: DefaultPINTryMax,
		Imported: true, CVV2Policy: p.CVV2Policy, CVV2MaxTries: p.CVV2MaxTries, CreatedAt: now, UpdatedAt: now, Version: 1,
	}
	switch req.PINMethod {
	case PINMethodPVV:
		c.PINMethod, c.PINVerify = PINMethodPVV, req.PVV
	case PINMethodIBM3624:
		c.PINMethod, c.PINVerify = PINMethodIBM3624, req.PINOffset
	}
	c.ReferenceNumber = referenceNumber(c.ID, now)
	if err := s.sealCardData(ctx, &c, req.PAN); err != nil {
		return Card{}, Order{}, err
	}
	o := Order{ID: NewID("ord", now), TenantID: tenantID, Type: OrderCardImport, CardID: c.ID, ReferenceID: c.ReferenceID, CreatedAt: now}
	o.complete(IssueImported, now)
	var ev events
	ev.add(cardEvent(kafka.TypeCardCreated, &c, "", true, now))
	ev.add(orderEvent(&o, now))
	if ev.err != nil {
		return Card{}, Order{}, ev.err
	}
	err = s.d.Cards.CreateCard(ctx, NewCard{Card: c, Order: o, Events: ev.list})
	switch {
	case errors.Is(err, ErrPANTaken):
		return Card{}, Order{}, &Error{Slug: SlugPANTaken, Message: "this PAN is already a card of this tenant"}
	case errors.Is(err, ErrReferenceIDTaken):
		return Card{}, Order{}, &Error{Slug: SlugReferenceIDTaken, Message: "a card with this reference_id exists",
			Fields: []FieldError{{Field: "reference_id", Code: "taken", Message: "unique per tenant"}}}
	case err != nil:
		return Card{}, Order{}, fmt.Errorf("storing imported card: %w", err)
	}
	s.d.Logger.Info("card imported", "tenant_id", tenantID, "card_id", c.ID, "status", c.Status)
	return c, o, nil
}

package rest

import (
	"bytes"
	"encoding/json"
	"github.com/cardhost/cardhost/issuance/catalog"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
)

// The catalog API (QPay's issuing flow, steps 3 to 6, plus cardholders):
// data prep templates, embossers, card layouts, card products and
// cardholders. Every object belongs to the calling tenant; another tenant's
// id answers 404.

type templateRequest struct {
	Name        string           `json:"name" required:"true"`
	Description string           `json:"description,omitempty"`
	Network     issuance.Network `json:"network" required:"true" enum:"VISA,MASTERCARD,UNIONPAY"`
	IIN         string           `json:"iin" required:"true" doc:"6 to 8 digits in the network's range and in one of the tenant's BIN ranges (GET /v1/bin-ranges)"`
	PANLength   int              `json:"pan_length,omitempty" doc:"13 to 19 (default 16)"`
	CVN         int              `json:"cvn" required:"true" doc:"Visa 10, 18, 22; Mastercard 16, 17, 20, 21; UnionPay 1"`
	AID         string           `json:"aid" required:"true" doc:"hex, 10 to 32 characters, under the network's RID (A000000003 Visa, A000000004 Mastercard, A000000333 UnionPay)"`
	ServiceCode string           `json:"service_code" required:"true" doc:"3 digits, e.g. 201"`
	IMKACRef    string           `json:"imk_ac_key_reference" required:"true" doc:"an IMK-AC of the tenant (or shared)"`
	IMKSMIRef   string           `json:"imk_smi_key_reference,omitempty" doc:"an IMK-SMI"`
	IMKSMCRef   string           `json:"imk_smc_key_reference,omitempty" doc:"an IMK-SMC"`
	CVKRef      string           `json:"cvk_key_reference" required:"true" doc:"a CVK"`
	PVKRef      string           `json:"pvk_key_reference,omitempty" doc:"a PVK (required with a PIN method)"`
	PINMethod   string           `json:"pin_method,omitempty" enum:"PVV,IBM3624" doc:"default PVV when a PVK is given"`
	PVKI        string           `json:"pvki,omitempty" doc:"PVV key index, 1 to 6 (default 1)"`
}

type templateList page[issuance.Template]

type embosserRequest struct {
	Name        string `json:"name" required:"true"`
	Type        string `json:"type,omitempty" enum:"LOOPBACK" doc:"default LOOPBACK"`
	KEKRef      string `json:"transport_key_reference" required:"true" doc:"an AES KEK of the tenant (or shared) the personalisation records are encrypted under"`
	ManualIssue bool   `json:"manual_issue,omitempty" doc:"leave cards PROVISIONED until the simulator's issue or fail call"`
}

type embosserList page[issuance.Embosser]

type layoutRequest struct {
	Layout      string `json:"layout" required:"true" doc:"the layout identifier agreed with the embosser, e.g. standard-blue-v1"`
	Name        string `json:"name,omitempty" doc:"default: the layout identifier"`
	Description string `json:"description,omitempty"`
}

type layoutList page[issuance.Layout]

type productRequest struct {
	Name                     string                     `json:"name" required:"true"`
	Description              string                     `json:"description,omitempty"`
	LayoutID                 string                     `json:"layout_id" required:"true"`
	TemplateID               string                     `json:"data_prep_template_id" required:"true"`
	DefaultEmbosserID        string                     `json:"default_embosser_id" required:"true"`
	Currency                 string                     `json:"currency,omitempty" doc:"ISO 4217 alpha code; default the tenant's default_currency (PATCH /v1/tenant)"`
	CardType                 issuance.CardType          `json:"card_type,omitempty" enum:"VIRTUAL,PLASTIC,TEMPORARY" doc:"default PLASTIC (the product names its embosser)"`
	Status                   issuance.ProductStatus     `json:"status,omitempty" enum:"ACTIVE,INACTIVE" doc:"default ACTIVE"`
	ValidityMonths           int                        `json:"validity_months,omitempty" doc:"1 to 120 (default 36)"`
	CardLimit                *int64                     `json:"card_limit,omitempty" doc:"default card limit, minor units"`
	SpendingControls         []issuance.SpendingControl `json:"spending_controls,omitempty" doc:"default spending controls of new cards"`
	RiskControls             *issuance.RiskControls     `json:"risk_controls,omitempty" doc:"default risk controls of new cards"`
	RequiredCardholderFields []string                   `json:"required_cardholder_fields,omitempty" enum:"email,phone,birth_date,address,nationality"`
	RequireKYC               bool                       `json:"require_kyc,omitempty" doc:"refuse cards for cardholders whose KYC is not VERIFIED"`
	CVV2Policy               string                     `json:"cvv2_policy,omitempty" enum:"REQUIRED,IF_PRESENT" doc:"default REQUIRED: key-entered and e-commerce authorizations without CVV2 decline (82 cvv2_missing); IF_PRESENT: the CVV2 is verified when sent"`
	CVV2MaxTries             int                        `json:"cvv2_max_tries,omitempty" doc:"consecutive wrong CVV2s before the card's card-not-present requests decline (82 cvv2_tries_exceeded) until reset; 1 to 99 (default 5)"`
	FundingMode              string                     `json:"funding_mode,omitempty" enum:"LIMIT,SHARED,PREPAID" doc:"default LIMIT (limits only, no balance); fixed once the product exists (docs/ledger.md)"`
	IssueFee                 int64                      `json:"issue_fee,omitempty" doc:"minor units debited from the program balance with each card's creation (insufficient_funds without them); default 0"`
}

type productPatch struct {
	Name                     *string                     `json:"name,omitempty"`
	Description              *string                     `json:"description,omitempty"`
	LayoutID                 *string                     `json:"layout_id,omitempty"`
	DefaultEmbosserID        *string                     `json:"default_embosser_id,omitempty"`
	CardLimit                *int64                      `json:"card_limit,omitempty" doc:"null removes the default limit"`
	SpendingControls         *[]issuance.SpendingControl `json:"spending_controls,omitempty" doc:"replaces the list ([] clears it)"`
	RiskControls             *issuance.RiskControls      `json:"risk_controls,omitempty" doc:"replaces the risk controls"`
	ValidityMonths           *int                        `json:"validity_months,omitempty"`
	Status                   *issuance.ProductStatus     `json:"status,omitempty" enum:"ACTIVE,INACTIVE"`
	RequiredCardholderFields *[]string                   `json:"required_cardholder_fields,omitempty" enum:"email,phone,birth_date,address,nationality"`
	RequireKYC               *bool                       `json:"require_kyc,omitempty"`
	CVV2Policy               *string                     `json:"cvv2_policy,omitempty" enum:"REQUIRED,IF_PRESENT"`
	CVV2MaxTries             *int                        `json:"cvv2_max_tries,omitempty" doc:"1 to 99"`
	IssueFee                 *int64                      `json:"issue_fee,omitempty" doc:"applies to cards created afterwards"`
}

type productList page[issuance.Product]

type cardholderRequest struct {
	FirstName   string            `json:"first_name" required:"true"`
	LastName    string            `json:"last_name" required:"true"`
	Email       string            `json:"email,omitempty"`
	Phone       string            `json:"phone,omitempty" doc:"E.164, e.g. +5511912345678"`
	BirthDate   string            `json:"birth_date,omitempty" format:"date" doc:"YYYY-MM-DD; the cardholder must be 18 or older"`
	Nationality string            `json:"nationality,omitempty" doc:"ISO 3166-1 alpha-2"`
	Address     *issuance.Address `json:"address,omitempty"`
}

type cardholderPatch struct {
	FirstName   *string           `json:"first_name,omitempty"`
	LastName    *string           `json:"last_name,omitempty"`
	Email       *string           `json:"email,omitempty" doc:"empty string removes it"`
	Phone       *string           `json:"phone,omitempty" doc:"empty string removes it"`
	BirthDate   *string           `json:"birth_date,omitempty" doc:"empty string removes it"`
	Nationality *string           `json:"nationality,omitempty" doc:"empty string removes it"`
	Address     *issuance.Address `json:"address,omitempty" doc:"replaces the address; null removes it"`
}

type cardholderList page[issuance.Cardholder]

// explicitNull reports whether the JSON object body sets field to null
// (which a pointer field cannot tell from an absent one).
func explicitNull(body []byte, field string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	v, ok := m[field]
	return ok && bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

func (r templateRequest) template() issuance.Template {
	return issuance.Template{
		Name: r.Name, Description: r.Description, Network: r.Network, IIN: r.IIN, PANLength: r.PANLength, CVN: r.CVN,
		AID: r.AID, ServiceCode: r.ServiceCode, IMKACRef: r.IMKACRef, IMKSMIRef: r.IMKSMIRef, IMKSMCRef: r.IMKSMCRef,
		CVKRef: r.CVKRef, PVKRef: r.PVKRef, PINMethod: r.PINMethod, PVKI: r.PVKI,
	}
}

func (r embosserRequest) embosser() issuance.Embosser {
	return issuance.Embosser{Name: r.Name, Type: r.Type, KEKRef: r.KEKRef, ManualIssue: r.ManualIssue}
}

func (r layoutRequest) layout() issuance.Layout {
	return issuance.Layout{Layout: r.Layout, Name: r.Name, Description: r.Description}
}

func (r productRequest) product() issuance.Product {
	p := issuance.Product{
		Name: r.Name, Description: r.Description, LayoutID: r.LayoutID, TemplateID: r.TemplateID, DefaultEmbosserID: r.DefaultEmbosserID,
		Currency: r.Currency, CardType: r.CardType, Status: r.Status, ValidityMonths: r.ValidityMonths, CardLimit: r.CardLimit,
		SpendingControls: r.SpendingControls, RequiredCardholderFields: r.RequiredCardholderFields, RequireKYC: r.RequireKYC,
		CVV2Policy: r.CVV2Policy, CVV2MaxTries: r.CVV2MaxTries, FundingMode: r.FundingMode, IssueFee: r.IssueFee,
	}
	if r.RiskControls != nil {
		p.RiskControls = *r.RiskControls
	}
	return p
}

func (r cardholderRequest) cardholder() issuance.Cardholder {
	return issuance.Cardholder{
		FirstName: r.FirstName, LastName: r.LastName, Email: r.Email, Phone: r.Phone, BirthDate: r.BirthDate,
		Nationality: r.Nationality, Address: r.Address,
	}
}

// productFilterOf reads the product list's filter.
func productFilterOf(c *fiber.Ctx, p issuance.PageRequest) (issuance.ProductFilter, error) {
	return issuance.ProductFilter{PageRequest: p, Status: issuance.ProductStatus(c.Query("status"))}, nil
}

// cardholderFilterOf reads the cardholder list's filter.
func cardholderFilterOf(c *fiber.Ctx, p issuance.PageRequest) (issuance.CardholderFilter, error) {
	return issuance.CardholderFilter{PageRequest: p, KYCStatus: issuance.KYCStatus(c.Query("kyc_status"))}, nil
}

func (s *Server) updateCardProduct(c *fiber.Ctx) error {
	var r productPatch
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	p, err := s.deps.Catalog.UpdateProduct(c.UserContext(), tenantOf(c).ID, c.Params("id"), catalog.ProductUpdate{
		Name: r.Name, Description: r.Description, LayoutID: r.LayoutID, DefaultEmbosserID: r.DefaultEmbosserID,
		CardLimit: r.CardLimit, RemoveCardLimit: explicitNull(c.Body(), "card_limit"),
		SpendingControls: r.SpendingControls, RiskControls: r.RiskControls, ValidityMonths: r.ValidityMonths, Status: r.Status,
		RequiredCardholderFields: r.RequiredCardholderFields, RequireKYC: r.RequireKYC, CVV2Policy: r.CVV2Policy, CVV2MaxTries: r.CVV2MaxTries,
		IssueFee: r.IssueFee,
	})
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (s *Server) updateCardholder(c *fiber.Ctx) error {
	var r cardholderPatch
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	ch, err := s.deps.Catalog.UpdateCardholder(c.UserContext(), tenantOf(c).ID, c.Params("id"), catalog.CardholderUpdate{
		FirstName: r.FirstName, LastName: r.LastName, Email: r.Email, Phone: r.Phone, BirthDate: r.BirthDate,
		Nationality: r.Nationality, Address: r.Address, RemoveAddress: explicitNull(c.Body(), "address"),
	})
	if err != nil {
		return err
	}
	return c.JSON(ch)
}

// simulateKYC sets a cardholder's KYC result as a KYC provider would.
func (s *Server) simulateKYC(status issuance.KYCStatus) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ch, err := s.deps.Catalog.SetCardholderKYC(c.UserContext(), tenantOf(c).ID, c.Params("id"), status)
		if err != nil {
			return err
		}
		return c.JSON(ch)
	}
}

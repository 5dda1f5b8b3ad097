package issuance

import (
	"context"
	"time"
)

// The issuing catalog: what a card is made from. A data prep template says
// how card data is generated (IIN, network, CVN, AID, service code and the
// HSM key references); an embosser personalises plastics (or, loopback,
// writes embossing files); a layout names the card's artwork; a product
// ties them together with a currency, card type, default controls and
// validity; a cardholder is the person a card is issued to.

// Template is a data prep template (QPay's data_prep_template).
type Template struct {
	ID          string    `json:"id"`
	TenantID    string    `json:"-"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Network     Network   `json:"network" enum:"VISA,MASTERCARD,UNIONPAY"`
	IIN         string    `json:"iin" doc:"issuer identification number (BIN), 6 or 8 digits"`
	PANLength   int       `json:"pan_length" doc:"13 to 19 digits; default 16"`
	CVN         int       `json:"cvn" doc:"cryptogram version number (Visa 10, 18, 22; Mastercard 16, 17, 20, 21; UnionPay 1)"`
	AID         string    `json:"aid" doc:"application identifier, hex"`
	ServiceCode string    `json:"service_code" doc:"3 digits, e.g. 201 (chip) or 101"`
	IMKACRef    string    `json:"imk_ac_key_reference"`
	IMKSMIRef   string    `json:"imk_smi_key_reference,omitempty"`
	IMKSMCRef   string    `json:"imk_smc_key_reference,omitempty"`
	CVKRef      string    `json:"cvk_key_reference"`
	PVKRef      string    `json:"pvk_key_reference"`
	PINMethod   string    `json:"pin_method" enum:"PVV,IBM3624"`
	PVKI        string    `json:"pvki,omitempty" doc:"PIN verification key index (PVV), 1 digit"`
	CreatedAt   time.Time `json:"created_at"`
}

// Embosser types.
const (
	// EmbosserLoopback writes embossing files to a folder and reports
	// back at once (or on the simulator's issue/fail call).
	EmbosserLoopback = "LOOPBACK"
)

// Embosser personalises cards. Personalisation records go to it encrypted
// under its transport key (KEKRef).
type Embosser struct {
	ID       string `json:"id"`
	TenantID string `json:"-"`
	Name     string `json:"name"`
	Type     string `json:"type" enum:"LOOPBACK"`
	KEKRef   string `json:"transport_key_reference" doc:"HSM key the personalisation records are encrypted under"`
	// ManualIssue leaves cards PROVISIONED until the simulator's issue or
	// fail call (sandbox); otherwise the loopback embosser activates them
	// as soon as their file is written.
	ManualIssue bool      `json:"manual_issue"`
	CreatedAt   time.Time `json:"created_at"`
}

// Layout is a card layout: the artwork and carrier a card is printed with.
type Layout struct {
	ID          string    `json:"layout_id"`
	TenantID    string    `json:"-"`
	Layout      string    `json:"layout" doc:"the layout identifier the embosser knows"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// ProductStatus says whether cards can be created from a product.
type ProductStatus string

// Product statuses.
const (
	ProductActive   ProductStatus = "ACTIVE"
	ProductInactive ProductStatus = "INACTIVE"
)

// Product is a card product: every card is created from one.
type Product struct {
	ID                string            `json:"product_id"`
	TenantID          string            `json:"-"`
	Name              string            `json:"name"`
	Description       string            `json:"description,omitempty"`
	LayoutID          string            `json:"layout_id"`
	TemplateID        string            `json:"data_prep_template_id"`
	DefaultEmbosserID string            `json:"default_embosser_id"`
	Currency          string            `json:"currency" doc:"ISO 4217 alpha code"`
	CardType          CardType          `json:"card_type" enum:"VIRTUAL,PLASTIC,TEMPORARY"`
	Status            ProductStatus     `json:"status" enum:"ACTIVE,INACTIVE"`
	ValidityMonths    int               `json:"validity_months" doc:"printed expiry = creation month + validity"`
	CardLimit         *int64            `json:"card_limit,omitempty"`
	SpendingControls  []SpendingControl `json:"spending_controls,omitempty"`
	RiskControls      RiskControls      `json:"risk_controls"`
	FundingMode       string            `json:"funding_mode" enum:"LIMIT,SHARED,PREPAID" doc:"LIMIT (default): limits only, no balance; SHARED: cards spend the program balance; PREPAID: each card has its own balance (docs/ledger.md)"`
	IssueFee          int64             `json:"issue_fee" doc:"minor units of the product currency, debited from the program balance with each card's creation; 0: none"`
	// RequiredCardholderFields must be present on a cardholder before a
	// card can be issued to them ("email", "phone", "birth_date",
	// "address", "nationality").
	RequiredCardholderFields []string `json:"required_cardholder_fields,omitempty"`
	// RequireKYC refuses cards for cardholders whose KYC is not VERIFIED.
	RequireKYC   bool      `json:"require_kyc"`
	CVV2Policy   string    `json:"cvv2_policy" enum:"REQUIRED,IF_PRESENT" doc:"REQUIRED (default): a key-entered or e-commerce authorization without CVV2 declines 82 cvv2_missing; IF_PRESENT: the CVV2 is verified only when sent"`
	CVV2MaxTries int       `json:"cvv2_max_tries" doc:"consecutive wrong CVV2s after which card-not-present requests decline 82 cvv2_tries_exceeded until POST /v1/cards/{id}/cvv2-tries/reset; 1 to 99, default 5"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// KYCStatus is a cardholder's identity verification status.
type KYCStatus string

// KYC statuses.
const (
	KYCPending  KYCStatus = "PENDING"
	KYCVerified KYCStatus = "VERIFIED"
	KYCRejected KYCStatus = "REJECTED"
)

// Cardholder is an individual cards are issued to.
type Cardholder struct {
	ID          string    `json:"cardholder_id"`
	TenantID    string    `json:"-"`
	FirstName   string    `json:"first_name"`
	LastName    string    `json:"last_name"`
	Email       string    `json:"email,omitempty"`
	Phone       string    `json:"phone,omitempty" doc:"E.164"`
	BirthDate   string    `json:"birth_date,omitempty" format:"date"`
	Nationality string    `json:"nationality,omitempty" doc:"ISO 3166-1 alpha-2"`
	Address     *Address  `json:"address,omitempty"`
	KYCStatus   KYCStatus `json:"kyc_status" enum:"PENDING,VERIFIED,REJECTED"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// CatalogReader is what card creation needs from the catalog. Every method
// is scoped to the tenant and returns ErrNotFound for another tenant's id.
type CatalogReader interface {
	Product(ctx context.Context, tenantID, id string) (Product, error)
	Template(ctx context.Context, tenantID, id string) (Template, error)
	Embosser(ctx context.Context, tenantID, id string) (Embosser, error)
	Layout(ctx context.Context, tenantID, id string) (Layout, error)
	Cardholder(ctx context.Context, tenantID, id string) (Cardholder, error)
}

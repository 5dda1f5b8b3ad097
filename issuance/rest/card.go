package rest

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/dataprep"
	"github.com/cardhost/cardhost/issuance/ledger"
	"github.com/cardhost/cardhost/issuance/reissue"
)

// Cards (QPay's card creation and status flow, UQPay's controls, Pismo's
// card types and printed names): create, import, read, list, change
// controls, move status, set the PIN, and the audited reveal. Every card
// belongs to the calling tenant; another tenant's id answers 404.

// cardView is a card as the API shows it: never the PAN (masked_pan and
// last4 only), never a CVV or PIN verification data.
type cardView struct {
	CardID            string                     `json:"card_id"`
	ReferenceNumber   string                     `json:"reference_number" doc:"cardhost's reference, CRD-YYYYMMDD-xxxxxxxx"`
	ReferenceID       string                     `json:"reference_id,omitempty" doc:"your own id, unique per tenant"`
	Status            issuance.Status            `json:"status" enum:"PROVISIONED,ACTIVE,FROZEN,BLOCKED,CANCELED,EXPIRED,INOPERATIVE"`
	StatusReason      string                     `json:"status_reason,omitempty"`
	EmbossingStatus   string                     `json:"embossing_status" enum:"NOT_REQUIRED,PENDING,SENT,ISSUED,FAILED"`
	Type              issuance.CardType          `json:"type" enum:"VIRTUAL,PLASTIC,TEMPORARY"`
	ProductID         string                     `json:"product_id"`
	CardholderID      string                     `json:"cardholder_id,omitempty"`
	PrintedName       string                     `json:"printed_name,omitempty"`
	MaskedPAN         string                     `json:"masked_pan" doc:"first six and last four digits"`
	Last4             string                     `json:"last4"`
	Expiry            string                     `json:"expiry" doc:"printed expiry, YYMM"`
	ExpiryMMYY        string                     `json:"expiry_mm_yy" doc:"printed expiry as on the card, MM/YY"`
	Network           issuance.Network           `json:"network" enum:"VISA,MASTERCARD,UNIONPAY"`
	Currency          string                     `json:"currency"`
	CardLimit         *int64                     `json:"card_limit" doc:"most the card may spend in total, minor units; null: none"`
	FundingMode       string                     `json:"funding_mode" enum:"LIMIT,SHARED,PREPAID" doc:"the product's: LIMIT (no balance), SHARED (the program balance) or PREPAID (its own, GET /v1/cards/{id}/balance)"`
	SpendingControls  []issuance.SpendingControl `json:"spending_controls"`
	RiskControls      issuance.RiskControls      `json:"risk_controls"`
	UsageType         issuance.UsageType         `json:"usage_type" enum:"NORMAL,ONE_TIME"`
	AutoCancelTrigger issuance.AutoCancelTrigger `json:"auto_cancel_trigger,omitempty" enum:"ON_AUTH,ON_CAPTURE"`
	ExpiryAt          *time.Time                 `json:"expiry_at,omitempty"`
	PINLength         int                        `json:"pin_length"`
	PINSet            bool                       `json:"pin_set" doc:"whether the card has a PIN"`
	Metadata          json.RawMessage            `json:"metadata"`
	BillingAddress    *issuance.Address          `json:"billing_address,omitempty"`
	ShippingAddress   *issuance.Address          `json:"shipping_address,omitempty"`
	EmbosserID        string                     `json:"embosser_id,omitempty"`
	LayoutID          string                     `json:"layout_id,omitempty"`
	Imported          bool                       `json:"imported"`
	CVV2Policy        string                     `json:"cvv2_policy" enum:"REQUIRED,IF_PRESENT,DYNAMIC" doc:"the product's when the card was made; DYNAMIC: the CVV2 rotates (required for card-not-present)"`
	CVV2MaxTries      int                        `json:"cvv2_max_tries" doc:"the product's when the card was made"`
	CreatedAt         time.Time                  `json:"created_at"`
	UpdatedAt         time.Time                  `json:"updated_at"`
	lifecycleView
}

// lifecycleView is a card's lifecycle fields (issuance/lifecycle).
type lifecycleView struct {
	ValidityPeriodHours  int        `json:"validity_period_hours,omitempty" doc:"the card's validity from its creation, in hours"`
	ValidUntil           *time.Time `json:"valid_until,omitempty" doc:"when the card becomes INOPERATIVE (expiry_at is never later)"`
	CVVRotationHours     int        `json:"cvv_rotation_interval_hours,omitempty" doc:"dynamic CVV2: hours between rotations (0 with cvv2_policy DYNAMIC: only the rotate call rotates)"`
	EmbossingCustomField string     `json:"embossing_custom_field,omitempty" doc:"free text carried to the embossing file"`
	Replaces             string     `json:"replaces,omitempty" doc:"the card this one reissued"`
	ReplacedBy           string     `json:"replaced_by,omitempty" doc:"the card that reissued this one"`
	ActivationRequired   bool       `json:"activation_required,omitempty" doc:"the plastic waits for POST /v1/cards/{id}/activate once made"`
	Nickname             string     `json:"nickname,omitempty" doc:"the card's alias name (Pismo's name)"`
}

func viewCard(c issuance.Card) cardView {
	md := c.Metadata
	if len(md) == 0 {
		md = json.RawMessage("{}")
	}
	ctl := c.Controls()
	return cardView{
		CardID: c.ID, ReferenceNumber: c.ReferenceNumber, ReferenceID: c.ReferenceID, Status: c.Status, StatusReason: c.StatusReason,
		EmbossingStatus: c.EmbossingStatus, Type: c.Type, ProductID: c.ProductID, CardholderID: c.CardholderID, PrintedName: c.PrintedName,
		MaskedPAN: c.MaskedPAN(), Last4: c.Last4, Expiry: c.Expiry, ExpiryMMYY: dataprep.ExpiryDisplay(c.Expiry), Network: c.Network,
		Currency: c.Currency, CardLimit: ctl.CardLimit, FundingMode: fundingModeOf(c.FundingMode), SpendingControls: ctl.SpendingControls, RiskControls: ctl.RiskControls,
		UsageType: c.UsageType, AutoCancelTrigger: c.AutoCancelTrigger, ExpiryAt: c.ExpiryAt, PINLength: c.PINLength,
		PINSet: c.PINMethod != "", Metadata: md, BillingAddress: c.BillingAddress, ShippingAddress: c.ShippingAddress,
		EmbosserID: c.EmbosserID, LayoutID: c.LayoutID, Imported: c.Imported, CVV2Policy: c.CVV2Policy, CVV2MaxTries: c.CVV2MaxTries,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		lifecycleView: lifecycleView{ValidityPeriodHours: c.ValidityPeriodHours, ValidUntil: c.ValidUntil, CVVRotationHours: c.CVVRotationHours,
			EmbossingCustomField: c.EmbossingCustomField, Replaces: c.Replaces, ReplacedBy: c.ReplacedBy, ActivationRequired: c.ActivationRequired,
			Nickname: c.Nickname},
	}
}

// fundingModeOf is a card's funding mode, LIMIT when none is set.
func fundingModeOf(m string) string {
	if m == "" {
		return ledger.ModeLimit
	}
	return m
}

// cardCreated is the answer to a card creation or import: the card, its
// order and QPay's errors list (empty: problems answer as problem details).
type cardCreated struct {
	cardView
	OrderID string                `json:"order_id"`
	Errors  []issuance.FieldError `json:"errors"`
}

type cardList page[cardView]

// cardPatch is the body of PATCH /v1/cards/{id}; absent fields stay.
type cardPatch struct {
	CardLimit        *int64                      `json:"card_limit,omitempty" doc:"null removes the limit"`
	SpendingControls *[]issuance.SpendingControl `json:"spending_controls,omitempty" doc:"replaces the list ([] or null clears it)"`
	RiskControls     *issuance.RiskControls      `json:"risk_controls,omitempty" doc:"replaces the risk controls"`
	Metadata         json.RawMessage             `json:"metadata,omitempty" doc:"replaces the metadata (a JSON object, at most 3200 bytes)"`
	ExpiryAt         *time.Time                  `json:"expiry_at,omitempty" doc:"null removes it"`
	PrintedName      *string                     `json:"printed_name,omitempty" doc:"only before the card went to the embosser"`
}

// statusRequest is the optional body of the status moves.
type statusRequest struct {
	Reason string `json:"reason,omitempty" doc:"block: lost, stolen, fraud or other (required); others: free text up to 64 characters"`
}

// auditTrailView is a card's audit trail: who, when, what; never values.
type auditTrailView struct {
	Data []auditEntryView `json:"data"`
}

type auditEntryView struct {
	ID       string `json:"id"`
	Action   string `json:"action"`     // card.reveal, card.perso_export, card.sandbox_pin_set, card.cvv2_tries_reset
	APIKeyID string `json:"api_key_id"` // the key that asked
	// KeyTenantID is the key's tenant when it acted for this sub-account.
	KeyTenantID string    `json:"api_key_tenant_id,omitempty" doc:"the tenant of the API key when it is not the card's: a parent that acted for its sub-account with x-on-behalf-of"`
	RequestID   string    `json:"request_id"` // X-Request-Id of the call
	At          time.Time `json:"at"`
}

// revealView is the audited reveal's answer.
type revealView struct {
	PAN    string `json:"pan"`
	CVV2   string `json:"cvv2"`
	Expiry string `json:"expiry" doc:"YYMM"`
}

// cardFilterQuery documents the card list's filters.
var cardFilterQuery = []queryParam{
	{Name: "status", Type: "string", Doc: "PROVISIONED, ACTIVE, FROZEN, BLOCKED, CANCELED or EXPIRED"},
	{Name: "product_id", Type: "string", Doc: "cards of this product"},
	{Name: "cardholder_id", Type: "string", Doc: "cards of this cardholder"},
	{Name: "reference_id", Type: "string", Doc: "the card with this reference_id"},
	{Name: "last4", Type: "string", Doc: "cards whose PAN ends with these four digits"},
	{Name: "created_after", Type: "string", Doc: "RFC 3339 time"},
	{Name: "created_before", Type: "string", Doc: "RFC 3339 time"},
}

// actorOf is who calls: API key, request id, scopes, sandbox.
func (s *Server) actorOf(c *fiber.Ctx) issuance.Actor {
	k := apiKeyOf(c)
	return issuance.Actor{APIKeyID: k.ID, RequestID: requestID(c), Scopes: k.Scopes, Sandbox: s.cfg.Sandbox || tenantOf(c).Sandbox, KeyTenantID: keyTenantIDOf(c)}
}

// cardIDParam returns the :id parameter when it looks like a card id; any
// other id answers 404 without a query.
func cardIDParam(c *fiber.Ctx) (string, error) {
	id := c.Params("id")
	if !issuance.ValidID(issuance.CardIDPrefix, id) {
		return "", issuance.ErrNotFound
	}
	return id, nil
}

// cardFilterOf reads the card list's filters.
func cardFilterOf(c *fiber.Ctx, p issuance.PageRequest) (issuance.CardFilter, error) {
	var v issuance.Validator
	f := issuance.CardFilter{PageRequest: p, Status: issuance.Status(c.Query("status")), ProductID: c.Query("product_id"),
		CardholderID: c.Query("cardholder_id"), ReferenceID: c.Query("reference_id"), Last4: c.Query("last4"),
		CreatedAfter: timeQuery(c, "created_after", &v), CreatedBefore: timeQuery(c, "created_before", &v)}
	return f, v.Err()
}

// timeQuery parses an optional RFC 3339 query parameter.
func timeQuery(c *fiber.Ctx, name string, v *issuance.Validator) *time.Time {
	s := c.Query(name)
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		v.Add(name, "invalid", "an RFC 3339 time")
		return nil
	}
	return &t
}

// createCardHandler decodes a card request R, creates or imports the card
// and answers 201 with the card, its order and an empty errors list.
func createCardHandler[R any](s *Server, create func(*issuance.Service, context.Context, string, R) (issuance.Card, issuance.Order, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req R
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		card, order, err := create(s.deps.Service, c.UserContext(), tenantOf(c).ID, req)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(cardCreated{cardView: viewCard(card), OrderID: order.ID, Errors: []issuance.FieldError{}})
	}
}

// cardAnswer answers the card after a change.
func cardAnswer(c *fiber.Ctx, card issuance.Card, err error) error {
	if err != nil {
		return err
	}
	return c.JSON(viewCard(card))
}

// withCard decodes a body R for the card named by :id (checked first),
// runs change and answers the card.
func withCard[R any](change func(c *fiber.Ctx, id string, r R) (issuance.Card, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := cardIDParam(c)
		if err != nil {
			return err
		}
		var r R
		if err := decodeJSON(c, &r); err != nil {
			return err
		}
		card, err := change(c, id, r)
		return cardAnswer(c, card, err)
	}
}

// cardSecret answers an audited read of the card named by :id (its PAN or
// its personalisation record), never cached.
func cardSecret[T, V any](s *Server, read func(*issuance.Service, context.Context, issuance.Actor, string, string) (T, error), view func(T) V) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := cardIDParam(c)
		if err != nil {
			return err
		}
		r, err := read(s.deps.Service, c.UserContext(), s.actorOf(c), tenantOf(c).ID, id)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(view(r))
	}
}

func (s *Server) updateCard(c *fiber.Ctx, id string, r cardPatch) (issuance.Card, error) {
	body := c.Body()
	u := issuance.CardUpdate{CardLimit: r.CardLimit, RemoveCardLimit: explicitNull(body, "card_limit"),
		SpendingControls: r.SpendingControls, RiskControls: r.RiskControls, Metadata: r.Metadata,
		ExpiryAt: r.ExpiryAt, RemoveExpiryAt: explicitNull(body, "expiry_at"), PrintedName: r.PrintedName}
	if explicitNull(body, "spending_controls") {
		u.SpendingControls = &[]issuance.SpendingControl{}
	}
	if explicitNull(body, "risk_controls") {
		u.RiskControls = &issuance.RiskControls{}
	}
	if explicitNull(body, "metadata") {
		u.Metadata = json.RawMessage("{}")
	}
	if explicitNull(body, "printed_name") {
		return issuance.Card{}, &issuance.Error{Slug: issuance.SlugValidationFailed, Message: "the request has invalid fields",
			Fields: []issuance.FieldError{{Field: "printed_name", Code: "invalid", Message: "a card always has a printed name"}}}
	}
	return s.deps.Service.UpdateCard(c.UserContext(), tenantOf(c).ID, id, u)
}

// changeCardStatus moves a card's status (freeze, unfreeze, block, cancel).
func (s *Server) changeCardStatus(action issuance.StatusAction) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := cardIDParam(c)
		if err != nil {
			return err
		}
		var r statusRequest
		if len(c.Body()) > 0 {
			if err := decodeJSON(c, &r); err != nil {
				return err
			}
		}
		card, err := s.deps.Service.ChangeStatus(c.UserContext(), tenantOf(c).ID, id, action, r.Reason)
		return cardAnswer(c, card, err)
	}
}

// rotateCVV2 gives the card a new dynamic CVV2 (issuance/cvv2).
func (s *Server) rotateCVV2(c *fiber.Ctx) error {
	id, err := cardIDParam(c)
	if err != nil {
		return err
	}
	card, err := s.deps.CVV2.Rotate(c.UserContext(), s.actorOf(c), tenantOf(c).ID, id)
	return cardAnswer(c, card, err)
}

// reissueCard reissues the card and answers the new one (issuance/reissue).
func (s *Server) reissueCard(c *fiber.Ctx) error {
	id, err := cardIDParam(c)
	if err != nil {
		return err
	}
	var r reissue.Request
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &r); err != nil {
			return err
		}
	}
	card, err := s.deps.Reissue.Reissue(c.UserContext(), tenantOf(c).ID, id, r)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(viewCard(card))
}

// resetCVV2Tries resets the card's count of wrong CVV2s (issuance/cvv2).
func (s *Server) resetCVV2Tries(c *fiber.Ctx) error {
	id, err := cardIDParam(c)
	if err != nil {
		return err
	}
	card, err := s.deps.CVV2.ResetTries(c.UserContext(), s.actorOf(c), tenantOf(c).ID, id)
	return cardAnswer(c, card, err)
}

func (s *Server) setCardPIN(c *fiber.Ctx, id string, r issuance.PINSetRequest) (issuance.Card, error) {
	return s.deps.Service.SetPIN(c.UserContext(), tenantOf(c).ID, id, r)
}

func (s *Server) getCardAuditTrail(c *fiber.Ctx) error {
	id, err := cardIDParam(c)
	if err != nil {
		return err
	}
	trail, err := s.deps.Service.CardAuditTrail(c.UserContext(), tenantOf(c).ID, id)
	if err != nil {
		return err
	}
	out := auditTrailView{Data: make([]auditEntryView, len(trail))}
	for i, e := range trail {
		out.Data[i] = auditEntryView{ID: e.ID, Action: e.Action, APIKeyID: e.APIKeyID, KeyTenantID: e.KeyTenantID, RequestID: e.RequestID, At: e.At}
	}
	return c.JSON(out)
}

func revealOf(r issuance.Revealed) revealView {
	return revealView{PAN: r.PAN.Reveal(), CVV2: r.CVV2.Reveal(), Expiry: r.Expiry}
}

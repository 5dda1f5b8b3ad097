package issuance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/issuance/alias"
	"github.com/cardhost/cardhost/issuance/dataprep"
	"github.com/cardhost/cardhost/kafka"
)

// Card creation: validate, read the catalog (product, template,
// cardholder, embosser), run data prep (PAN in the template's IIN, sealed
// and indexed; printed expiry; CVV set to check and pin the CVK version;
// PIN set when a PIN block came with the request) and store the card with
// its order, embossing job and events in one transaction. Virtual and
// temporary cards need no plastic and are activated at once; plastics wait
// for their embosser.

// Embossing statuses of a card.
const (
	EmbossingNotRequired = "NOT_REQUIRED" // virtual, temporary and imported cards
	EmbossingPending     = "PENDING"      // waiting for the embossing worker
	EmbossingSent        = "SENT"         // record delivered; waiting for the embosser's answer
	EmbossingIssued      = "ISSUED"       // plastic made; card active
	EmbossingFailed      = "FAILED"       // the embosser failed the card
)

// Defaults of card creation.
const (
	DefaultPANLength = 16
	DefaultPINTryMax = 3
	// maxPANDraws bounds data prep's retries when a drawn PAN exists.
	maxPANDraws = 8
)

// StatusReasonIssuer is the default reason of issuer cancellations.
const StatusReasonIssuer = "issuer"

// CreateCard creates a card (POST /v1/cards) and its order. Rejections
// are *Error values: validation_failed, product_not_found,
// product_not_active, cardholder_not_found, cardholder_not_ready,
// template_not_found, embosser_not_found, reference_id_taken,
// incoming_pek_not_found, pin_block_invalid, pin_not_supported,
// key_not_configured.
func (s *Service) CreateCard(ctx context.Context, tenantID string, req CardRequest) (Card, Order, error) {
	return s.createCard(ctx, tenantID, &req, nil)
}

// cardPlan is a validated request with the catalog objects it needs: all
// of the card but its card data.
type cardPlan struct {
	card      Card
	template  Template
	pinBlock  emv.PINBlock
	issuerKey []byte // issuer public key for the PIN set (nil: none)
	batchRef  string
	fee       int64 // the product's issue fee
}

func (s *Service) createCard(ctx context.Context, tenantID string, req *CardRequest, batchOrder *Order) (Card, Order, error) {
	now := s.now()
	plan, err := s.planCard(ctx, tenantID, req, now)
	if err != nil {
		return Card{}, Order{}, err
	}
	if batchOrder != nil {
		plan.batchRef = batchOrder.BatchID
	}
	for draw := 1; ; draw++ {
		c, err := s.prepareCard(ctx, &plan, now)
		if err != nil {
			return Card{}, Order{}, err
		}
		n, err := s.newCardWrite(c, &plan, batchOrder, now)
		if err != nil {
			return Card{}, Order{}, err
		}
		err = s.d.Cards.CreateCard(ctx, n)
		switch {
		case err == nil:
			s.d.Logger.Info("card created", "tenant_id", tenantID, "card_id", c.ID, "order_id", n.Order.ID, "type", c.Type, "status", c.Status)
			return n.Card, n.Order, nil
		case errors.Is(err, ErrPANTaken) && draw < maxPANDraws:
			continue // a PAN collision: draw again
		case errors.Is(err, ErrReferenceIDTaken):
			return Card{}, Order{}, &Error{Slug: SlugReferenceIDTaken, Message: "a card with this reference_id exists",
				Fields: []FieldError{{Field: "reference_id", Code: "taken", Message: "unique per tenant"}}}
		default:
			return Card{}, Order{}, fmt.Errorf("storing card: %w", err)
		}
	}
}

// planCard validates a request against the catalog.
func (s *Service) planCard(ctx context.Context, tenantID string, req *CardRequest, now time.Time) (cardPlan, error) {
	var v Validator
	if err := s.settleGuideAmounts(ctx, tenantID, req, &v); err != nil {
		return cardPlan{}, err
	}
	req.validateStatic(&v, now)
	v.Check(req.CardholderID != "" || req.CardHolderName != "" || req.PrintedName != "", "cardholder_id", "required", "give cardholder_id or card_holder_name")
	if err := v.Err(); err != nil {
		return cardPlan{}, err
	}
	if err := s.requireKeys(); err != nil {
		return cardPlan{}, err
	}
	p, err := s.activeProduct(ctx, tenantID, req.ProductID)
	if err != nil {
		return cardPlan{}, err
	}
	tpl, err := s.d.Catalog.Template(ctx, tenantID, p.TemplateID)
	if errors.Is(err, ErrNotFound) {
		return cardPlan{}, Errorf(SlugTemplateNotFound, "the product's data prep template %s does not exist", p.TemplateID)
	}
	if err != nil {
		return cardPlan{}, fmt.Errorf("reading data prep template: %w", err)
	}
	var holder *Cardholder
	if req.CardholderID != "" {
		ch, err := s.cardholder(ctx, tenantID, req.CardholderID)
		if err != nil {
			return cardPlan{}, err
		}
		for _, f := range alias.CheckFacts(req.guide.Facts, map[string]string{"nationality": ch.Nationality, "birth_date": ch.BirthDate, "phone": ch.Phone}) {
			v.Add(f.Field, f.Code, f.Message)
		}
		if err := v.Err(); err != nil {
			return cardPlan{}, err
		}
		if why := cardholderNotReady(&ch, &p); why != "" {
			return cardPlan{}, Errorf(SlugCardholderNotReady, "cardholder %s is not ready for this product: %s", ch.ID, why)
		}
		holder = &ch
	} else if p.RequireKYC || len(p.RequiredCardholderFields) > 0 {
		v.Add("cardholder_id", "required", "this product issues cards to cardholders with KYC or required fields")
	} else if len(req.guide.Facts) > 0 {
		v.Add("cardholder_id", "required", "cardholder_required_fields are checked against the cardholder's record")
	}
	typ := req.Type
	if typ == "" {
		typ = p.CardType
	}
	if !typ.Valid() {
		typ = CardVirtual
	}
	embosserID := req.EmbosserID
	if embosserID == "" {
		embosserID = p.DefaultEmbosserID
	}
	if embosserID != "" {
		if _, err := s.d.Catalog.Embosser(ctx, tenantID, embosserID); errors.Is(err, ErrNotFound) {
			return cardPlan{}, Errorf(SlugEmbosserNotFound, "no embosser %s", embosserID)
		} else if err != nil {
			return cardPlan{}, fmt.Errorf("reading embosser: %w", err)
		}
	}
	if typ == CardPlastic {
		v.Check(embosserID != "", "embosser_id", "required", "PLASTIC cards need an embosser (the product has no default)")
		if req.ShippingAddress == nil && holder != nil && holder.Address != nil {
			a := *holder.Address // the cardholder's address, as it is today
			req.ShippingAddress = &a
		}
		v.Check(req.ShippingAddress != nil, "shipping_address", "required", "PLASTIC cards are shipped: give a shipping_address, or a cardholder_id whose cardholder has an address")
	}
	printed := req.PrintedName
	if printed == "" {
		printed = req.CardHolderName
	}
	if printed == "" && holder != nil {
		n, err := dataprep.PrintedNameFrom(holder.FirstName, holder.LastName)
		if err != nil {
			v.Add("printed_name", "required", "the cardholder's names have no embossable letters: give printed_name")
		}
		printed = n
	}
	currency := req.Currency
	if currency == "" {
		currency = p.Currency
	}
	v.Check(ValidCurrency(currency), "currency", "required", "the product has no valid currency: give one")
	months := p.ValidityMonths
	if months == 0 {
		months = DefaultValidityMonths
	}
	life, err := req.Request.Plan(string(typ), now, months, utcPtr(req.ExpiryAt), p.CVV2Policy, v.Add)
	if err != nil {
		return cardPlan{}, fmt.Errorf("computing expiry: %w", err)
	}
	expiry := life.Expiry
	if end, _ := dataprep.ExpiryEnd(expiry); req.ExpiryAt != nil {
		v.Check(req.ExpiryAt.Before(end), "expiry_at", "invalid", "must be before the end of the printed expiry month ("+dataprep.ExpiryDisplay(expiry)+")")
	}
	plan := cardPlan{template: tpl, fee: p.IssueFee}
	if req.EncipheredPINBlock != "" {
		if pinMethodOf(tpl.PINMethod) == "" || tpl.PVKRef == "" {
			v.Add("enciphered_pin_block", "not_supported", "the product's data prep template has no PIN verification method")
		}
		if err := v.Err(); err != nil {
			return cardPlan{}, err
		}
		key, _, err := s.d.Catalog.IssuerPublicKey(ctx, tenantID, req.IncomingPEK.KeyReference)
		if errors.Is(err, ErrNotFound) {
			return cardPlan{}, &Error{Slug: SlugIncomingPEKNotFound, Message: "no unexpired issuer certificate has this hsm_key_reference",
				Fields: []FieldError{{Field: "incoming_pek.key_reference", Code: "not_found", Message: "import a certificate first (POST /v1/certificates)"}}}
		}
		if err != nil {
			return cardPlan{}, fmt.Errorf("reading issuer public key: %w", err)
		}
		plan.pinBlock, plan.issuerKey = req.EncipheredPINBlock, key
	}
	if err := v.Err(); err != nil {
		return cardPlan{}, err
	}
	spending, risk, limit := controlsOrProduct(p, req.SpendingControls, req.RiskControls, req.CardLimit)
	panLen := tpl.PANLength
	if panLen == 0 {
		panLen = DefaultPANLength
	}
	c := Card{
		TenantID: tenantID, ProductID: p.ID, ReferenceID: req.ReferenceID, Type: typ, Status: StatusProvisioned,
		PrintedName: printed, Currency: currency, CardLimit: limit, SpendingControls: spending, RiskControls: risk, FundingMode: p.FundingMode,
		UsageType: req.UsageType, AutoCancelTrigger: req.AutoCancelTrigger, ExpiryAt: life.ExpiryAt, Fields: life.Fields,
		PINLength: req.PINLength, Metadata: req.Metadata, BillingAddress: req.BillingAddress, ShippingAddress: req.ShippingAddress,
		EmbosserID: embosserID, LayoutID: p.LayoutID, EmbossingStatus: EmbossingNotRequired,
		PANLength: panLen, Expiry: expiry, PSN: "00", ServiceCode: tpl.ServiceCode, Network: tpl.Network, CVN: tpl.CVN,
		IMKACRef: tpl.IMKACRef, CVKRef: tpl.CVKRef, PVKRef: tpl.PVKRef, PVKI: tpl.PVKI, PINTryMax: DefaultPINTryMax,
		TemplateID: tpl.ID, CVV2Policy: life.CVV2Policy, CVV2MaxTries: p.CVV2MaxTries, CreatedAt: now, UpdatedAt: now, Version: 1,
	}
	if holder != nil {
		c.CardholderID = holder.ID
	}
	if typ == CardPlastic {
		c.EmbossingStatus = EmbossingPending
	}
	plan.card = c
	return plan, nil
}

// prepareCard runs data prep for one PAN draw.
func (s *Service) prepareCard(ctx context.Context, plan *cardPlan, now time.Time) (Card, error) {
	c := plan.card
	pan, err := dataprep.GeneratePAN(plan.template.IIN, c.PANLength, nil)
	if err != nil {
		return Card{}, fmt.Errorf("generating PAN for template %s: %w", plan.template.ID, err)
	}
	if err := s.PrepareCardData(ctx, &c, pan, now); err != nil {
		return Card{}, err
	}
	if plan.pinBlock != "" {
		data, err := s.d.Vault.SetPINWithBinding(ctx, emv.PINSet{ECDHRef: s.d.Keys.ECDH, IssuerPublicKey: plan.issuerKey, Block: plan.pinBlock, PAN: pan},
			PINSetPlaceholderPAN, emv.PINCheck{Method: pinMethodOf(plan.template.PINMethod), PVKRef: c.PVKRef, PVKI: pvkiOr(c.PVKI)})
		if err != nil {
			return Card{}, s.pinSetError(err)
		}
		applyPINData(&c, data)
	}
	return c, nil
}

// PrepareCardData gives card c (its key references and printed expiry
// set) a new id and reference number at now and the card data of pan: the
// PAN sealed and indexed, BIN, last 4, and the CVK version its CVV set
// checks out under. Card creation and reissue (issuance/reissue) use it.
func (s *Service) PrepareCardData(ctx context.Context, c *Card, pan emv.PAN, now time.Time) error {
	c.ID = NewID(CardIDPrefix, now)
	c.ReferenceNumber = referenceNumber(c.ID, now)
	if err := s.sealCardData(ctx, c, pan); err != nil {
		return err
	}
	cvvs, err := s.d.Vault.GenerateCVVSet(ctx, c.CVKRef, pan, c.Expiry, c.ServiceCode)
	if err != nil {
		return fmt.Errorf("generating CVV set: %w", err)
	}
	c.CVKVersion = cvvs.KeyVersion
	return nil
}

// NewCardWrite is what storing new card c writes (its order, embossing job
// and events, as for a single card creation without fee), for rooms
// beside the Service (issuance/reissue).
func (s *Service) NewCardWrite(c Card, now time.Time) (NewCard, error) {
	return s.newCardWrite(c, &cardPlan{}, nil, now)
}

// sealCardData seals and indexes the PAN and fills BIN and last 4.
func (s *Service) sealCardData(ctx context.Context, c *Card, pan emv.PAN) error {
	sealed, err := s.d.Vault.SealPAN(ctx, s.d.Keys.PANDEK, c.TenantID, c.ID, pan)
	if err != nil {
		return fmt.Errorf("sealing PAN: %w", err)
	}
	idxs, err := s.d.Vault.IndexPANAll(ctx, s.d.Keys.PANIndex, pan)
	if err == nil && len(idxs) == 0 {
		err = errors.New("no usable version of the PAN-index key")
	}
	if err != nil {
		return fmt.Errorf("indexing PAN: %w", err)
	}
	p := pan.Reveal()
	c.PANCipher, c.PANIndex, c.PANIndexOlder = sealed, idxs[0], idxs[1:]
	c.BIN, c.Last4, c.PANLength = p[:6], p[len(p)-4:], len(p)
	return nil
}

// newCardWrite assembles the card's order, embossing job and events.
func (s *Service) newCardWrite(c Card, plan *cardPlan, batchOrder *Order, now time.Time) (NewCard, error) {
	n := NewCard{Card: c, Fee: plan.fee}
	var o Order
	if batchOrder != nil {
		o = *batchOrder
		n.BatchItem = &BatchItem{Index: o.BatchIndex, Status: BatchItemSucceeded, OrderID: o.ID, CardID: c.ID, ReferenceID: c.ReferenceID}
	} else {
		o = Order{ID: NewID("ord", now), TenantID: c.TenantID, Type: OrderCardIssue, ReferenceID: c.ReferenceID, CreatedAt: now}
	}
	o.CardID, o.UpdatedAt = c.ID, now
	var ev events
	ev.add(cardEvent(kafka.TypeCardCreated, &c, "", true, now))
	if c.PINMethod != "" {
		ev.add(cardEvent(kafka.TypeCardPINChanged, &c, "", false, now))
	}
	if c.Type == CardPlastic {
		o.Status, o.IssueStatus = OrderProcessing, IssueEmbossing
		batchRef := plan.batchRef
		if batchRef == "" {
			batchRef = now.Format("20060102")
		}
		n.Emboss = &EmbossJob{CardID: c.ID, TenantID: c.TenantID, EmbosserID: c.EmbosserID, BatchRef: batchRef, NextAttemptAt: now, CreatedAt: now}
	} else {
		// No plastic: active at once.
		n.Card.Status = StatusActive
		ev.add(cardEvent(kafka.TypeCardActivated, &n.Card, StatusProvisioned, false, now))
		o.complete(IssueIssued, now)
		ev.add(orderEvent(&o, now))
	}
	if ev.err != nil {
		return NewCard{}, ev.err
	}
	n.Order, n.Events = o, ev.list
	return n, nil
}

// settleGuideAmounts converts the amounts a guide's body sent in major
// units (package alias) to minor units of the card's currency: the body's,
// else its product's (whose look-up failure is the request's answer).
func (s *Service) settleGuideAmounts(ctx context.Context, tenantID string, req *CardRequest, v *Validator) error {
	currency := strings.ToUpper(strings.TrimSpace(req.Currency))
	if len(req.guide.Amounts) > 0 && currency == "" && strings.TrimSpace(req.ProductID) != "" {
		p, err := s.activeProduct(ctx, tenantID, strings.TrimSpace(req.ProductID))
		if err != nil {
			return err
		}
		currency = p.Currency
	}
	for _, f := range alias.SetAmounts(req, req.guide.Amounts, currency) {
		v.Add(f.Field, f.Code, f.Message)
	}
	return nil
}

// requireKeys checks that the platform keys card data needs are assigned.
func (s *Service) requireKeys() error {
	var missing []string
	if s.d.Keys.PANDEK == "" {
		missing = append(missing, "pan-dek")
	}
	if s.d.Keys.PANIndex == "" {
		missing = append(missing, "pan-idx")
	}
	if len(missing) > 0 {
		return Errorf(SlugKeyNotConfigured, "no HSM key is assigned to the platform role(s) %s", strings.Join(missing, ", "))
	}
	return nil
}

// cardholderNotReady says why a cardholder cannot get a card of product p
// ("" when they can). It names fields, never their values.
func cardholderNotReady(c *Cardholder, p *Product) string {
	if c.KYCStatus == KYCRejected {
		return "KYC was rejected"
	}
	if p.RequireKYC && c.KYCStatus != KYCVerified {
		return "KYC is not verified"
	}
	var missing []string
	for _, f := range p.RequiredCardholderFields {
		var ok bool
		switch f {
		case "email":
			ok = c.Email != ""
		case "phone":
			ok = c.Phone != ""
		case "birth_date":
			ok = c.BirthDate != ""
		case "address":
			ok = c.Address != nil
		case "nationality":
			ok = c.Nationality != ""
		case "first_name", "last_name", "name":
			ok = c.FirstName != "" || c.LastName != ""
		default:
			ok = true // unknown field names are the catalog's to refuse
		}
		if !ok {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return "missing " + strings.Join(missing, ", ")
	}
	return ""
}

// referenceNumber is cardhost's human-readable card reference:
// CRD-YYYYMMDD-<last 8 characters of the card id>.
func referenceNumber(id string, now time.Time) string {
	return "CRD-" + now.Format("20060102") + "-" + id[len(id)-8:]
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// controlsOrProduct returns a new card's controls: those of the request,
// each falling back to the product's default when the request has none.
func controlsOrProduct(p Product, spending []SpendingControl, risk *RiskControls, limit *int64) ([]SpendingControl, RiskControls, *int64) {
	if spending == nil {
		spending = p.SpendingControls
	}
	r := p.RiskControls
	if risk != nil {
		r = *risk
	}
	if limit == nil {
		limit = p.CardLimit
	}
	return spending, r, limit
}

// activeProduct reads the product a card is created in: product_not_found,
// product_not_active.
func (s *Service) activeProduct(ctx context.Context, tenantID, id string) (Product, error) {
	p, err := s.d.Catalog.Product(ctx, tenantID, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return Product{}, Errorf(SlugProductNotFound, "no card product %s", id)
	case err != nil:
		return Product{}, fmt.Errorf("reading product: %w", err)
	case p.Status != ProductActive:
		return Product{}, Errorf(SlugProductNotActive, "card product %s is not active", p.ID)
	}
	return p, nil
}

// cardholder reads the cardholder a card is issued to:
// cardholder_not_found.
func (s *Service) cardholder(ctx context.Context, tenantID, id string) (Cardholder, error) {
	ch, err := s.d.Catalog.Cardholder(ctx, tenantID, id)
	if errors.Is(err, ErrNotFound) {
		return Cardholder{}, Errorf(SlugCardholderNotFound, "no cardholder %s", id)
	}
	if err != nil {
		return Cardholder{}, fmt.Errorf("reading cardholder: %w", err)
	}
	return ch, nil
}

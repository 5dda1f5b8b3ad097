package catalog

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/cvv2"
	"github.com/cardhost/cardhost/issuance/ledger"
)

var cardholderFields = []string{issuance.CardholderFieldEmail, issuance.CardholderFieldPhone, issuance.CardholderFieldBirthDate, issuance.CardholderFieldAddress, issuance.CardholderFieldNationality}

// validateProductDefaults checks the fields a PATCH may change.
func validateProductDefaults(v *issuance.Validator, p issuance.Product) {
	catalogText(v, "name", p.Name, true, 200)
	catalogText(v, "description", p.Description, false, 1000)
	v.Check(p.ValidityMonths >= 1 && p.ValidityMonths <= issuance.MaxValidityMonths, "validity_months", "out_of_range", "1 to "+strconv.Itoa(issuance.MaxValidityMonths))
	v.Check(p.Status.Valid(), "status", "invalid", "one of ACTIVE, INACTIVE")
	if p.CardLimit != nil {
		v.Check(*p.CardLimit >= 0 && *p.CardLimit <= issuance.MaxAmount, "card_limit", "out_of_range", "0 to 999999999999 minor units")
	}
	v.Check(p.IssueFee >= 0 && p.IssueFee <= issuance.MaxAmount, "issue_fee", "out_of_range", "0 to 999999999999 minor units")
	issuance.ValidateSpendingControls(v, "spending_controls", p.SpendingControls)
	issuance.ValidateRiskControls(v, "risk_controls", p.RiskControls)
	cvv2.Validate(v, p.CVV2Policy, p.CVV2MaxTries)
	seen := map[string]bool{}
	for i, f := range p.RequiredCardholderFields {
		field := "required_cardholder_fields[" + strconv.Itoa(i) + "]"
		switch {
		case !slices.Contains(cardholderFields, f):
			v.Add(field, "invalid", "one of "+strings.Join(cardholderFields, ", "))
		case seen[f]:
			v.Add(field, "duplicate", "listed twice")
		}
		seen[f] = true
	}
}

// ValidateProduct checks a new product's own fields (not whether the
// objects it names exist).
func ValidateProduct(v *issuance.Validator, p issuance.Product) {
	validateProductDefaults(v, p)
	v.Check(p.LayoutID != "", "layout_id", "required", "a product needs a card layout")
	v.Check(p.TemplateID != "", "data_prep_template_id", "required", "a product needs a data prep template")
	v.Check(p.DefaultEmbosserID != "", "default_embosser_id", "required", "a product needs a default embosser")
	v.Check(issuance.ValidCurrency(p.Currency), "currency", "invalid", "an ISO 4217 alpha code such as USD")
	v.Check(p.CardType.Valid(), "card_type", "invalid", "one of VIRTUAL, PLASTIC, TEMPORARY")
	v.Check(p.FundingMode == "" || ledger.ValidMode(p.FundingMode), "funding_mode", "invalid", "one of LIMIT, SHARED, PREPAID")
}

// normalizeProduct applies defaults and canonical case.
func normalizeProduct(p *issuance.Product) {
	p.Name = strings.TrimSpace(p.Name)
	p.Currency = strings.ToUpper(strings.TrimSpace(p.Currency))
	if p.FundingMode = strings.ToUpper(strings.TrimSpace(p.FundingMode)); p.FundingMode == "" {
		p.FundingMode = ledger.ModeLimit
	}
	if p.ValidityMonths == 0 {
		p.ValidityMonths = issuance.DefaultValidityMonths
	}
	if p.Status == "" {
		p.Status = issuance.ProductActive
	}
	// A product made for an embosser is a plastic unless it says otherwise
	// (QPay's product body has no card_type).
	if p.CardType == "" && p.DefaultEmbosserID != "" {
		p.CardType = issuance.CardPlastic
	}
	cvv2.Normalize(p)
	for i := range p.RiskControls.AllowedCountries {
		p.RiskControls.AllowedCountries[i] = strings.ToUpper(p.RiskControls.AllowedCountries[i])
	}
}

// checkProductRefs answers the first of template_not_found,
// layout_not_found and embosser_not_found that applies (404), checking only
// the ids set in p.
func (s *Service) checkProductRefs(ctx context.Context, tenantID string, p issuance.Product) error {
	refs := []struct {
		id, prefix, slug, what string
		get                    func() error
	}{
		{p.TemplateID, issuance.TemplateIDPrefix, issuance.SlugTemplateNotFound, "data prep template", func() error {
			_, err := s.d.Catalog.Template(ctx, tenantID, p.TemplateID)
			return err
		}},
		{p.LayoutID, issuance.LayoutIDPrefix, issuance.SlugLayoutNotFound, "card layout", func() error {
			_, err := s.d.Catalog.Layout(ctx, tenantID, p.LayoutID)
			return err
		}},
		{p.DefaultEmbosserID, issuance.EmbosserIDPrefix, issuance.SlugEmbosserNotFound, "embosser", func() error {
			_, err := s.d.Catalog.Embosser(ctx, tenantID, p.DefaultEmbosserID)
			return err
		}},
	}
	for _, r := range refs {
		if r.id == "" {
			continue
		}
		err := issuance.ErrNotFound
		if issuance.ValidID(r.prefix, r.id) {
			err = r.get()
		}
		if errors.Is(err, issuance.ErrNotFound) {
			return &issuance.Error{Slug: r.slug, Message: "no " + r.what + " with this id for this tenant"}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// CreateProduct validates and stores a card product. The layout, template
// and embosser it names must belong to the tenant (404 layout_not_found,
// template_not_found, embosser_not_found). Defaults: status ACTIVE,
// validity 36 months, CVV2 policy REQUIRED with 5 tries, card type
// PLASTIC (a product has a default embosser), currency the tenant's
// default_currency.
func (s *Service) CreateProduct(ctx context.Context, tenantID string, p issuance.Product) (issuance.Product, error) {
	normalizeProduct(&p)
	if p.Currency == "" {
		cur, err := s.productCurrency(ctx, tenantID)
		if err != nil {
			return issuance.Product{}, err
		}
		p.Currency = cur
	}
	var v issuance.Validator
	ValidateProduct(&v, p)
	if err := v.Err(); err != nil {
		return issuance.Product{}, err
	}
	if err := s.checkProductRefs(ctx, tenantID, p); err != nil {
		return issuance.Product{}, err
	}
	now := s.now()
	p.ID, p.TenantID, p.CreatedAt, p.UpdatedAt = issuance.NewID(issuance.ProductIDPrefix, now), tenantID, now, now
	return stored(p, s.d.Catalog.CreateProduct(ctx, p))
}

// Product returns one of a tenant's products (ErrNotFound otherwise).
func (s *Service) Product(ctx context.Context, tenantID, id string) (issuance.Product, error) {
	return get(ctx, tenantID, id, issuance.ProductIDPrefix, s.d.Catalog.Product)
}

// Products lists a tenant's products, newest first, optionally by status.
func (s *Service) Products(ctx context.Context, tenantID string, f issuance.ProductFilter) ([]issuance.Product, bool, error) {
	return list(ctx, tenantID, f.PageRequest, issuance.ProductIDPrefix, f, func(v *issuance.Validator) {
		v.Check(f.Status == "" || f.Status.Valid(), "status", "invalid", "one of ACTIVE, INACTIVE")
	}, s.d.Catalog.Products)
}

// ProductUpdate is a partial change to a product (PATCH): nil fields stay
// as they are. The template, currency, card type and funding mode are fixed at creation:
// every card of a product shares its BIN, CVN, currency and form. Changes
// apply to cards created afterwards; existing cards keep their values.
type ProductUpdate struct {
	Name              *string
	Description       *string
	LayoutID          *string
	DefaultEmbosserID *string
	CardLimit         *int64
	// RemoveCardLimit clears the default card limit.
	RemoveCardLimit          bool
	SpendingControls         *[]issuance.SpendingControl
	RiskControls             *issuance.RiskControls
	ValidityMonths           *int
	Status                   *issuance.ProductStatus
	RequiredCardholderFields *[]string
	RequireKYC               *bool
	CVV2Policy               *string
	CVV2MaxTries             *int
	IssueFee                 *int64
}

// UpdateProduct applies a partial change to a product, checking the new
// values as at creation.
func (s *Service) UpdateProduct(ctx context.Context, tenantID, id string, u ProductUpdate) (issuance.Product, error) {
	if !issuance.ValidID(issuance.ProductIDPrefix, id) {
		return issuance.Product{}, issuance.ErrNotFound
	}
	// Referenced objects are checked before the row lock (they cannot be
	// deleted, so the answer cannot change underneath).
	refs := issuance.Product{}
	if u.LayoutID != nil {
		refs.LayoutID = *u.LayoutID
	}
	if u.DefaultEmbosserID != nil {
		refs.DefaultEmbosserID = *u.DefaultEmbosserID
	}
	var v issuance.Validator
	v.Check(u.LayoutID == nil || *u.LayoutID != "", "layout_id", "required", "a product needs a card layout")
	v.Check(u.DefaultEmbosserID == nil || *u.DefaultEmbosserID != "", "default_embosser_id", "required", "a product needs a default embosser")
	v.Check(!(u.RemoveCardLimit && u.CardLimit != nil), "card_limit", "invalid", "either a limit or null")
	if err := v.Err(); err != nil {
		return issuance.Product{}, err
	}
	if err := s.checkProductRefs(ctx, tenantID, refs); err != nil {
		return issuance.Product{}, err
	}
	now := s.now()
	return s.d.Catalog.UpdateProduct(ctx, tenantID, id, func(p *issuance.Product) error {
		if u.Name != nil {
			p.Name = strings.TrimSpace(*u.Name)
		}
		issuance.Patch(&p.Description, u.Description)
		issuance.Patch(&p.LayoutID, u.LayoutID)
		issuance.Patch(&p.DefaultEmbosserID, u.DefaultEmbosserID)
		if u.CardLimit != nil {
			p.CardLimit = u.CardLimit
		}
		if u.RemoveCardLimit {
			p.CardLimit = nil
		}
		issuance.Patch(&p.SpendingControls, u.SpendingControls)
		issuance.Patch(&p.RiskControls, u.RiskControls)
		issuance.Patch(&p.ValidityMonths, u.ValidityMonths)
		issuance.Patch(&p.Status, u.Status)
		issuance.Patch(&p.RequiredCardholderFields, u.RequiredCardholderFields)
		issuance.Patch(&p.RequireKYC, u.RequireKYC)
		issuance.Patch(&p.CVV2Policy, u.CVV2Policy)
		issuance.Patch(&p.CVV2MaxTries, u.CVV2MaxTries)
		issuance.Patch(&p.IssueFee, u.IssueFee)
		for i := range p.RiskControls.AllowedCountries {
			p.RiskControls.AllowedCountries[i] = strings.ToUpper(p.RiskControls.AllowedCountries[i])
		}
		var v issuance.Validator
		validateProductDefaults(&v, *p)
		if err := v.Err(); err != nil {
			return err
		}
		p.UpdatedAt = now
		return nil
	})
}

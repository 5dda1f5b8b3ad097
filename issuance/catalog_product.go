package issuance

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// Cardholder fields a product may require before a card is issued.
const (
	CardholderFieldEmail       = "email"
	CardholderFieldPhone       = "phone"
	CardholderFieldBirthDate   = "birth_date"
	CardholderFieldAddress     = "address"
	CardholderFieldNationality = "nationality"
)

var cardholderFields = []string{CardholderFieldEmail, CardholderFieldPhone, CardholderFieldBirthDate, CardholderFieldAddress, CardholderFieldNationality}

// Product validity bounds and default, in months.
const (
	DefaultValidityMonths = 36
	MaxValidityMonths     = 120
)

// Valid reports whether s is a known product status.
func (s ProductStatus) Valid() bool { return s == ProductActive || s == ProductInactive }

// MissingCardholderFields returns the fields the product requires that the
// cardholder lacks, in the product's order.
func (p Product) MissingCardholderFields(c Cardholder) []string {
	var out []string
	for _, f := range p.RequiredCardholderFields {
		var have bool
		switch f {
		case CardholderFieldEmail:
			have = c.Email != ""
		case CardholderFieldPhone:
			have = c.Phone != ""
		case CardholderFieldBirthDate:
			have = c.BirthDate != ""
		case CardholderFieldAddress:
			have = c.Address != nil
		case CardholderFieldNationality:
			have = c.Nationality != ""
		}
		if !have {
			out = append(out, f)
		}
	}
	return out
}

// validateProductDefaults checks the fields a PATCH may change.
func validateProductDefaults(v *Validator, p Product) {
	catalogText(v, "name", p.Name, true, 200)
	catalogText(v, "description", p.Description, false, 1000)
	v.Check(p.ValidityMonths >= 1 && p.ValidityMonths <= MaxValidityMonths, "validity_months", "out_of_range", "1 to "+strconv.Itoa(MaxValidityMonths))
	v.Check(p.Status.Valid(), "status", "invalid", "one of ACTIVE, INACTIVE")
	if p.CardLimit != nil {
		v.Check(*p.CardLimit >= 0 && *p.CardLimit <= MaxAmount, "card_limit", "out_of_range", "0 to 999999999999 minor units")
	}
	ValidateSpendingControls(v, "spending_controls", p.SpendingControls)
	ValidateRiskControls(v, "risk_controls", p.RiskControls)
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
func ValidateProduct(v *Validator, p Product) {
	validateProductDefaults(v, p)
	v.Check(p.LayoutID != "", "layout_id", "required", "a product needs a card layout")
	v.Check(p.TemplateID != "", "data_prep_template_id", "required", "a product needs a data prep template")
	v.Check(p.DefaultEmbosserID != "", "default_embosser_id", "required", "a product needs a default embosser")
	v.Check(ValidCurrency(p.Currency), "currency", "invalid", "an ISO 4217 alpha code such as USD")
	v.Check(p.CardType.Valid(), "card_type", "invalid", "one of VIRTUAL, PLASTIC, TEMPORARY")
}

// normalizeProduct applies defaults and canonical case.
func normalizeProduct(p *Product) {
	p.Name = strings.TrimSpace(p.Name)
	p.Currency = strings.ToUpper(strings.TrimSpace(p.Currency))
	if p.ValidityMonths == 0 {
		p.ValidityMonths = DefaultValidityMonths
	}
	if p.Status == "" {
		p.Status = ProductActive
	}
	for i := range p.RiskControls.AllowedCountries {
		p.RiskControls.AllowedCountries[i] = strings.ToUpper(p.RiskControls.AllowedCountries[i])
	}
}

// checkProductRefs answers the first of template_not_found,
// layout_not_found and embosser_not_found that applies (404), checking only
// the ids set in p.
func (s *Service) checkProductRefs(ctx context.Context, tenantID string, p Product) error {
	refs := []struct {
		id, prefix, slug, what string
		get                    func() error
	}{
		{p.TemplateID, TemplateIDPrefix, SlugTemplateNotFound, "data prep template", func() error {
			_, err := s.d.Catalog.Template(ctx, tenantID, p.TemplateID)
			return err
		}},
		{p.LayoutID, LayoutIDPrefix, SlugLayoutNotFound, "card layout", func() error {
			_, err := s.d.Catalog.Layout(ctx, tenantID, p.LayoutID)
			return err
		}},
		{p.DefaultEmbosserID, EmbosserIDPrefix, SlugEmbosserNotFound, "embosser", func() error {
			_, err := s.d.Catalog.Embosser(ctx, tenantID, p.DefaultEmbosserID)
			return err
		}},
	}
	for _, r := range refs {
		if r.id == "" {
			continue
		}
		err := ErrNotFound
		if ValidID(r.prefix, r.id) {
			err = r.get()
		}
		if errors.Is(err, ErrNotFound) {
			return &Error{Slug: r.slug, Message: "no " + r.what + " with this id for this tenant"}
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
// validity 36 months.
func (s *Service) CreateProduct(ctx context.Context, tenantID string, p Product) (Product, error) {
	normalizeProduct(&p)
	var v Validator
	ValidateProduct(&v, p)
	if err := v.Err(); err != nil {
		return Product{}, err
	}
	if err := s.checkProductRefs(ctx, tenantID, p); err != nil {
		return Product{}, err
	}
	now := s.now()
	p.ID, p.TenantID, p.CreatedAt, p.UpdatedAt = NewID(ProductIDPrefix, now), tenantID, now, now
	if err := s.d.Catalog.CreateProduct(ctx, p); err != nil {
		return Product{}, err
	}
	return p, nil
}

// Product returns one of a tenant's products (ErrNotFound otherwise).
func (s *Service) Product(ctx context.Context, tenantID, id string) (Product, error) {
	if !ValidID(ProductIDPrefix, id) {
		return Product{}, ErrNotFound
	}
	return s.d.Catalog.Product(ctx, tenantID, id)
}

// Products lists a tenant's products, newest first, optionally by status.
func (s *Service) Products(ctx context.Context, tenantID string, f ProductFilter) ([]Product, bool, error) {
	var v Validator
	ValidatePage(&v, f.PageRequest, ProductIDPrefix)
	v.Check(f.Status == "" || f.Status.Valid(), "status", "invalid", "one of ACTIVE, INACTIVE")
	if err := v.Err(); err != nil {
		return nil, false, err
	}
	return s.d.Catalog.Products(ctx, tenantID, f)
}

// ProductUpdate is a partial change to a product (PATCH): nil fields stay
// as they are. The template, currency and card type are fixed at creation:
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
	SpendingControls         *[]SpendingControl
	RiskControls             *RiskControls
	ValidityMonths           *int
	Status                   *ProductStatus
	RequiredCardholderFields *[]string
	RequireKYC               *bool
}

// UpdateProduct applies a partial change to a product, checking the new
// values as at creation.
func (s *Service) UpdateProduct(ctx context.Context, tenantID, id string, u ProductUpdate) (Product, error) {
	if !ValidID(ProductIDPrefix, id) {
		return Product{}, ErrNotFound
	}
	// Referenced objects are checked before the row lock (they cannot be
	// deleted, so the answer cannot change underneath).
	refs := Product{}
	if u.LayoutID != nil {
		refs.LayoutID = *u.LayoutID
	}
	if u.DefaultEmbosserID != nil {
		refs.DefaultEmbosserID = *u.DefaultEmbosserID
	}
	var v Validator
	v.Check(u.LayoutID == nil || *u.LayoutID != "", "layout_id", "required", "a product needs a card layout")
	v.Check(u.DefaultEmbosserID == nil || *u.DefaultEmbosserID != "", "default_embosser_id", "required", "a product needs a default embosser")
	v.Check(!(u.RemoveCardLimit && u.CardLimit != nil), "card_limit", "invalid", "either a limit or null")
	if err := v.Err(); err != nil {
		return Product{}, err
	}
	if err := s.checkProductRefs(ctx, tenantID, refs); err != nil {
		return Product{}, err
	}
	now := s.now()
	return s.d.Catalog.UpdateProduct(ctx, tenantID, id, func(p *Product) error {
		if u.Name != nil {
			p.Name = strings.TrimSpace(*u.Name)
		}
		if u.Description != nil {
			p.Description = *u.Description
		}
		if u.LayoutID != nil {
			p.LayoutID = *u.LayoutID
		}
		if u.DefaultEmbosserID != nil {
			p.DefaultEmbosserID = *u.DefaultEmbosserID
		}
		if u.CardLimit != nil {
			p.CardLimit = u.CardLimit
		}
		if u.RemoveCardLimit {
			p.CardLimit = nil
		}
		if u.SpendingControls != nil {
			p.SpendingControls = *u.SpendingControls
		}
		if u.RiskControls != nil {
			p.RiskControls = *u.RiskControls
		}
		if u.ValidityMonths != nil {
			p.ValidityMonths = *u.ValidityMonths
		}
		if u.Status != nil {
			p.Status = *u.Status
		}
		if u.RequiredCardholderFields != nil {
			p.RequiredCardholderFields = *u.RequiredCardholderFields
		}
		if u.RequireKYC != nil {
			p.RequireKYC = *u.RequireKYC
		}
		for i := range p.RiskControls.AllowedCountries {
			p.RiskControls.AllowedCountries[i] = strings.ToUpper(p.RiskControls.AllowedCountries[i])
		}
		var v Validator
		validateProductDefaults(&v, *p)
		if err := v.Err(); err != nil {
			return err
		}
		p.UpdatedAt = now
		return nil
	})
}

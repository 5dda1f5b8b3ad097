package catalog

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cardhost/cardhost/issuance"
)

// fakeStore is a function-field fake of issuance.CatalogStore: a method
// whose function a test did not set panics.
type fakeStore struct {
	issuance.CatalogStore
	template      func(id string) (issuance.Template, error)
	layout        func(id string) (issuance.Layout, error)
	embosser      func(id string) (issuance.Embosser, error)
	createProduct func(issuance.Product) error
}

func (f *fakeStore) Template(_ context.Context, _, id string) (issuance.Template, error) {
	return f.template(id)
}

func (f *fakeStore) Layout(_ context.Context, _, id string) (issuance.Layout, error) {
	return f.layout(id)
}

func (f *fakeStore) Embosser(_ context.Context, _, id string) (issuance.Embosser, error) {
	return f.embosser(id)
}

func (f *fakeStore) CreateProduct(_ context.Context, p issuance.Product) error {
	return f.createProduct(p)
}

// Well-formed ids of the objects the fake store knows.
var (
	knownTemplate = issuance.NewID(issuance.TemplateIDPrefix, time.Unix(0, 0))
	knownLayout   = issuance.NewID(issuance.LayoutIDPrefix, time.Unix(0, 0))
	knownEmbosser = issuance.NewID(issuance.EmbosserIDPrefix, time.Unix(0, 0))
)

// known answers a look-up of want's id, ErrNotFound for any other.
func known[T any](want string, v T) func(string) (T, error) {
	return func(id string) (T, error) {
		if id != want {
			var zero T
			return zero, issuance.ErrNotFound
		}
		return v, nil
	}
}

func TestCreateProductRules(t *testing.T) {
	valid := func() issuance.Product {
		return issuance.Product{Name: "Classic", LayoutID: knownLayout, TemplateID: knownTemplate, DefaultEmbosserID: knownEmbosser,
			Currency: "usd", CardType: issuance.CardVirtual}
	}
	limit := int64(-1)
	for _, tc := range []struct {
		name  string
		edit  func(*issuance.Product)
		slug  string
		field string
	}{
		{name: "a product"},
		{name: "no name", edit: func(p *issuance.Product) { p.Name = " " }, slug: issuance.SlugValidationFailed, field: "name"},
		{name: "an unknown currency", edit: func(p *issuance.Product) { p.Currency = "ABC" }, slug: issuance.SlugValidationFailed, field: "currency"},
		{name: "an unknown card type", edit: func(p *issuance.Product) { p.CardType = "METAL" }, slug: issuance.SlugValidationFailed, field: "card_type"},
		{name: "validity beyond ten years", edit: func(p *issuance.Product) { p.ValidityMonths = issuance.MaxValidityMonths + 1 }, slug: issuance.SlugValidationFailed, field: "validity_months"},
		{name: "a negative card limit", edit: func(p *issuance.Product) { p.CardLimit = &limit }, slug: issuance.SlugValidationFailed, field: "card_limit"},
		{name: "an unknown required field", edit: func(p *issuance.Product) { p.RequiredCardholderFields = []string{"shoe_size"} }, slug: issuance.SlugValidationFailed, field: "required_cardholder_fields[0]"},
		{name: "a required field twice", edit: func(p *issuance.Product) { p.RequiredCardholderFields = []string{"email", "email"} }, slug: issuance.SlugValidationFailed, field: "required_cardholder_fields[1]"},
		{name: "no layout", edit: func(p *issuance.Product) { p.LayoutID = "" }, slug: issuance.SlugValidationFailed, field: "layout_id"},
		{name: "another tenant's template", edit: func(p *issuance.Product) { p.TemplateID = issuance.NewID(issuance.TemplateIDPrefix, time.Unix(1, 0)) }, slug: issuance.SlugTemplateNotFound},
		{name: "a malformed layout id", edit: func(p *issuance.Product) { p.LayoutID = "lay_x" }, slug: issuance.SlugLayoutNotFound},
		{name: "an unknown embosser", edit: func(p *issuance.Product) {
			p.DefaultEmbosserID = issuance.NewID(issuance.EmbosserIDPrefix, time.Unix(1, 0))
		}, slug: issuance.SlugEmbosserNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stored []issuance.Product
			store := &fakeStore{
				template:      known(knownTemplate, issuance.Template{}),
				layout:        known(knownLayout, issuance.Layout{}),
				embosser:      known(knownEmbosser, issuance.Embosser{}),
				createProduct: func(p issuance.Product) error { stored = append(stored, p); return nil },
			}
			p := valid()
			if tc.edit != nil {
				tc.edit(&p)
			}
			got, err := New(issuance.Deps{Catalog: store}).CreateProduct(context.Background(), "ten_1", p)
			var e *issuance.Error
			if tc.slug == "" {
				if err != nil || len(stored) != 1 || got.Currency != "USD" || got.Status != issuance.ProductActive ||
					got.ValidityMonths != issuance.DefaultValidityMonths || !issuance.ValidID(issuance.ProductIDPrefix, got.ID) {
					t.Fatalf("product %+v, err %v", got, err)
				}
				return
			}
			if !errors.As(err, &e) || e.Slug != tc.slug || len(stored) != 0 {
				t.Fatalf("err %v (%d stored), want %s", err, len(stored), tc.slug)
			}
			if tc.field != "" && (len(e.Fields) == 0 || e.Fields[0].Field != tc.field) {
				t.Fatalf("fields %+v, want %s", e.Fields, tc.field)
			}
		})
	}
}

package issuance

import (
	"context"
	"errors"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/issuance/bins"
)

// CatalogStore persists the catalog (templates, embossers, layouts,
// products, cardholders) and reads issuer keys (their certificates are
// package ca's). Every method is scoped to
// a tenant: another tenant's id answers ErrNotFound, exactly as a missing
// one does. Lists are newest first and paged by PageRequest (see
// catalog_page.go). Implementations must be safe for concurrent use.
type CatalogStore interface {
	CatalogReader
	bins.Store // the tenants' BIN ranges (templates' IINs and imported PANs lie in them)

	// IssuerPublicKey returns the PEM public key known under an
	// hsm_key_reference (an issuer certificate's key, package ca) and the
	// latest not_after of its unexpired certificates. ErrNotFound when the
	// tenant has no such reference or every certificate of it has expired.
	IssuerPublicKey(ctx context.Context, tenantID, ref string) ([]byte, time.Time, error)

	// CreateTemplate stores a new data prep template.
	CreateTemplate(ctx context.Context, t Template) error
	// Templates lists a tenant's templates.
	Templates(ctx context.Context, tenantID string, p PageRequest) ([]Template, bool, error)

	// CreateEmbosser stores a new embosser.
	CreateEmbosser(ctx context.Context, e Embosser) error
	// Embossers lists a tenant's embossers.
	Embossers(ctx context.Context, tenantID string, p PageRequest) ([]Embosser, bool, error)

	// CreateLayout stores a new card layout.
	CreateLayout(ctx context.Context, l Layout) error
	// Layouts lists a tenant's card layouts.
	Layouts(ctx context.Context, tenantID string, p PageRequest) ([]Layout, bool, error)

	// CreateProduct stores a new product. The layout, template and embosser
	// it names must belong to the same tenant: ErrNotFound otherwise (the
	// service checks first, so this only guards against races).
	CreateProduct(ctx context.Context, p Product) error
	// Products lists a tenant's products, optionally by status.
	Products(ctx context.Context, tenantID string, f ProductFilter) ([]Product, bool, error)
	// UpdateProduct reads the product under a row lock, lets fn change it
	// and stores the result with UpdatedAt set, in one transaction. An
	// error from fn is returned as is and nothing is stored. ErrNotFound
	// when the tenant has no such product.
	UpdateProduct(ctx context.Context, tenantID, id string, fn func(*Product) error) (Product, error)

	// CreateCardholder stores a new cardholder.
	CreateCardholder(ctx context.Context, c Cardholder) error
	// Cardholders lists a tenant's cardholders, optionally by KYC status.
	Cardholders(ctx context.Context, tenantID string, f CardholderFilter) ([]Cardholder, bool, error)
	// UpdateCardholder is UpdateProduct for cardholders.
	UpdateCardholder(ctx context.Context, tenantID, id string, fn func(*Cardholder) error) (Cardholder, error)

	// HSMKey describes the active version of an HSM key (never its
	// material), so that a template or embosser can be checked to name a
	// key of the right type that the tenant may use. ErrNotFound when no
	// active version exists.
	HSMKey(ctx context.Context, ref string) (KeyMeta, error)
}

// KeyMeta is what the catalog needs to know about an HSM key: its type and
// owner. It carries no key material.
type KeyMeta struct {
	Ref    string
	Type   emv.KeyType
	Tenant string // "" for a key shared by every tenant
	KCV    string
}

// KeyUsable reports whether a tenant may name the key k: its own, a shared
// one, or, for a sub-account, its parent's (docs/api.md "Sub-accounts").
func (d Deps) KeyUsable(ctx context.Context, k KeyMeta, tenantID string) (bool, error) {
	if k.Tenant == "" || k.Tenant == tenantID {
		return true, nil
	}
	t, err := d.Tenants.Tenant(ctx, tenantID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil && t.ParentID != "" && t.ParentID == k.Tenant, err
}

// ProductFilter selects products in a list.
type ProductFilter struct {
	PageRequest
	// Status, when set, keeps only products with that status.
	Status ProductStatus
}

// CardholderFilter selects cardholders in a list.
type CardholderFilter struct {
	PageRequest
	// KYCStatus, when set, keeps only cardholders with that KYC status.
	KYCStatus KYCStatus
}

// Package catalog manages a tenant's catalog: data prep templates,
// embossers, card layouts, products and the cardholders cards are issued
// to. [Service] validates each object (ValidateTemplate, ValidateProduct,
// ValidateCardholder), checks the references between them (a product's
// template, layout and embosser; a template's HSM keys and its IIN, which
// must lie in one of the tenant's BIN ranges) and stores it through
// issuance.CatalogStore. It also manages the BIN ranges themselves (the
// operator assigns them; package issuance/bins has their vocabulary).
//
// The catalog's nouns (issuance.Template, issuance.Product,
// issuance.Cardholder...) stay in package issuance, which reads them when
// it creates cards; this package holds the rules for creating and changing
// them.
//
// Ring: domain, one room beside package issuance. It imports issuance,
// issuance/bins and emv; it must not import adapters (issuance/postgres, issuance/rest,
// emv/softhsm) or any driver. Rejections are *issuance.Error values with
// issuance's slugs.
package catalog

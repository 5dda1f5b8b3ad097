// Package ca is the certificate authority of the card domain and the
// registry of tenants' request-signing keys.
//
// Issuer certificates (QPay's "import a certificate" step): an issuer sends
// a CSR for an ECC P-256 key it holds; the HSM's CA key signs a certificate
// valid [Validity], and the key becomes known under an hsm_key_reference
// that PIN set names (issuance reads it through
// issuance.CatalogStore.IssuerPublicKey). [Service.NotifyExpiringCertificates]
// announces certificates within [ExpiryNotice] of their end.
//
// Request signing (DESIGN.md "REST API"): a tenant may register a public
// key ([Service.SetSigningKey]); from then on the REST adapter requires an
// RFC 9421 signature made with it on every request. [ParseSigningKey] and
// [SigningKeyOf] give the adapter the key and its algorithm.
//
// Ring: domain, one room beside package issuance. It imports issuance (for
// its errors, ids, pages, tenants and the Vault) and kafka; it must not
// import adapters (issuance/postgres, issuance/rest, emv/softhsm) or any
// driver. Rejections are *issuance.Error values with issuance's slugs.
package ca

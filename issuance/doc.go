// Package issuance is cardhost's card domain: tenants and their API keys,
// cards ([Card], [Status] and its transition table, [Controls] for spending
// and risk, one-time cards, PINs), orders and batches of card requests,
// card import, embossing and personalisation, and the money and error
// vocabulary the REST API speaks ([Error] with its slug, [Validator]).
//
// [Service] is the application service: it validates requests, applies the
// rules and asks small store interfaces ([TenantStore], [CatalogStore],
// [CardStore]) to persist each change together with its kafka events. The
// HSM is reached only through [Vault], by key reference, so clear keys never
// reach this package. Rooms of their own beside it: the catalog's service
// (issuance/catalog), the certificate authority and request-signing keys
// (issuance/ca), ISO 4217 and 3166-1 tables (issuance/isocode) and data
// prep (issuance/dataprep).
//
// Ring: domain, at the centre with package host (which imports it). It
// imports the standard library, the leaves emv, emv/pinblock and kafka,
// and its own leaves issuance/dataprep and issuance/isocode. It must not
// import an adapter (issuance/postgres, issuance/rest, emv/softhsm, the
// kafka relays) or a driver (pgx, fiber, franz-go, the iso8583 libraries).
// The PostgreSQL adapter implements its stores; softhsm satisfies Vault.
package issuance

// Package postgres is cardhost's one PostgreSQL adapter: the pgx pool
// ([Open], [Config]), the embedded migrations (migrations/*.sql, one
// sequence), the transaction helpers and every SQL statement of the
// product.
//
// [DB] implements issuance.TenantStore, issuance.CatalogStore,
// issuance.CardStore and issuance.IdempotencyStore for the card domain and
// ca.Store for issuer certificates. It also implements host.Ledger (the
// authorization commit path: the card's authorization state, the
// authorization record and its outbox rows in one transaction),
// softhsm.KeyStore (the HSM's key blocks) and outbox.Source (the events
// written in the same transaction as each change, which kafka/outbox
// relays). Sub-package pgtest gives each test a fresh schema.
//
// Ring: adapter. It imports issuance, issuance/ca, host, emv, iso and
// kafka, and is the only package that imports pgx. It must not import
// another adapter (issuance/rest, emv/softhsm, the kafka relays) or cmd.
// Methods are safe for concurrent use.
package postgres

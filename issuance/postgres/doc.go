// Package postgres is cardhost's PostgreSQL database: the [DB] handle (the
// pgx pool from [Open] and [Config], the clock, the transaction helpers, the
// after-commit and close hooks), the one migration sequence
// (migrations/*.sql, embedded) for every table and function, the
// authorization host's included, and the issuance side's SQL statements.
//
// [DB] implements issuance.TenantStore, issuance.CatalogStore,
// issuance.CardStore and issuance.IdempotencyStore for the card domain and
// ca.Store for issuer certificates, plus acquirers and key roles.
// [DB.KeyStore] implements softhsm.KeyStore (the HSM's key blocks) and
// [DB.Outbox] implements outbox.Source (the events written in the same
// transaction as each change, which kafka/outbox relays). The
// authorization host's ledger (host.Ledger: the card's authorization
// state, the authorization record and its outbox rows in one transaction)
// is not here: it lives in host/postgres, which builds on [DB].
// Sub-package pgtest gives each test a fresh schema.
//
// Ring: adapter. It imports issuance, issuance/ca, host (only for
// host.ErrUnavailable, which [WrapUnavailable] puts around errors that mean
// the database cannot be reached), emv, iso and kafka. It must not import
// host/postgres (which imports it), another adapter (issuance/rest,
// emv/softhsm, the kafka relays) or cmd. Only it, pgtest and host/postgres
// import pgx. Methods are safe for concurrent use.
package postgres

// Package postgres is cardhost's PostgreSQL database: the [DB] handle (a
// pgx pool, the clock, the transaction helper, the after-commit and close
// hooks), the one migration sequence (migrations/*.sql, embedded and run by
// [Open]) for every table and function, the host's included, and the
// issuance side's persistence.
//
// [DB] implements the issuance stores: [issuance.TenantStore],
// [issuance.CatalogStore], [issuance.CardStore] and
// [issuance.IdempotencyStore], plus orders, batches, certificates,
// acquirers and key roles. [DB.KeyStore] implements softhsm.KeyStore (the
// HSM's wrapped keys) and [DB.Outbox] implements outbox.Source: every change
// writes its outbox rows in the same transaction. The authorization host's
// ledger (host.Ledger) is not here: it lives in host/postgres, which builds
// on this package's [DB].
//
// Ring: adapter. It imports issuance, emv, kafka, pgx and host (only for
// host.ErrUnavailable, which [WrapUnavailable] puts around errors that mean
// the database cannot be reached). It must not import host/postgres or any
// other adapter. Only it, its pgtest and host/postgres import pgx.
package postgres

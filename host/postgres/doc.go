// Package postgres is the authorization host's PostgreSQL adapter: its
// [Ledger] implements [host.Ledger] (card snapshots by PAN index, the
// originals of captures and reversals, the acquirers and their keys, and the
// atomic commit of every decision) and serves the tenant-scoped reads of
// authorization records that the REST API and the sandbox simulator use.
//
// # One commit path
//
// Every [host.Commit], grouped or alone, optimistic ([Ledger.Commit]) or
// under the card's row lock ([Ledger.CommitLocked]), is encoded by one
// encoder, applied by one PL/pgSQL function, ch_commit_group (migration
// 0033 in issuance/postgres, last redefined by 0035), in one round trip and one transaction, and its
// answer is mapped to a [host.CommitOutcome] in one place (commit.go). A
// group of one is a group. Concurrent commits are grouped by a small queue
// of workers (batcher.go): one WAL flush per group, and no caller is
// answered before its group's transaction committed.
//
// Ring: adapter. It imports the host domain, issuance (card model), iso,
// kafka and pgx, and issuance/postgres for the database handle, its pool,
// clock, configuration and hooks, and the one migration sequence: the
// ledger's tables and functions are migrations there. issuance/postgres
// never imports it (CONVENTIONS.md's split rule), and it imports no other
// adapter.
package postgres

// Package ledger is cardhost's money: a double-entry ledger with the
// semantics of TigerBeetle's accounts and two-phase transfers, kept in
// PostgreSQL (docs/ledger.md is the model in prose).
//
// Every movement is an immutable [Transfer] of an amount in minor units
// between two [Account]s of one currency; an account's four totals (debits
// and credits, pending and posted) are the sums of its transfers, and over
// all accounts of a currency they sum to zero. A hold is a pending transfer
// that is later posted (fully or in part: the rest is released), voided or
// expired, exactly once; a correction is a new transfer, never an edit.
//
// The package holds the vocabulary (funding modes, account and transfer
// kinds, derived account ids), the pure rules (what a transfer does to each
// account, hold expiry and capture tolerances by MCC, the clearing file
// format, the settlement report), the invariant [Checker] behind `cardhost
// ledger check`, and the [Service] behind the REST money endpoints
// (deposits, balances, recharge and withdraw, transfer lists, operator
// funding) over a small [Store].
//
// Ring: domain, a room beside package issuance (whose errors, ids and pages
// it speaks) and below package host, which builds holds and postings with
// it inside the authorization commit. It imports issuance, kafka and emv;
// it must not import an adapter or a driver: issuance/postgres implements
// [Store], and the SQL function ch_ledger_apply applies transfers with the
// same rules as [Effects].
package ledger

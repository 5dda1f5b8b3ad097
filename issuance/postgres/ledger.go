package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/ledger"
	"github.com/cardhost/cardhost/kafka"
)

// The ledger's store (ledger.Store): accounts, transfers applied through
// ch_ledger_apply (migration 0045), the issue fee debited with a card's
// creation, and the reads of `cardhost ledger check`. The host's holds
// and postings go through the same SQL function inside ch_commit_group.

var _ ledger.Store = (*DB)(nil)

// fundingMode is the stored funding mode: LIMIT when none is set.
func fundingMode(m string) string {
	if m == "" {
		return ledger.ModeLimit
	}
	return m
}

const accountColumns = `id, tenant_id, kind, coalesce(card_id, ''), currency, no_overdraft,
	debits_pending, debits_posted, credits_pending, credits_posted, created_at`

func scanAccount(row pgx.Row) (ledger.Account, error) {
	var a ledger.Account
	var kind string
	err := row.Scan(&a.ID, &a.TenantID, &kind, &a.CardID, &a.Currency, &a.NoOverdraft,
		&a.DebitsPending, &a.DebitsPosted, &a.CreditsPending, &a.CreditsPosted, &a.CreatedAt)
	a.Kind, a.CreatedAt = ledger.AccountKind(kind), a.CreatedAt.UTC()
	return a, err
}

// openAccounts creates a tenant's program, funding, fees and settlement
// accounts in a currency, and a PREPAID card's account when cardID is
// set, where they do not exist yet.
func openAccounts(ctx context.Context, tx pgx.Tx, tenantID, currency, cardID string, now time.Time) error {
	rows := [][]any{}
	for _, k := range []ledger.AccountKind{ledger.AccountProgram, ledger.AccountFunding, ledger.AccountFees, ledger.AccountSettlement} {
		rows = append(rows, []any{ledger.TenantAccount(k, tenantID, currency), string(k), nil, k.Customer()})
	}
	if cardID != "" {
		rows = append(rows, []any{ledger.CardAccount(cardID), string(ledger.AccountCard), cardID, true})
	}
	for _, r := range rows {
		_, err := tx.Exec(ctx, `INSERT INTO ledger_accounts (id, tenant_id, kind, card_id, currency, no_overdraft, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`, r[0], tenantID, r[1], r[2], currency, r[3], now)
		if fkViolation(err) {
			return issuance.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("opening ledger accounts: %w", err)
		}
	}
	return nil
}

// applySQL is the one SQL entry point of applying transfers (also used,
// inside ch_commit_group, by the host).
const applySQL = `SELECT * FROM ch_ledger_apply($1, $2)`

// applyTransfers applies ts with ch_ledger_apply in tx. A customer account
// that would go below zero is *ledger.Shortfall; a funding reference used
// twice ledger.ErrDuplicateReference.
func applyTransfers(ctx context.Context, tx pgx.Tx, ts []ledger.Transfer, now time.Time) (ledger.Moved, error) {
	res := ledger.Moved{Before: map[string]int64{}, After: map[string]ledger.Account{}}
	if len(ts) == 0 {
		return res, nil
	}
	for _, t := range ts {
		if err := t.Validate(); err != nil {
			return res, err
		}
	}
	arg, err := json.Marshal(ts)
	if err != nil {
		return res, fmt.Errorf("encoding transfers: %w", err)
	}
	rows, err := tx.Query(ctx, applySQL, arg, now)
	if err == nil {
		for rows.Next() {
			var a ledger.Account
			var kind string
			var before int64
			var card *string
			if err = rows.Scan(&a.ID, &a.TenantID, &kind, &card, &a.Currency, &a.NoOverdraft, &before,
				&a.DebitsPending, &a.DebitsPosted, &a.CreditsPending, &a.CreditsPosted, &a.CreatedAt); err != nil {
				break
			}
			a.Kind = ledger.AccountKind(kind)
			if card != nil {
				a.CardID = *card
			}
			res.Before[a.ID], res.After[a.ID] = before, a
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	return res, ledgerError(err)
}

// ledgerError maps what ch_ledger_apply raises to the ledger's errors.
func ledgerError(err error) error {
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pgErr) && pgErr.Code == "CH003":
		return &ledger.Shortfall{Account: pgErr.Detail}
	case isUniqueViolation(err, "ledger_transfers_funding_reference"):
		return ledger.ErrDuplicateReference
	}
	return fmt.Errorf("applying transfers: %w", err)
}

// Move implements ledger.Store.
func (db *DB) Move(ctx context.Context, m ledger.Move) (ledger.Moved, error) {
	var res ledger.Moved
	now := db.Now()
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if m.CardID != "" {
			tag, err := tx.Exec(ctx, `UPDATE cards SET version = version + 1, updated_at = $3 WHERE id = $1 AND tenant_id = $2`, m.CardID, m.TenantID, now)
			if err != nil {
				return fmt.Errorf("locking card: %w", err)
			}
			if tag.RowsAffected() == 0 {
				return issuance.ErrNotFound
			}
		}
		if err := openAccounts(ctx, tx, m.TenantID, m.Currency, "", now); err != nil {
			return err
		}
		var err error
		if res, err = applyTransfers(ctx, tx, m.Transfers, now); err != nil {
			return err
		}
		if m.Audit != nil {
			if _, err := tx.Exec(ctx, `INSERT INTO ledger_audit (transfer_id, tenant_id, operator, reason, at) VALUES ($1, $2, $3, $4, $5)`,
				m.Transfers[0].ID, m.TenantID, m.Audit.Operator, m.Audit.Reason, now); err != nil {
				return fmt.Errorf("auditing funding: %w", err)
			}
		}
		if m.Events == nil {
			return nil
		}
		events, err := m.Events(res)
		if err != nil {
			return err
		}
		return insertEvents(ctx, tx, events)
	})
	return res, err
}

// Accounts implements ledger.Store.
func (db *DB) Accounts(ctx context.Context, tenantID string, k ledger.AccountKind) ([]ledger.Account, error) {
	return listAll(ctx, db.pool, "ledger accounts", `SELECT `+accountColumns+` FROM ledger_accounts
		WHERE tenant_id = $1 AND ($2 = '' OR kind = $2) ORDER BY id`, scanAccount, tenantID, string(k))
}

// Account implements ledger.Store.
func (db *DB) Account(ctx context.Context, tenantID, id string) (ledger.Account, error) {
	return getRow(ctx, db, "ledger account", `SELECT `+accountColumns+` FROM ledger_accounts WHERE id = $1 AND tenant_id = $2`,
		scanAccount, id, tenantID)
}

const transferColumns = `id, seq, tenant_id, kind, debit_account, credit_account, amount, currency, pending, coalesce(pending_id, ''),
	forced, expires_at, coalesce(card_id, ''), coalesce(authorization_id, ''), coalesce(reference, ''), created_at`

func scanTransfer(row pgx.Row) (ledger.Transfer, error) {
	var t ledger.Transfer
	var kind string
	err := row.Scan(&t.ID, &t.Seq, &t.TenantID, &kind, &t.Debit, &t.Credit, &t.Amount, &t.Currency, &t.Pending, &t.PendingID,
		&t.Forced, &t.ExpiresAt, &t.CardID, &t.AuthorizationID, &t.Reference, &t.CreatedAt)
	t.Kind, t.CreatedAt = ledger.Kind(kind), t.CreatedAt.UTC()
	if t.ExpiresAt != nil {
		e := t.ExpiresAt.UTC()
		t.ExpiresAt = &e
	}
	return t, err
}

// Transfers implements ledger.Store.
func (db *DB) Transfers(ctx context.Context, tenantID string, f ledger.TransferFilter) ([]ledger.Transfer, bool, error) {
	return ListPage(ctx, db, "ledger transfers", `SELECT `+transferColumns+` FROM ledger_transfers
		WHERE tenant_id = $1 AND ($2 = '' OR card_id = $2) AND ($3 = '' OR debit_account = $3 OR credit_account = $3)
		  AND ($4 = '' OR kind = $4) AND ($5::timestamptz IS NULL OR created_at > $5) AND ($6::timestamptz IS NULL OR created_at < $6)
		  AND ($7 = '' OR id < $7)
		ORDER BY id DESC LIMIT $8`, f.Size(), scanTransfer,
		tenantID, f.CardID, f.AccountID, string(f.Kind), f.CreatedAfter, f.CreatedBefore, f.StartingAfter, f.Size()+1)
}

// Settlement implements ledger.Store: the clearing records (kinds clearing
// and clearing_reversal) decided on day, per currency, type and whether
// they matched an authorization.
func (db *DB) Settlement(ctx context.Context, tenantID string, day time.Time) ([]ledger.SettlementLine, error) {
	rows, err := db.pool.Query(ctx, `SELECT currency, CASE WHEN kind = 'clearing_reversal' THEN 'reversal'
			WHEN left(processing_code, 2) = '20' THEN 'refund' ELSE 'purchase' END AS type,
			status = 'UNMATCHED', count(*), coalesce(sum(amount), 0)
		  FROM authorizations
		 WHERE kind IN ('clearing', 'clearing_reversal') AND ($1 = '' OR tenant_id = $1)
		   AND decided_at >= $2 AND decided_at < $2 + interval '1 day'
		 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, tenantID, day.UTC())
	if err != nil {
		return nil, fmt.Errorf("reading settlement: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ledger.SettlementLine, error) {
		var l ledger.SettlementLine
		var numeric string
		err := r.Scan(&numeric, &l.Type, &l.Unmatched, &l.Count, &l.Amount)
		l.Currency = numeric
		if a, ok := issuance.CurrencyAlpha(numeric); ok {
			l.Currency = a
		}
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading settlement: %w", err)
	}
	return out, nil
}

// fundCard opens a funded card's accounts and debits its product's issue
// fee from the program balance, in the card's transaction; it returns the
// fee's event (ledger.fee). A card without funding mode or fee costs
// nothing here.
func fundCard(ctx context.Context, tx pgx.Tx, n *issuance.NewCard, now time.Time) ([]kafka.Event, error) {
	c := &n.Card
	if !ledger.Funded(c.FundingMode) && n.Fee == 0 {
		return nil, nil
	}
	own := ""
	if c.FundingMode == ledger.ModePrepaid {
		own = c.ID
	}
	if err := openAccounts(ctx, tx, c.TenantID, c.Currency, own, now); err != nil {
		return nil, err
	}
	if n.Fee == 0 {
		return nil, nil
	}
	program := ledger.TenantAccount(ledger.AccountProgram, c.TenantID, c.Currency)
	t := ledger.New(ledger.KindFee, c.TenantID, program, ledger.TenantAccount(ledger.AccountFees, c.TenantID, c.Currency), n.Fee, c.Currency, now)
	t.CardID = c.ID
	res, err := applyTransfers(ctx, tx, []ledger.Transfer{t}, now)
	if err != nil {
		return nil, err
	}
	ev, err := ledger.MoneyEvent(kafka.TypeLedgerFee, string(ledger.KindFee), []ledger.Transfer{t}, program, res, "", now)
	return []kafka.Event{ev}, err
}

// feeRefused turns a card creation refused for its issue fee into
// insufficient_funds with the program balance.
func (db *DB) feeRefused(ctx context.Context, n *issuance.NewCard, err error) error {
	var short *ledger.Shortfall
	if !errors.As(err, &short) {
		return err
	}
	a, aerr := db.Account(ctx, n.Card.TenantID, short.Account)
	if aerr != nil {
		return ledger.InsufficientFunds(n.Card.Currency, n.Fee)
	}
	return ledger.InsufficientFunds(n.Card.Currency, n.Fee, a)
}

// CheckLedger feeds c everything the ledger's invariants are checked
// against, in one repeatable-read snapshot: every account, every transfer
// in the order it was applied (seq), and every authorization that holds
// money or is a funded card's approval that should have moved some. The
// caller then calls c.Finish.
func (db *DB) CheckLedger(ctx context.Context, c *ledger.Checker) error {
	return pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
			return err
		}
		steps := []struct {
			what, sql string
			row       func(pgx.Rows) error
		}{
			{"accounts", `SELECT ` + accountColumns + ` FROM ledger_accounts ORDER BY id`, func(r pgx.Rows) error {
				a, err := scanAccount(r)
				c.Account(a)
				return err
			}},
			{"transfers", `SELECT ` + transferColumns + ` FROM ledger_transfers ORDER BY seq`, func(r pgx.Rows) error {
				t, err := scanTransfer(r)
				c.Transfer(t)
				return err
			}},
			// Approvals of funded cards that spend or credit (not balance
			// inquiries), unmatched approved advices, and whatever holds
			// money.
			{"authorizations", `SELECT a.id, coalesce(a.hold_id, ''), coalesce(a.hold_amount, 0)
				FROM authorizations a JOIN cards c ON c.id = a.card_id
				WHERE coalesce(a.hold_amount, 0) > 0
				   OR (c.funding_mode <> 'LIMIT' AND a.card_amount <> 0 AND a.response_code IN ('00', '10') AND left(a.processing_code, 2) <> '30'
				       AND (a.kind IN ('authorization', 'financial') OR (a.kind = 'advice' AND a.original_id IS NULL AND a.status <> 'DECLINED')))`,
				func(r pgx.Rows) error {
					var a ledger.Approval
					err := r.Scan(&a.ID, &a.HoldID, &a.HoldAmount)
					c.Approval(a)
					return err
				}},
		}
		for _, s := range steps {
			rows, err := tx.Query(ctx, s.sql)
			if err != nil {
				return fmt.Errorf("reading %s: %w", s.what, err)
			}
			for rows.Next() {
				if err := s.row(rows); err != nil {
					rows.Close()
					return fmt.Errorf("reading %s: %w", s.what, err)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("reading %s: %w", s.what, err)
			}
		}
		return nil
	})
}

// ClearingFile is a clearing file as `cardhost clearing import` records
// it, by its content's SHA-256.
type ClearingFile struct {
	Name            string
	Records         int
	Applied, Failed int
	StartedAt       time.Time
	FinishedAt      *time.Time
}

// StartClearingFile records that a file (by the SHA-256 of its content)
// is being imported, and returns its record: a FinishedAt set means it was
// imported whole before (the caller imports nothing); a file started and
// never finished (an import cut short) is imported again, its records
// being idempotent.
func (db *DB) StartClearingFile(ctx context.Context, sha256 []byte, name string, records int) (ClearingFile, error) {
	var f ClearingFile
	err := db.pool.QueryRow(ctx, `INSERT INTO clearing_files (sha256, name, records, started_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (sha256) DO UPDATE SET started_at = CASE WHEN clearing_files.finished_at IS NULL THEN excluded.started_at ELSE clearing_files.started_at END
		RETURNING name, records, applied, failed, started_at, finished_at`, sha256, name, records, db.Now()).
		Scan(&f.Name, &f.Records, &f.Applied, &f.Failed, &f.StartedAt, &f.FinishedAt)
	if err != nil {
		return f, fmt.Errorf("recording clearing file: %w", err)
	}
	return f, nil
}

// FinishClearingFile records that a file's import ended, with how many
// records were applied (or found applied before) and how many refused.
func (db *DB) FinishClearingFile(ctx context.Context, sha256 []byte, applied, failed int) error {
	_, err := db.pool.Exec(ctx, `UPDATE clearing_files SET applied = $2, failed = $3, finished_at = $4 WHERE sha256 = $1`, sha256, applied, failed, db.Now())
	if err != nil {
		return fmt.Errorf("recording clearing file: %w", err)
	}
	return nil
}

package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cardhost/cardhost/issuance/ledger"
	"github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/issuance/postgres/pgtest"
	"github.com/cardhost/cardhost/kafka"
)

// checkLedger runs the invariant checker over the database and fails the
// test on any violation.
func checkLedger(t *testing.T, db *postgres.DB) {
	t.Helper()
	c := ledger.NewChecker()
	if err := db.CheckLedger(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Finish(); len(v) > 0 {
		t.Fatalf("ledger check: %v", v)
	}
}

func move(db *postgres.DB, tenant string, ts ...ledger.Transfer) (ledger.Moved, error) {
	return db.Move(context.Background(), ledger.Move{TenantID: tenant, Currency: "EUR", Transfers: ts})
}

func TestLedgerApplyTwoPhase(t *testing.T) {
	db := pgtest.New(t, postgres.Config{})
	ten, _ := newTenant(t, db, "Money Issuing")
	now := time.Now().UTC()
	program := ledger.TenantAccount(ledger.AccountProgram, ten.ID, "EUR")
	settlement := ledger.TenantAccount(ledger.AccountSettlement, ten.ID, "EUR")
	funding := ledger.TenantAccount(ledger.AccountFunding, ten.ID, "EUR")

	res, err := move(db, ten.ID, ledger.New(ledger.KindDeposit, ten.ID, funding, program, 1000, "EUR", now))
	if err != nil {
		t.Fatal(err)
	}
	if res.Before[program] != 0 || res.After[program].Available() != 1000 || res.After[funding].CreditsPosted-res.After[funding].DebitsPosted != -1000 {
		t.Fatalf("after the deposit: %+v", res)
	}
	exp := now.Add(time.Hour)
	h := ledger.New(ledger.KindHold, ten.ID, program, settlement, 600, "EUR", now)
	h.Pending, h.ExpiresAt = true, &exp
	res, err = move(db, ten.ID, h)
	if err != nil {
		t.Fatal(err)
	}
	if b := res.After[program].Balance(); b != (ledger.Balance{Currency: "EUR", Available: 400, Pending: 600, Posted: 1000}) {
		t.Fatalf("after the hold: %+v", b)
	}
	// A second hold beyond the available balance is refused whole.
	h2 := h
	h2.ID, h2.Amount = "trf_second", 500
	_, err = move(db, ten.ID, h2)
	var short *ledger.Shortfall
	if !errors.As(err, &short) || short.Account != program {
		t.Fatalf("overdraft: %v", err)
	}
	// ... unless forced, which a capture or network advice may be.
	forced := ledger.New(ledger.KindForcePost, ten.ID, program, settlement, 500, "EUR", now)
	forced.Forced = true
	// Posting for more than the hold is refused (CH004), and so is
	// voiding another amount.
	over := ledger.Resolve(ledger.KindPost, h, 600, "auth_x", now)
	over.Amount = 601
	if _, err := move(db, ten.ID, over); !pgCode(err, "CH004") {
		t.Fatalf("post above the hold: %v", err)
	}
	post := ledger.Resolve(ledger.KindPost, h, 550, "auth_x", now)
	if res, err = move(db, ten.ID, post, forced); err != nil {
		t.Fatal(err)
	}
	if b := res.After[program].Balance(); b != (ledger.Balance{Currency: "EUR", Available: -50, Pending: 0, Posted: -50}) {
		t.Fatalf("after the post of 550 and the forced 500: %+v", b)
	}
	if res.Before[program] != 400 {
		t.Fatalf("available before %d", res.Before[program])
	}
	// A hold resolves once.
	void := ledger.Resolve(ledger.KindVoid, h, 0, "auth_y", now)
	if _, err := move(db, ten.ID, void); err == nil {
		t.Fatal("a hold resolved twice")
	}
	// A refund brings it back above zero; a fee from an overdrawn balance
	// is refused.
	if _, err := move(db, ten.ID, ledger.New(ledger.KindFee, ten.ID, program, ledger.TenantAccount(ledger.AccountFees, ten.ID, "EUR"), 1, "EUR", now)); !errors.As(err, &short) {
		t.Fatalf("a fee from an overdrawn balance: %v", err)
	}
	if _, err := move(db, ten.ID, ledger.New(ledger.KindRefund, ten.ID, settlement, program, 100, "EUR", now)); err != nil {
		t.Fatal(err)
	}
	checkLedger(t, db)
	got, _, err := db.Transfers(context.Background(), ten.ID, ledger.TransferFilter{Kind: ledger.KindPost})
	if err != nil || len(got) != 1 || got[0].Amount != 550 || got[0].PendingID != h.ID {
		t.Fatalf("transfers of kind post: %+v %v", got, err)
	}
}

// TestLedgerApplyRefusesAMissingAccount: a transfer naming an account
// that does not exist is refused (CH005) before anything is written, with
// the accounts it did name left unlocked and unchanged; and the ledger's
// body keeps the settings its plans rely on (0078 replaced it).
func TestLedgerApplyRefusesAMissingAccount(t *testing.T) {
	db := pgtest.New(t, postgres.Config{})
	ten, _ := newTenant(t, db, "Money Issuing")
	now := time.Now().UTC()
	program := ledger.TenantAccount(ledger.AccountProgram, ten.ID, "EUR")
	funding := ledger.TenantAccount(ledger.AccountFunding, ten.ID, "EUR")
	if _, err := move(db, ten.ID, ledger.New(ledger.KindDeposit, ten.ID, funding, program, 1000, "EUR", now)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tr := ledger.New(ledger.KindDebit, ten.ID, program, "acct_nowhere", 10, "EUR", now)
	body, err := json.Marshal([]map[string]any{{"id": tr.ID, "tenant_id": ten.ID, "kind": "debit", "debit_account": program,
		"credit_account": "acct_nowhere", "amount": 10, "currency": "EUR"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Pool().Exec(ctx, `SELECT * FROM ch_ledger_apply($1::jsonb, now())`, body)
	if !pgCode(err, "CH005") {
		t.Fatalf("a transfer to a missing account: %v, want CH005", err)
	}
	var n int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM ledger_transfers WHERE id = $1`, tr.ID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d transfers written (%v), want 0", n, err)
	}
	var cfg []string
	if err := db.Pool().QueryRow(ctx, `SELECT proconfig FROM pg_proc WHERE proname = 'ch_ledger_apply_transfers' AND pronamespace = current_schema()::regnamespace`).Scan(&cfg); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(cfg, "enable_seqscan=off") || !slices.Contains(cfg, "plan_cache_mode=force_generic_plan") {
		t.Fatalf("ch_ledger_apply_transfers settings %v", cfg)
	}
	checkLedger(t, db)
}

func pgCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}

// TestLedgerNoOverdraftUnderConcurrency: many concurrent withdrawals from
// one program balance, across connections, never take it below zero, and
// exactly as many as fit go through.
func TestLedgerNoOverdraftUnderConcurrency(t *testing.T) {
	db := pgtest.New(t, postgres.Config{MaxConns: 12})
	ten, _ := newTenant(t, db, "Money Issuing")
	now := time.Now().UTC()
	program := ledger.TenantAccount(ledger.AccountProgram, ten.ID, "EUR")
	settlement := ledger.TenantAccount(ledger.AccountSettlement, ten.ID, "EUR")
	if _, err := move(db, ten.ID, ledger.New(ledger.KindDeposit, ten.ID, ledger.TenantAccount(ledger.AccountFunding, ten.ID, "EUR"), program, 10_000, "EUR", now)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, short := 0, 0
	for i := 0; i < 60; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := move(db, ten.ID, ledger.New(ledger.KindDebit, ten.ID, program, settlement, 300, "EUR", time.Now()))
			var s *ledger.Shortfall
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.As(err, &s):
				short++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok != 33 || short != 27 {
		t.Fatalf("%d debits went through and %d were short, want 33 and 27", ok, short)
	}
	a, err := db.Account(context.Background(), ten.ID, program)
	if err != nil || a.Available() != 100 {
		t.Fatalf("program balance %+v %v", a.Balance(), err)
	}
	checkLedger(t, db)
}

func TestLedgerMoveEventsAndFundingReference(t *testing.T) {
	db := pgtest.New(t, postgres.Config{})
	ten, _ := newTenant(t, db, "Money Issuing")
	svc := ledger.NewService(ledger.Deps{Store: db, Cards: db})
	ctx := context.Background()
	r := ledger.FundingRequest{Currency: "eur", Amount: 2500, Reference: "WIRE-1", Operator: "alice", Reason: "initial funding"}
	m, err := svc.Fund(ctx, ten.ID, true, r)
	if err != nil {
		t.Fatal(err)
	}
	if m.BalanceBefore != 0 || m.BalanceAfter != 2500 || m.Currency != "EUR" {
		t.Fatalf("movement %+v", m)
	}
	if _, err := svc.Fund(ctx, ten.ID, true, r); err == nil || !contains(err.Error(), ledger.SlugDuplicateReference) {
		t.Fatalf("the same reference twice: %v", err)
	}
	r.Reference, r.Amount = "PAYOUT-1", 5000
	if _, err := svc.Fund(ctx, ten.ID, false, r); err == nil || !contains(err.Error(), "insufficient_funds") {
		t.Fatalf("debit beyond the balance: %v", err)
	}
	recs, err := db.Outbox().Pending(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var money []kafka.Event
	for _, rec := range recs {
		if rec.Event.Type == kafka.TypeLedgerFundingCredit {
			money = append(money, rec.Event)
		}
	}
	if len(money) != 1 || money[0].Subject != ten.ID {
		t.Fatalf("ledger events %+v", money)
	}
	p, err := money[0].Payload()
	if err != nil {
		t.Fatal(err)
	}
	if d := p.(kafka.MoneyData); d.BalanceBefore != 0 || d.BalanceAfter != 2500 || d.Reference != "WIRE-1" || d.TransferIDs[0] != m.TransferID {
		t.Fatalf("payload %+v", d)
	}
	var n int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM ledger_audit WHERE operator = 'alice' AND reason = 'initial funding'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("audit rows %d %v", n, err)
	}
	checkLedger(t, db)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestLedgerApplyProbesItsTables: resolving a few holds reads a few index
// entries of ledger_transfers, however many transfers the ledger holds
// (0076). Before, a generic plan could read the whole primary key on
// every call (a hash join over a full index scan).
func TestLedgerApplyProbesItsTables(t *testing.T) {
	db := pgtest.New(t, postgres.Config{})
	ten, _ := newTenant(t, db, "Probes")
	ctx := context.Background()
	now := time.Now().UTC()
	program := ledger.TenantAccount(ledger.AccountProgram, ten.ID, "EUR")
	settlement := ledger.TenantAccount(ledger.AccountSettlement, ten.ID, "EUR")
	funding := ledger.TenantAccount(ledger.AccountFunding, ten.ID, "EUR")
	if _, err := move(db, ten.ID, ledger.New(ledger.KindDeposit, ten.ID, funding, program, 1_000_000, "EUR", now)); err != nil {
		t.Fatal(err)
	}
	exp := now.Add(time.Hour)
	newHolds := func(n int) []ledger.Transfer {
		holds := make([]ledger.Transfer, n)
		for i := range holds {
			holds[i] = ledger.New(ledger.KindHold, ten.ID, program, settlement, 1, "EUR", now)
			holds[i].Pending, holds[i].ExpiresAt = true, &exp
		}
		if _, err := move(db, ten.ID, holds...); err != nil {
			t.Fatal(err)
		}
		return holds
	}
	holds := newHolds(40)
	conn, err := db.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET stats_fetch_consistency = none`); err != nil {
		t.Fatal(err)
	}
	read := func() int64 {
		t.Helper()
		if _, err := conn.Exec(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
			t.Fatal(err)
		}
		var v int64
		if err := conn.QueryRow(ctx, `SELECT coalesce(sum(idx_tup_read), 0) FROM pg_stat_user_indexes
			WHERE relid = 'ledger_transfers'::regclass`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	// Calls on one connection while the table is small, so that the plan
	// it keeps is made then; then the table grows 100-fold.
	for call := range 12 {
		if call == 8 {
			newHolds(4000)
		}
		ts := []ledger.Transfer{}
		for _, h := range holds[call*3 : call*3+3] {
			ts = append(ts, ledger.Resolve(ledger.KindVoid, h, 0, "auth_probe", now))
		}
		arg, err := json.Marshal(ts)
		if err != nil {
			t.Fatal(err)
		}
		before := read()
		if _, err := conn.Exec(ctx, `SELECT count(*) FROM ch_ledger_apply($1, $2)`, arg, now); err != nil {
			t.Fatalf("call %d: %v", call, err)
		}
		if got := read() - before; got > 50 {
			t.Fatalf("call %d resolving 3 holds read %d index entries of ledger_transfers", call, got)
		}
	}
}

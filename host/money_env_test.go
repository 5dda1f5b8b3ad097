package host_test

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/host/isoserver"
	hostpg "github.com/cardhost/cardhost/host/postgres"
	"github.com/cardhost/cardhost/issuance/ledger"
	"github.com/cardhost/cardhost/kafka"
)

// Money helpers of the host tests (docs/ledger.md).

// fund makes a card funded: its mode and funding account, and the
// tenant's USD accounts (and a PREPAID card's own).
func (e *hostEnv) fund(cardID, mode string) {
	e.t.Helper()
	ctx := context.Background()
	account := ledger.SourceAccount(mode, e.tenant, cardID, "USD")
	if _, err := e.db.Pool().Exec(ctx, `UPDATE cards SET funding_mode = $2, funding_account = $3 WHERE id = $1`, cardID, mode, account); err != nil {
		e.t.Fatal(err)
	}
	e.deposit(0)
	if mode == ledger.ModePrepaid {
		if _, err := e.db.Pool().Exec(ctx, `INSERT INTO ledger_accounts (id, tenant_id, kind, card_id, currency, no_overdraft, created_at)
			VALUES ($1, $2, 'card', $3, 'USD', true, now())`, account, e.tenant, cardID); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *hostEnv) money() *ledger.Service {
	return ledger.NewService(ledger.Deps{Store: e.db, Cards: e.db})
}

// deposit credits the tenant's USD program balance (0: only opens the
// accounts).
func (e *hostEnv) deposit(amount int64) {
	e.t.Helper()
	if amount == 0 {
		if _, err := e.db.Move(context.Background(), ledger.Move{TenantID: e.tenant, Currency: "USD"}); err != nil {
			e.t.Fatal(err)
		}
		return
	}
	if _, err := e.money().Deposit(context.Background(), e.tenant, ledger.DepositRequest{Currency: "USD", Amount: amount}); err != nil {
		e.t.Fatal(err)
	}
}

// recharge moves money to a PREPAID card.
func (e *hostEnv) recharge(cardID string, amount int64) {
	e.t.Helper()
	if _, err := e.money().Recharge(context.Background(), e.tenant, cardID, ledger.AmountRequest{Amount: amount}); err != nil {
		e.t.Fatal(err)
	}
}

// balance reads an account's balance.
func (e *hostEnv) balance(account string) ledger.Balance {
	e.t.Helper()
	a, err := e.db.Account(context.Background(), e.tenant, account)
	if err != nil {
		e.t.Fatal(err)
	}
	return a.Balance()
}

func (e *hostEnv) program() string {
	return ledger.TenantAccount(ledger.AccountProgram, e.tenant, "USD")
}

// kinds returns the kinds of a card's transfers, oldest first.
func (e *hostEnv) kinds(cardID string) []string {
	e.t.Helper()
	return e.texts(`SELECT kind FROM ledger_transfers WHERE card_id = $1 ORDER BY seq`, cardID)
}

// texts runs a query of one text column and returns its rows.
func (e *hostEnv) texts(query string, args ...any) []string {
	e.t.Helper()
	rows, err := e.db.Pool().Query(context.Background(), query, args...)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

// checkLedger runs `cardhost ledger check`'s checker over the database.
func (e *hostEnv) checkLedger() {
	e.t.Helper()
	c := ledger.NewChecker()
	if err := e.db.CheckLedger(context.Background(), c); err != nil {
		e.t.Fatal(err)
	}
	if v, _ := c.Finish(); len(v) > 0 {
		e.t.Fatalf("ledger check: %v", v)
	}
}

// engineInstance starts another engine and ISO server over the env's database
// and HSM (another cardhost instance), with cfg changed by set, and
// returns the engine and a client of its port.
func (e *hostEnv) engineInstance(set func(*host.Config)) (*host.Engine, *terminal.Client) {
	e.t.Helper()
	cfg := host.Config{PANIndexRef: e.keys[emv.KeyPANIDX]}
	if set != nil {
		set(&cfg)
	}
	eng, err := host.New(cfg, hostpg.New(e.db), e.hsm, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	fp, _ := e.hsm.DeriveSecret("iso-retransmission-fingerprint")
	srv, err := isoserver.New(isoserver.Config{FingerprintKey: fp, MaxInFlight: 128}, eng, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	go srv.Serve(ln)
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	c, err := terminal.Dial(context.Background(), ln.Addr().String(), terminal.RequestTimeout(10*time.Second))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return eng, c
}

// moneyEvent decodes the newest ledger.* event of a card.
func (e *hostEnv) moneyEvent(cardID string) (string, kafka.MoneyData) {
	e.t.Helper()
	var typ string
	var data []byte
	err := e.db.Pool().QueryRow(context.Background(), `SELECT type, data FROM outbox WHERE subject = $1 AND type LIKE 'ledger.%' ORDER BY seq DESC LIMIT 1`,
		cardID).Scan(&typ, &data)
	if err != nil {
		e.t.Fatal(err)
	}
	ev := kafka.Event{Type: typ, Data: data}
	var d kafka.MoneyData
	if err := ev.DecodeData(&d); err != nil {
		e.t.Fatal(err)
	}
	return typ, d
}

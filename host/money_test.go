package host_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/issuance/ledger"
	"github.com/cardhost/cardhost/kafka"
)

// TestSharedCardSpendsTheProgramBalance: a SHARED card holds against the
// program balance, declines 51 insufficient_funds when it is short and
// approves the available amount (10) when the acquirer takes partial
// approvals; captures post holds (releasing the rest), reversals void
// them, a 0200 posts at once, a refund credits; the ledger check passes.
func TestSharedCardSpendsTheProgramBalance(t *testing.T) {
	e := newHostEnv(t)
	card := e.newCard(cardOpts{funding: ledger.ModeShared})
	e.deposit(5000)
	want := func(step string, b ledger.Balance) {
		t.Helper()
		if got := e.balance(e.program()); got != b {
			t.Fatalf("%s: program balance %+v, want %+v", step, got, b)
		}
	}
	first := msg{amount: 2000, stan: "000101", transmission: "0601120000"}
	if a := e.auth(card, first); a.code != "00" {
		t.Fatalf("2000 of 5000: %s", a.code)
	}
	want("after a hold of 2000", ledger.Balance{Currency: "USD", Available: 3000, Pending: 2000, Posted: 5000})
	if a := e.auth(card, msg{amount: 4000}); a.code != "51" {
		t.Fatalf("4000 of 3000 without partial approval: %s, want 51", a.code)
	}
	var d kafka.AuthorizationData
	if err := e.lastEvent(card.ID).DecodeData(&d); err != nil || d.Reason != string(host.ReasonInsufficientFunds) || d.ResponseCode != "51" {
		t.Fatalf("decline event %+v %v", d, err)
	}
	partial := msg{amount: 4000, partial: true, stan: "000102", transmission: "0601120001"}
	if a := e.auth(card, partial); a.code != "10" || a.amount != 3000 {
		t.Fatalf("4000 of 3000 with partial approval: %s for %d, want 10 for 3000", a.code, a.amount)
	}
	if a := e.auth(card, msg{amount: 1, partial: true}); a.code != "51" {
		t.Fatalf("nothing available: %s, want 51", a.code)
	}
	want("after the partial approval", ledger.Balance{Currency: "USD", Available: 0, Pending: 5000, Posted: 5000})
	// A capture for less posts 1500 of the 2000 hold and releases 500.
	if a := e.auth(card, msg{mti: "0220", amount: 1500, original: original("0100", first.stan, first.transmission)}); a.code != "00" {
		t.Fatalf("capture: %s", a.code)
	}
	want("after the capture", ledger.Balance{Currency: "USD", Available: 500, Pending: 3000, Posted: 3500})
	// A full reversal voids the partial approval's hold.
	if a := e.auth(card, msg{mti: "0400", amount: 3000, original: original("0100", partial.stan, partial.transmission)}); a.code != "00" {
		t.Fatalf("reversal: %s", a.code)
	}
	want("after the reversal", ledger.Balance{Currency: "USD", Available: 3500, Pending: 0, Posted: 3500})
	if a := e.auth(card, msg{mti: "0200", amount: 500}); a.code != "00" {
		t.Fatalf("0200: %s", a.code)
	}
	if a := e.auth(card, msg{processing: "200000", amount: 200}); a.code != "00" {
		t.Fatalf("refund: %s", a.code)
	}
	want("after the 0200 and the refund", ledger.Balance{Currency: "USD", Available: 3200, Pending: 0, Posted: 3200})
	if a := e.auth(card, msg{processing: "300000"}); a.code != "00" || !strings.Contains(a.balances, "0002840C000000003200") {
		t.Fatalf("balance inquiry: %s %q", a.code, a.balances)
	}
	if got := strings.Join(e.kinds(card.ID), " "); got != "hold hold post void debit refund" {
		t.Fatalf("transfers %s", got)
	}
	e.checkLedger()
}

// TestPrepaidCardTipsAndTolerances: a PREPAID card spends its own balance;
// a capture above the hold posts the hold and the excess (a debit within
// the MCC's tolerance, a flagged force_post beyond it); a partial reversal
// voids the hold and holds what stays; an approved advice holds, forced.
func TestPrepaidCardTipsAndTolerances(t *testing.T) {
	e := newHostEnv(t)
	card := e.newCard(cardOpts{funding: ledger.ModePrepaid})
	e.deposit(20000)
	e.recharge(card.ID, 10000)
	own := ledger.CardAccount(card.ID)
	steps := []struct {
		name  string
		m     msg
		code  string
		avail int64
	}{
		{"restaurant", msg{amount: 1000, mcc: "5812", stan: "000201", transmission: "0601130000"}, "00", 9000},
		{"tip of 20%", msg{mti: "0220", amount: 1200, mcc: "5812", original: original("0100", "000201", "0601130000")}, "00", 8800},
		{"grocery", msg{amount: 1000, stan: "000202", transmission: "0601130001"}, "00", 7800},
		{"capture above the hold", msg{mti: "0220", amount: 1100, original: original("0100", "000202", "0601130001")}, "00", 7700},
		{"hotel", msg{amount: 2000, mcc: "7011", stan: "000203", transmission: "0601130002"}, "00", 5700},
		{"partial reversal", msg{mti: "0400", amount: 2000, replacement: p64(500), original: original("0100", "000203", "0601130002")}, "00", 7200},
		{"stand-in advice", msg{mti: "0120", amount: 300, adviceCode: "00", approval: "ADV001"}, "00", 6900},
	}
	for _, s := range steps {
		if a := e.auth(card, s.m); a.code != s.code {
			t.Fatalf("%s: %s, want %s", s.name, a.code, s.code)
		}
		if got := e.balance(own).Available; got != s.avail {
			t.Fatalf("%s: available %d, want %d", s.name, got, s.avail)
		}
	}
	if got := strings.Join(e.kinds(card.ID), " "); got != "recharge hold post debit hold post force_post hold void hold hold" {
		t.Fatalf("transfers %s", got)
	}
	var forced, flagged int
	if err := e.db.Pool().QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE forced), count(*) FILTER (WHERE kind = 'force_post')
		FROM ledger_transfers WHERE card_id = $1`, card.ID).Scan(&forced, &flagged); err != nil || forced != 4 || flagged != 1 {
		t.Fatalf("%d forced, %d force_post (%v); want 4 (tip, excess, the re-hold, the advice) and 1", forced, flagged, err)
	}
	// The hotel hold lives 31 days, the others 7.
	var days []float64
	rows, _ := e.db.Pool().Query(context.Background(), `SELECT extract(epoch FROM expires_at - created_at) / 86400 FROM ledger_transfers
		WHERE card_id = $1 AND pending ORDER BY seq`, card.ID)
	for rows.Next() {
		var d float64
		rows.Scan(&d)
		days = append(days, d)
	}
	// (the hold that replaces the hotel's keeps its expiry, a moment less)
	if len(days) != 5 || days[0] != 7 || days[2] != 31 || days[3] < 30.999 || days[3] > 31 || days[4] != 7 {
		t.Fatalf("hold lives (days) %v", days)
	}
	e.checkLedger()
}

// TestDeclineOnAStaleBalanceIsDecidedAgain: a SHARED card declined 51 is
// cached with its empty balance; a deposit does not touch the card, so the
// next request is decided on the cached snapshot, and the commit's funds
// guard finds the money there: the request is decided again and approved.
func TestDeclineOnAStaleBalanceIsDecidedAgain(t *testing.T) {
	e := newHostEnv(t)
	card := e.newCard(cardOpts{funding: ledger.ModeShared})
	if a := e.auth(card, msg{amount: 500}); a.code != "51" {
		t.Fatalf("empty balance: %s", a.code)
	}
	e.deposit(1000)
	if a := e.auth(card, msg{amount: 500}); a.code != "00" {
		t.Fatalf("after a deposit: %s, want 00", a.code)
	}
	// A partial approval decided on a stale, smaller balance is decided
	// again too: 800 of 500 available, then a deposit, then 800 again.
	if a := e.auth(card, msg{amount: 800, partial: true}); a.code != "10" || a.amount != 500 {
		t.Fatalf("partial: %s %d", a.code, a.amount)
	}
	e.deposit(2000)
	if a := e.auth(card, msg{amount: 800, partial: true}); a.code != "00" || a.amount != 800 {
		t.Fatalf("after a deposit: %s for %d, want 00 for 800", a.code, a.amount)
	}
	e.checkLedger()
}

// TestFundedCardsAcrossInstances: two engines (two cardhost instances)
// on one database authorize SHARED cards of one tenant concurrently over
// many connections: exactly what the program balance holds is approved,
// never more, and the ledger check passes.
func TestFundedCardsAcrossInstances(t *testing.T) {
	e := newHostEnv(t)
	_, other := e.engineInstance(nil)
	const cards, perCard, amount, balance = 4, 15, 300, 9000 // 30 approvals fit of 60
	var cs []testCard
	for range cards {
		cs = append(cs, e.newCard(cardOpts{funding: ledger.ModeShared}))
	}
	prepaid := e.newCard(cardOpts{funding: ledger.ModePrepaid})
	e.deposit(balance + 1000)
	e.recharge(prepaid.ID, 1000) // 10 approvals fit on the prepaid card, of 15
	clients := []*terminal.Client{e.client, other, e.dial(), e.instanceClient(other)}
	var mu sync.Mutex
	approved := map[string]int{}
	var wg sync.WaitGroup
	for i, c := range append(cs, prepaid) {
		for r := range perCard {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m := e.build(c, msg{amount: amount, stan: ""})
				a := e.send(clients[(i+r)%len(clients)], m)
				mu.Lock()
				defer mu.Unlock()
				switch a.code {
				case "00":
					approved[c.ID]++
				case "51":
				default:
					t.Errorf("answered %s", a.code)
				}
			}()
		}
	}
	wg.Wait()
	shared := 0
	for _, c := range cs {
		shared += approved[c.ID]
	}
	if shared != balance/amount || approved[prepaid.ID] != 1000/amount {
		t.Fatalf("%d shared approvals (want %d) and %d prepaid (want %d)", shared, balance/amount, approved[prepaid.ID], 1000/amount)
	}
	if b := e.balance(e.program()); b.Available != 0 || b.Pending != balance {
		t.Fatalf("program balance %+v", b)
	}
	e.checkLedger()
}

// instanceClient dials one more connection to the port of the instance
// whose client is c.
func (e *hostEnv) instanceClient(c *terminal.Client) *terminal.Client {
	e.t.Helper()
	n, err := terminal.Dial(context.Background(), c.Addr(), terminal.RequestTimeout(10*time.Second))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { n.Close() })
	return n
}

// TestHoldsExpire: a hold not posted in time expires (the expiry job of
// an engine whose holds live 1.5s): the money is back, the authorization
// EXPIRED and out of the card's spend, ledger.hold_expired says so with
// the balance; a capture after the expiry is a forced posting, flagged.
func TestHoldsExpire(t *testing.T) {
	e := newHostEnv(t)
	eng, c := e.engineInstance(func(cfg *host.Config) { cfg.HoldExpiry = 1500 * time.Millisecond })
	card := e.newCard(cardOpts{funding: ledger.ModePrepaid})
	e.deposit(5000)
	e.recharge(card.ID, 5000)
	first := msg{amount: 1200, stan: "000301", transmission: "0601140000"}
	if a := e.send(c, e.build(card, first)); a.code != "00" {
		t.Fatalf("authorization: %s", a.code)
	}
	if n, err := eng.ExpireHolds(context.Background(), 10); err != nil || n != 0 {
		t.Fatalf("expired %d (%v) before the time", n, err)
	}
	time.Sleep(1600 * time.Millisecond)
	if n, err := eng.ExpireHolds(context.Background(), 10); err != nil || n != 1 {
		t.Fatalf("expired %d (%v), want 1", n, err)
	}
	if n, _ := eng.ExpireHolds(context.Background(), 10); n != 0 {
		t.Fatalf("expired %d again", n)
	}
	if b := e.balance(ledger.CardAccount(card.ID)); b.Available != 5000 || b.Pending != 0 {
		t.Fatalf("after the expiry %+v", b)
	}
	var status string
	var held int64
	if err := e.db.Pool().QueryRow(context.Background(), `SELECT status, held FROM authorizations WHERE card_id = $1 AND kind = 'authorization'`,
		card.ID).Scan(&status, &held); err != nil || status != "EXPIRED" || held != 0 {
		t.Fatalf("authorization %s held %d (%v)", status, held, err)
	}
	if _, total, _ := e.cardState(card.ID); total != 0 {
		t.Fatalf("total spent %d after the expiry", total)
	}
	typ, d := e.moneyEvent(card.ID)
	if typ != kafka.TypeLedgerHoldExpired || d.Amount != 1200 || d.BalanceBefore != 3800 || d.BalanceAfter != 5000 || d.Kind != "expire" {
		t.Fatalf("event %s %+v", typ, d)
	}
	if a := e.send(c, e.build(card, msg{mti: "0220", amount: 1200, original: original("0100", first.stan, first.transmission)})); a.code != "00" {
		t.Fatalf("late capture: %s", a.code)
	}
	if got := strings.Join(e.kinds(card.ID), " "); got != "recharge hold expire force_post" {
		t.Fatalf("transfers %s", got)
	}
	e.checkLedger()
}

// TestLimitCardsMoveNoMoney: a LIMIT card (the default) writes no
// transfer and no hold, and declines on its limit as before (51
// card_limit_exceeded).
func TestLimitCardsMoveNoMoney(t *testing.T) {
	e := newHostEnv(t)
	card := e.newCard(cardOpts{limit: p64(1500)})
	if a := e.auth(card, msg{amount: 1000}); a.code != "00" {
		t.Fatal(a.code)
	}
	if a := e.auth(card, msg{amount: 1000}); a.code != "51" {
		t.Fatal(a.code)
	}
	var d kafka.AuthorizationData
	if err := e.lastEvent(card.ID).DecodeData(&d); err != nil || d.Reason != string(host.ReasonCardLimitExceeded) {
		t.Fatalf("%+v %v", d, err)
	}
	var transfers, holds int
	if err := e.db.Pool().QueryRow(context.Background(), `SELECT (SELECT count(*) FROM ledger_transfers),
		(SELECT count(*) FROM authorizations WHERE hold_id IS NOT NULL OR hold_amount IS NOT NULL)`).Scan(&transfers, &holds); err != nil || transfers != 0 || holds != 0 {
		t.Fatalf("%d transfers, %d holds (%v)", transfers, holds, err)
	}
}

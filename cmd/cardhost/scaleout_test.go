package main

import (
	"context"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/cardhost/cardhost/cmd/termsim/scenario"
	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/iso"
	"github.com/cardhost/cardhost/kafka"
	"github.com/cardhost/cardhost/kafka/consume"
)

// TestTwoInstancesOneDatabaseOneKafka: two cardhost instances share one
// PostgreSQL database and one Kafka cluster (the first's broker); a load
// spread over both ISO ports, on cards at their limits, approves exactly
// what fits (the limit check is in the database transaction, not in one
// process), totals match the records, and every event reaches Kafka once
// per id, in per-card order.
func TestTwoInstancesOneDatabaseOneKafka(t *testing.T) {
	env := testEnv(t)
	env["CARDHOST_HTTP_RATE_LIMIT"] = "-1"
	a := startApp(t, env)
	env2 := maps.Clone(env)
	env2["KAFKA_BROKERS"] = a.Brokers()[0] // one Kafka for both
	b := startApp(t, env2)

	const cards, perCard, amount, limit = 4, 40, 300, 6000 // 20 approvals fit per card
	is := a.issuer(t, "http")
	var wg sync.WaitGroup
	type lane struct {
		c    *terminal.Client
		term *terminal.Terminal
	}
	lanes := []lane{
		{dialISO(t, a.ISOAddr()), newTerminal(t, "SCALEA01")}, {dialISO(t, a.ISOAddr()), newTerminal(t, "SCALEA02")},
		{dialISO(t, b.ISOAddr()), newTerminal(t, "SCALEB01")}, {dialISO(t, b.ISOAddr()), newTerminal(t, "SCALEB02")},
	}
	approved := make([]int, cards)
	ids := make([]string, cards)
	var mu sync.Mutex
	for ci := 0; ci < cards; ci++ {
		l := int64(limit)
		card, info := newCard(t, is, scenario.CardRequest{CardLimit: &l})
		ids[ci] = info.CardID
		for r := 0; r < perCard; r++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ln := lanes[(ci+r)%len(lanes)]
				// E-commerce: a chip card's ATC cannot serve concurrent
				// transactions (the host would rightly see replays).
				tx, err := ln.term.Purchase(card, amount, terminal.TxnOptions{Entry: "ecommerce", CVV2: card.CVV2.Reveal()})
				if err != nil {
					t.Error(err)
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				res, err := ln.c.Do(ctx, tx)
				if err != nil {
					t.Error(err)
					return
				}
				switch res.Code {
				case iso.Approved:
					mu.Lock()
					approved[ci]++
					mu.Unlock()
				case iso.InsufficientFunds:
				default:
					t.Errorf("card %d: answered %s", ci, res.Code)
				}
			}()
		}
	}
	wg.Wait()
	conn := dbConn(t, env["DATABASE_URL"])
	total := 0
	for ci, id := range ids {
		if approved[ci] != limit/amount {
			t.Errorf("card %d: %d approvals of %d on a %d limit, want %d", ci, approved[ci], amount, limit, limit/amount)
		}
		var spent, stored int64
		if err := conn.QueryRow(context.Background(), `SELECT total_spent, (SELECT count(*) FROM authorizations WHERE card_id = $1 AND response_code = '00')
			FROM cards WHERE id = $1`, id).Scan(&spent, &stored); err != nil {
			t.Fatal(err)
		}
		if spent != int64(approved[ci]*amount) || stored != int64(approved[ci]) {
			t.Errorf("card %d: total_spent %d and %d stored approvals, answered %d", ci, spent, stored, approved[ci])
		}
		total += approved[ci]
	}
	// Both instances decided some of them (the load was spread).
	for _, app := range []*testApp{a, b} {
		_, m := app.get(t, "", "/metrics")
		if metricValue(string(m), `cardhost_iso_requests_total{code="00",mti="0100"}`) == 0 {
			t.Errorf("instance %s approved nothing: the load was not spread", app.ISOAddr())
		}
	}
	// Every authorization event reaches the one Kafka, in per-card order.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events, err := consume.Collect(ctx, a.Brokers(), kafka.Topic, cards*perCard, consume.All(consume.Types("authorization.*"), consume.Subjects(ids...)))
	if err != nil {
		t.Fatalf("reading events: %v (%d of %d)", err, len(events), cards*perCard)
	}
	seen := map[string]bool{}
	for _, e := range consume.Unique(events) {
		seen[e.ID] = true
	}
	if len(seen) != cards*perCard {
		t.Fatalf("%d distinct authorization events, want %d", len(seen), cards*perCard)
	}
	t.Logf("%d approvals over two instances, %d declines", total, cards*perCard-total)
}

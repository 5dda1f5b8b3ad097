package rest_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cardhost/cardhost/issuance/dataprep"
)

func TestExpiryScheduler(t *testing.T) {
	clk := &testClock{t: time.Now().UTC()}
	ce := newCardEnv(t, withClock(clk))
	ctx := context.Background()
	timed := ce.createCard(t, ce.cat.product, map[string]any{"expiry_at": clk.t.Add(time.Hour).Format(time.RFC3339Nano)})
	normal := ce.createCard(t, ce.cat.product, nil)
	frozen := ce.createCard(t, ce.cat.product, nil)
	mustStatus(t, ce.do("POST", "/v1/cards/"+frozen.CardID+"/freeze", nil), 200)
	plastic := ce.createCard(t, ce.manualProd, map[string]any{"shipping_address": shipping})
	blocked := ce.createCard(t, ce.cat.product, nil)
	mustStatus(t, ce.do("POST", "/v1/cards/"+blocked.CardID+"/block", map[string]any{"reason": "lost"}), 200)

	run := func() int {
		t.Helper()
		n, err := ce.svc.ExpireCards(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := run(); n != 0 {
		t.Fatalf("closed %d cards before any date", n)
	}
	// expiry_at passed: canceled with reason expiry_at, once.
	clk.t = clk.t.Add(2 * time.Hour)
	if n := run(); n != 1 {
		t.Fatalf("closed %d cards after expiry_at, want 1", n)
	}
	if n := run(); n != 0 {
		t.Fatalf("second pass closed %d", n)
	}
	if c := ce.getCard(t, timed.CardID); c.Status != "CANCELED" || c.StatusReason != "expiry_at" {
		t.Fatalf("timed card %+v", c)
	}
	// Just before the end of the printed expiry month nothing happens; at
	// 00:00 UTC of the next month the cards expire. Two schedulers at once
	// publish each event once.
	end, err := dataprep.ExpiryEnd(normal.Expiry)
	if err != nil {
		t.Fatal(err)
	}
	clk.t = end.Add(-time.Second)
	if n := run(); n != 0 {
		t.Fatalf("closed %d cards a second before their printed expiry ended", n)
	}
	plasticEnd, _ := dataprep.ExpiryEnd(plastic.Expiry)
	clk.t = plasticEnd
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := ce.svc.ExpireCards(ctx, 100)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total != 3 {
		t.Fatalf("concurrent passes closed %d cards, want 3", total)
	}
	for _, tc := range []struct {
		id, status, reason string
		last               []string
	}{
		{timed.CardID, "CANCELED", "expiry_at", []string{"card.canceled ACTIVE expiry_at"}},
		{normal.CardID, "EXPIRED", "printed_expiry", []string{"card.expired ACTIVE printed_expiry"}},
		{frozen.CardID, "EXPIRED", "printed_expiry", []string{"card.expired FROZEN printed_expiry"}},
		{plastic.CardID, "CANCELED", "printed_expiry", []string{"card.canceled PROVISIONED printed_expiry", "order.failed"}},
		{blocked.CardID, "BLOCKED", "lost", []string{"card.blocked ACTIVE lost"}},
	} {
		c := ce.getCard(t, tc.id)
		ev := cardEvents(t, ce.db, tc.id)
		if c.Status != tc.status || c.StatusReason != tc.reason || !slices.Equal(ev[len(ev)-len(tc.last):], tc.last) {
			t.Errorf("card %s: %s %s, events %v", tc.id, c.Status, c.StatusReason, ev)
		}
	}
	if exp, canc := len(outboxEvents(t, ce.db, "card.expired")), len(outboxEvents(t, ce.db, "card.canceled")); exp != 2 || canc != 2 {
		t.Fatalf("%d card.expired and %d card.canceled events, want 2 and 2", exp, canc)
	}
}

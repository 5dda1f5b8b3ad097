package merchantguard

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestMerchantGuard: a merchant is blocked when its card-not-present
// failures in the window reach the distinct-card threshold and the share of
// its requests; the trip names each issuer's cards; the block ends; other
// merchants are not affected.
func TestMerchantGuard(t *testing.T) {
	t0 := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	cfg := Config{Cards: 3, Share: 50, Window: time.Minute, Block: 5 * time.Minute}

	t.Run("distinct cards trip it, once", func(t *testing.T) {
		g := New(cfg)
		if g.Record("A1", "M1", 1, "ten_a", "crd_1", true, t0) != nil || g.Record("A1", "M1", 1, "ten_a", "crd_1", true, t0) != nil {
			t.Fatal("one card tripped the guard")
		}
		if g.Record("A1", "M1", 2, "", "", true, t0) != nil {
			t.Fatal("two cards tripped the guard")
		}
		trip := g.Record("A1", "M1", 3, "ten_b", "crd_3", true, t0.Add(time.Second))
		if trip == nil {
			t.Fatal("three failing cards did not trip the guard")
		}
		if trip.FailedCards != 3 || trip.Failures != 4 || trip.All != 4 || !trip.Until.Equal(t0.Add(time.Second+5*time.Minute)) {
			t.Fatalf("trip %+v", trip)
		}
		if len(trip.Cards) != 2 || trip.Cards["ten_a"][0] != "crd_1" || trip.Cards["ten_b"][0] != "crd_3" {
			t.Fatalf("cards by tenant %v (the unknown card has no tenant)", trip.Cards)
		}
		if !g.Blocked("A1", "M1", t0.Add(time.Minute)) {
			t.Fatal("not blocked after the trip")
		}
		if g.Blocked("A1", "M2", t0.Add(time.Minute)) || g.Blocked("A2", "M1", t0.Add(time.Minute)) {
			t.Fatal("another merchant (or the same merchant id at another acquirer) is blocked")
		}
		if g.Record("A1", "M1", 4, "ten_a", "crd_4", true, t0.Add(2*time.Minute)) != nil {
			t.Fatal("a blocked merchant tripped again")
		}
		if g.Blocked("A1", "M1", t0.Add(time.Second+5*time.Minute)) {
			t.Fatal("still blocked after the block")
		}
	})
	t.Run("old failures fall out of the window", func(t *testing.T) {
		g := New(cfg)
		g.Record("A1", "M1", 1, "", "", true, t0)
		g.Record("A1", "M1", 2, "", "", true, t0)
		if trip := g.Record("A1", "M1", 3, "", "", true, t0.Add(61*time.Second)); trip != nil {
			t.Fatalf("failures older than the window counted: %+v", trip)
		}
	})
	t.Run("a busy merchant's few failures do not trip it", func(t *testing.T) {
		g := New(cfg)
		for i := range 10 {
			g.Record("A1", "M1", uint64(100+i), "ten_a", fmt.Sprint("crd_", i), false, t0)
		}
		for i := range 5 {
			if trip := g.Record("A1", "M1", uint64(i), "", "", true, t0); trip != nil {
				t.Fatalf("%d failures of 15 requests tripped the guard", i+1)
			}
		}
		for i := range 5 { // 10 of 20: the share is reached
			if trip := g.Record("A1", "M1", uint64(10+i), "", "", true, t0); (trip != nil) != (i == 4) {
				t.Fatalf("failure %d of %d requests: trip %v", 6+i, 16+i, trip)
			}
		}
	})
	t.Run("off", func(t *testing.T) {
		g := New(Config{Cards: -1})
		for i := range 100 {
			if g.Record("A1", "M1", uint64(i), "", "", true, t0) != nil {
				t.Fatal("the guard is off but tripped")
			}
		}
	})
}

// TestMerchantGuardMemoryIsBounded: the guard forgets the merchants seen
// least recently, and keeps a bounded number of failed cards per merchant.
func TestMerchantGuardMemoryIsBounded(t *testing.T) {
	t0 := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	g := New(Config{Cards: 1000, Merchants: 160})
	for i := range 10_000 {
		g.Record("A1", fmt.Sprint("M", i), uint64(i), "", "", true, t0)
	}
	total := 0
	for i := range g.shards {
		total += len(g.shards[i].byID)
		if g.shards[i].lru.Len() != len(g.shards[i].byID) {
			t.Fatal("the LRU list and the index disagree")
		}
	}
	if total > 160+merchantShards {
		t.Fatalf("%d merchants remembered, want at most about 160", total)
	}
	for i := range 100_000 {
		g.Record("A1", "BUSY", uint64(i), "", "", true, t0)
	}
	key, s := g.lock("A1", "BUSY")
	n := len(s.byID[key].Value.(*merchantWindow).failed)
	s.mu.Unlock()
	if n > failedCardsPerCardLimit*1000 {
		t.Fatalf("%d failed cards remembered for one merchant", n)
	}
}

// TestMerchantGuardConcurrent trips one merchant from many goroutines:
// exactly one trip (run with -race).
func TestMerchantGuardConcurrent(t *testing.T) {
	t0 := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	g := New(Config{Cards: 50})
	var wg sync.WaitGroup
	var mu sync.Mutex
	trips := 0
	for w := range 8 {
		wg.Go(func() {
			for i := range 100 {
				if g.Record("A1", "M1", uint64(w*1000+i), "", "", true, t0) != nil {
					mu.Lock()
					trips++
					mu.Unlock()
				}
				g.Blocked("A1", "M1", t0)
				g.Record("A1", fmt.Sprint("M", w, i), 1, "", "", false, t0)
			}
		})
	}
	wg.Wait()
	if trips != 1 {
		t.Fatalf("%d trips, want 1", trips)
	}
}

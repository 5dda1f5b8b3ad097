package host

import (
	"testing"
	"time"

	"github.com/cardhost/cardhost/issuance"
)

// A card that gave its PAN to a reissue (its PAN index cleared) leaves the
// cache, so that the PAN is looked up again and finds the new card.
func TestCacheForgetsACardThatGaveUpItsPAN(t *testing.T) {
	c := newCardCache(10, time.Minute)
	now := time.Now()
	idx := []byte("pan-index")
	old := &Card{Card: issuance.Card{ID: "crd_old", PANIndex: idx, Version: 4}}
	c.put(old, now)
	if got := c.get(idx, now); got != old {
		t.Fatalf("cached %v", got)
	}
	released := &Card{Card: issuance.Card{ID: "crd_old", Version: 5}}
	c.put(released, now)
	if got := c.get(idx, now); got != nil {
		t.Fatalf("the PAN still maps to %s", got.ID)
	}
	if c.byID("crd_old") != nil || len(c.byIx) != 0 {
		t.Fatalf("the released card is still cached: %d entries", len(c.byIx))
	}
	renewed := &Card{Card: issuance.Card{ID: "crd_new", PANIndex: idx, Version: 1}}
	c.put(renewed, now)
	if got := c.get(idx, now); got != renewed {
		t.Fatalf("the PAN maps to %v, want the new card", got)
	}
}

// A card that kept its predecessor's PAN (a renewal) replaces the
// predecessor's expired entry although its version is lower: versions
// order the snapshots of one card, not of two.
func TestCacheTakesTheNewCardOfAPAN(t *testing.T) {
	c := newCardCache(10, time.Minute)
	now := time.Now()
	idx := []byte("pan-index")
	c.put(&Card{Card: issuance.Card{ID: "crd_old", PANIndex: idx, Version: 40}}, now)
	later := now.Add(2 * time.Minute) // the old card's entry expired, it was never released in this cache
	renewed := &Card{Card: issuance.Card{ID: "crd_new", PANIndex: idx, Version: 1}}
	c.put(renewed, later)
	if got := c.get(idx, later); got != renewed {
		t.Fatalf("the PAN maps to %v, want the new card", got)
	}
	if c.byID("crd_old") != nil {
		t.Fatal("the old card is still cached by id")
	}
	// An older snapshot of the same card is still refused.
	c.put(&Card{Card: issuance.Card{ID: "crd_new", PANIndex: idx, Version: 0}}, later)
	if got := c.get(idx, later); got != renewed {
		t.Fatalf("an older snapshot replaced version 1: %v", got)
	}
}

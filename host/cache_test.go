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

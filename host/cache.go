package host

import (
	"sync"
	"time"
)

// cardCache keeps card snapshots by PAN index so that an authorization
// needs no read round trip. Entries are hints: the commit checks the card's
// version, and a stale snapshot is replaced. Safe for concurrent use.
type cardCache struct {
	max int
	ttl time.Duration

	mu   sync.RWMutex
	byIx map[string]cacheEntry
	ids  map[string]string // card id -> PAN index key
}

type cacheEntry struct {
	card   *Card
	stored time.Time
}

func newCardCache(max int, ttl time.Duration) *cardCache {
	return &cardCache{max: max, ttl: ttl, byIx: map[string]cacheEntry{}, ids: map[string]string{}}
}

func (c *cardCache) get(idx []byte, now time.Time) *Card {
	if c.max < 0 {
		return nil
	}
	c.mu.RLock()
	e, ok := c.byIx[string(idx)]
	c.mu.RUnlock()
	if !ok || now.Sub(e.stored) > c.ttl {
		return nil
	}
	return e.card
}

func (c *cardCache) put(card *Card, now time.Time) {
	if c.max < 0 || card == nil {
		return
	}
	k := string(card.PANIndex)
	c.mu.Lock()
	defer c.mu.Unlock()
	if k == "" { // the card gave its PAN to its reissue: forget it
		if prev, ok := c.ids[card.ID]; ok {
			delete(c.byIx, prev)
			delete(c.ids, card.ID)
		}
		return
	}
	if old, ok := c.byIx[k]; ok {
		if old.card.ID == card.ID && old.card.Version > card.Version {
			return // never go back to an older snapshot of the same card
		}
		if old.card.ID != card.ID { // another card holds the PAN now (a reissue that kept it)
			delete(c.ids, old.card.ID)
		}
	}
	if _, ok := c.byIx[k]; !ok && len(c.byIx) >= c.max {
		for victim, e := range c.byIx { // evict an arbitrary entry
			delete(c.byIx, victim)
			delete(c.ids, e.card.ID)
			break
		}
	}
	if prev, ok := c.ids[card.ID]; ok && prev != k {
		delete(c.byIx, prev) // the card was re-indexed under a newer key version
	}
	c.byIx[k] = cacheEntry{card: card, stored: now}
	c.ids[card.ID] = k
}

// byID returns the cached snapshot of a card, if any (whatever its age).
func (c *cardCache) byID(id string) *Card {
	if c.max < 0 {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if k, ok := c.ids[id]; ok {
		return c.byIx[k].card
	}
	return nil
}

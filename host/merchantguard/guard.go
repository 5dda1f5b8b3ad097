// Package merchantguard is the host's guard against BIN attacks: per
// merchant (acquirer id and merchant id), a window of card-not-present
// requests and the distinct cards that failed verification, kept in memory
// (per instance, bounded), that blocks a merchant for a while once it
// failed on many cards (docs/iso8583.md, docs/operations.md). It decides
// nothing about one request: package host says which answers are
// failures, declines a blocked merchant's requests and reports a block.
package merchantguard

import (
	"container/list"
	"hash/fnv"
	"sync"
	"time"

	"github.com/cardhost/cardhost/kafka"
)

// Config configures the guard against BIN attacks: a merchant
// (acquirer id, field 32, and merchant id, field 42) whose card-not-present
// requests fail verification on many distinct cards in a short window has
// its card-not-present requests declined merchant_blocked (59) for a
// while, and the issuers whose cards it hit get a merchant.blocked event.
//
// The guard keeps its window in memory, per instance: it adds no round
// trip to PostgreSQL. Several instances each count the traffic they
// receive (behind a load balancer spreading one merchant's requests over n
// instances, each needs its own Cards failures), and a restart forgets
// windows and blocks. The zero value of every field means its default.
type Config struct {
	// Cards is how many distinct cards a merchant must fail to verify
	// (card_not_found, card_expired, expiry_missing, cvv2_invalid,
	// cvv2_missing, cvv2_tries_exceeded) within Window to be blocked.
	// Default 10; negative turns the guard off.
	Cards int
	// Share is the least share, in percent, of the merchant's
	// card-not-present requests within Window that failed, so that a busy
	// merchant's ordinary mistyped cards do not block it. Default 50.
	Share int
	// Window is how far back failures count. Default 10 minutes.
	Window time.Duration
	// Block is how long a blocked merchant's card-not-present requests
	// are declined. Default 30 minutes.
	Block time.Duration
	// Merchants bounds how many merchants are remembered; the one seen
	// least recently is forgotten first. Default 50,000.
	Merchants int
}

// withDefaults returns c with its defaults set.
func (c Config) withDefaults() Config {
	if c.Cards == 0 {
		c.Cards = 10
	}
	if c.Share <= 0 {
		c.Share = 50
	}
	if c.Window <= 0 {
		c.Window = 10 * time.Minute
	}
	if c.Block <= 0 {
		c.Block = 30 * time.Minute
	}
	if c.Merchants <= 0 {
		c.Merchants = 50_000
	}
	return c
}

// Sizes of the guard's memory.
const (
	merchantShards  = 16 // locks: merchants hash to one
	merchantBuckets = 10 // the window in tenths: request and failure counts
	// failedCardsPerCardLimit bounds the failed cards remembered per
	// merchant, as a multiple of Cards (more tell nothing more).
	failedCardsPerCardLimit = 4
)

// Guard is the guard's state: per shard, merchants by key in
// least-recently-seen order. Safe for concurrent use.
type Guard struct {
	cfg    Config
	shards [merchantShards]merchantShard
}

type merchantShard struct {
	mu   sync.Mutex
	byID map[string]*list.Element // value *merchantWindow
	lru  list.List                // front: seen most recently
}

// merchantWindow is one merchant's recent card-not-present traffic.
type merchantWindow struct {
	key          string
	buckets      [merchantBuckets]merchantBucket
	failed       map[uint64]failedCard // by card key
	blockedUntil time.Time
}

type merchantBucket struct {
	slot               int64 // which tenth of which window it counts
	requests, failures int
}

// failedCard is a card the merchant failed to verify: when last, and
// whose (tenant and card id; empty for an unknown card).
type failedCard struct {
	at             time.Time
	tenant, cardID string
}

// Trip is what blocking a merchant reports: the counts of its
// window and, per tenant, the known cards it failed.
type Trip struct {
	Acquirer, Merchant         string
	FailedCards, Failures, All int                 // distinct failed cards, failed and all requests in the window
	Cards                      map[string][]string // tenant -> card ids
	At, Until                  time.Time           // when it was blocked and until when
}

func New(cfg Config) *Guard {
	g := &Guard{cfg: cfg.withDefaults()}
	for i := range g.shards {
		g.shards[i].byID = map[string]*list.Element{}
	}
	return g
}

func (g *Guard) off() bool { return g.cfg.Cards < 0 }

// Window is how far back failures count (Config.Window with its default).
func (g *Guard) Window() time.Duration { return g.cfg.Window }

// lock returns the merchant's key and its shard, locked.
func (g *Guard) lock(acquirer, merchant string) (string, *merchantShard) {
	key := kafka.MerchantKey(acquirer, merchant)
	h := fnv.New32a()
	h.Write([]byte(key))
	s := &g.shards[h.Sum32()%merchantShards]
	s.mu.Lock()
	return key, s
}

// Blocked reports whether the merchant's card-not-present requests are
// declined at now.
func (g *Guard) Blocked(acquirer, merchant string, now time.Time) bool {
	if g.off() {
		return false
	}
	key, s := g.lock(acquirer, merchant)
	defer s.mu.Unlock()
	el, ok := s.byID[key]
	if !ok {
		return false
	}
	s.lru.MoveToFront(el) // a blocked merchant that keeps sending stays remembered
	return now.Before(el.Value.(*merchantWindow).blockedUntil)
}

// Record counts one decided card-not-present request of the merchant:
// failed says whether it failed verification, card identifies its card
// (a keyed hash of the PAN), tenant and cardID whose it is ("" when
// unknown). It returns the trip when this request blocks the merchant,
// else nil.
func (g *Guard) Record(acquirer, merchant string, card uint64, tenant, cardID string, failed bool, now time.Time) *Trip {
	if g.off() {
		return nil
	}
	key, s := g.lock(acquirer, merchant)
	defer s.mu.Unlock()
	w := s.window(key, g.cfg.Merchants/merchantShards+1)
	if now.Before(w.blockedUntil) {
		return nil
	}
	tenth := g.cfg.Window / merchantBuckets
	slot := now.UnixNano() / int64(tenth)
	b := &w.buckets[slot%merchantBuckets]
	if b.slot != slot {
		*b = merchantBucket{slot: slot}
	}
	b.requests++
	if !failed {
		return nil
	}
	b.failures++
	if w.failed == nil {
		w.failed = map[uint64]failedCard{}
	}
	from := now.Add(-g.cfg.Window)
	w.forget(from, failedCardsPerCardLimit*g.cfg.Cards)
	w.failed[card] = failedCard{at: now, tenant: tenant, cardID: cardID}
	var all, failures int
	for _, b := range w.buckets {
		if b.slot > slot-merchantBuckets {
			all, failures = all+b.requests, failures+b.failures
		}
	}
	if len(w.failed) < g.cfg.Cards || failures*100 < g.cfg.Share*all {
		return nil
	}
	w.blockedUntil = now.Add(g.cfg.Block)
	trip := &Trip{Acquirer: acquirer, Merchant: merchant, FailedCards: len(w.failed), Failures: failures, All: all,
		Cards: map[string][]string{}, At: now, Until: w.blockedUntil}
	for _, f := range w.failed {
		if f.tenant != "" {
			trip.Cards[f.tenant] = append(trip.Cards[f.tenant], f.cardID)
		}
	}
	// The block starts the merchant over: what it did before is reported.
	w.failed, w.buckets = nil, [merchantBuckets]merchantBucket{}
	return trip
}

// window returns the merchant's window, made (forgetting the merchant
// seen least recently when the shard holds max) and moved to the front.
func (s *merchantShard) window(key string, max int) *merchantWindow {
	if el, ok := s.byID[key]; ok {
		s.lru.MoveToFront(el)
		return el.Value.(*merchantWindow)
	}
	for s.lru.Len() >= max {
		old := s.lru.Back()
		delete(s.byID, old.Value.(*merchantWindow).key)
		s.lru.Remove(old)
	}
	w := &merchantWindow{key: key}
	s.byID[key] = s.lru.PushFront(w)
	return w
}

// forget drops failed cards older than from and, while max or more are
// left, the oldest: room for one more.
func (w *merchantWindow) forget(from time.Time, max int) {
	for k, f := range w.failed {
		if f.at.Before(from) {
			delete(w.failed, k)
		}
	}
	for len(w.failed) >= max {
		var oldest uint64
		first := true
		for k, f := range w.failed {
			if first || f.at.Before(w.failed[oldest].at) {
				oldest, first = k, false
			}
		}
		delete(w.failed, oldest)
	}
}

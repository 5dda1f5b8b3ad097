package rest

import (
	"math"
	"sync"
	"time"
)

// rateLimiter is a token bucket per tenant: rate tokens per second, burst
// of twice the rate. It is per process: with several instances behind a
// load balancer the effective limit is the sum. Safe for concurrent use.
type rateLimiter struct {
	mu      sync.Mutex
	def     int
	now     func() time.Time
	buckets map[string]*bucket
	swept   time.Time // the last dropFull (at most one a second)
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(perSecond int, now func() time.Time) *rateLimiter {
	return &rateLimiter{def: perSecond, now: now, buckets: map[string]*bucket{}}
}

// maxBuckets is when buckets are swept: past it, full buckets (keys idle
// long enough to have refilled) are dropped, at most once a second, so keys
// that are client addresses only keep the ones active in the last seconds.
const maxBuckets = 10_000

// allow takes a token for key (a tenant, a client address); when none is
// left it returns how long to wait. limit overrides the default rate when
// positive.
func (l *rateLimiter) allow(key string, limit int) (time.Duration, bool) {
	return l.take(key, limit, true)
}

// blocked reports, without taking a token, whether key has none left and
// how long until it has one.
func (l *rateLimiter) blocked(key string) (time.Duration, bool) {
	wait, ok := l.take(key, 0, false)
	return wait, !ok
}

func (l *rateLimiter) take(key string, limit int, consume bool) (time.Duration, bool) {
	rate := float64(l.def)
	if limit > 0 {
		rate = float64(limit)
	}
	burst := 2 * rate
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if !consume {
			return 0, true // a full bucket
		}
		if len(l.buckets) >= maxBuckets && now.Sub(l.swept) >= time.Second {
			l.swept = now
			l.dropFull(now, rate, burst)
		}
		b = &bucket{tokens: burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens >= 1 {
		if consume {
			b.tokens--
		}
		return 0, true
	}
	return time.Duration((1 - b.tokens) / rate * float64(time.Second)), false
}

// dropFull deletes the buckets that have refilled by now (a bucket of a
// tenant with its own rate is judged at the default rate: at worst it is
// dropped early and starts full again).
func (l *rateLimiter) dropFull(now time.Time, rate, burst float64) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*rate >= burst {
			delete(l.buckets, k)
		}
	}
}

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
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(perSecond int, now func() time.Time) *rateLimiter {
	return &rateLimiter{def: perSecond, now: now, buckets: map[string]*bucket{}}
}

// allow takes a token for tenant; when none is left it returns how long to
// wait. limit overrides the default rate when positive.
func (l *rateLimiter) allow(tenant string, limit int) (time.Duration, bool) {
	rate := float64(l.def)
	if limit > 0 {
		rate = float64(limit)
	}
	burst := 2 * rate
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[tenant]
	if !ok {
		b = &bucket{tokens: burst, last: now}
		l.buckets[tenant] = b
	}
	b.tokens = math.Min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) / rate * float64(time.Second)), false
}

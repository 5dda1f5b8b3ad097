package outbox

import (
	"math/rand/v2"
	"time"
)

// backoff is an exponential backoff with jitter: the n-th consecutive
// failure waits a random duration in [d/2, d], d = min·2ⁿ capped at max.
// Not safe for concurrent use.
type backoff struct {
	min, max time.Duration
	n        int
}

// next returns the wait after one more failure.
func (b *backoff) next() time.Duration {
	d := b.min
	for i := 0; i < b.n && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	b.n++
	if half := d / 2; half > 0 {
		return half + rand.N(half+1)
	}
	return d
}

// reset starts over after a success.
func (b *backoff) reset() { b.n = 0 }

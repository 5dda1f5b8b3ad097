package consume

import "github.com/cardhost/cardhost/kafka"

// DefaultDedupWindow is the number of event ids a Dedup made with size 0
// remembers.
const DefaultDedupWindow = 100_000

// Dedup drops duplicate events by CloudEvents id. The outbox relay publishes
// at least once, so after a retry a consumer may read an event twice, always
// after its first copy; a window of recent ids catches those. It remembers
// the last size ids (first in, first out), so memory stays bounded. Not safe
// for concurrent use.
type Dedup struct {
	seen map[string]struct{}
	ring []string
	next int
}

// NewDedup returns a Dedup remembering the last size ids (size 0:
// DefaultDedupWindow).
func NewDedup(size int) *Dedup {
	if size <= 0 {
		size = DefaultDedupWindow
	}
	return &Dedup{seen: make(map[string]struct{}, size), ring: make([]string, size)}
}

// First reports whether this is the first time id is seen (within the
// window), and remembers it.
func (d *Dedup) First(id string) bool {
	if _, ok := d.seen[id]; ok {
		return false
	}
	if old := d.ring[d.next]; old != "" {
		delete(d.seen, old)
	}
	d.ring[d.next] = id
	d.next = (d.next + 1) % len(d.ring)
	d.seen[id] = struct{}{}
	return true
}

// Unique returns evs without the events whose id appeared earlier in evs,
// keeping the first copy and the order.
func Unique(evs []kafka.Event) []kafka.Event {
	seen := make(map[string]bool, len(evs))
	out := make([]kafka.Event, 0, len(evs))
	for _, e := range evs {
		if !seen[e.ID] {
			seen[e.ID] = true
			out = append(out, e)
		}
	}
	return out
}

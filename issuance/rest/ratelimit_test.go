package rest

import (
	"fmt"
	"testing"
	"time"
)

func TestRateLimiterBlockedDoesNotTakeAndFullBucketsAreDropped(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newRateLimiter(2, func() time.Time { return now }) // 2/s, burst 4
	if _, blocked := l.blocked("a"); blocked {
		t.Fatal("an unknown key is blocked")
	}
	for i := 0; i < 4; i++ {
		if _, ok := l.allow("a", 0); !ok {
			t.Fatalf("token %d of the burst refused", i+1)
		}
	}
	for i := 0; i < 3; i++ { // looking does not take
		if wait, blocked := l.blocked("a"); !blocked || wait != 500*time.Millisecond {
			t.Fatalf("after the burst: blocked %v, wait %v; want true, 500ms", blocked, wait)
		}
	}
	if _, blocked := l.blocked("b"); blocked {
		t.Fatal("another key is blocked")
	}
	now = now.Add(500 * time.Millisecond)
	if _, blocked := l.blocked("a"); blocked {
		t.Fatal("still blocked after the refill")
	}
	// Past maxBuckets, buckets that refilled are dropped; a drained one stays.
	for i := 0; len(l.buckets) < maxBuckets; i++ {
		l.allow(fmt.Sprintf("10.0.%d.%d", i/256, i%256), 0)
	}
	for i := 0; i < 4; i++ {
		l.allow("drained", 0)
	}
	if len(l.buckets) != maxBuckets+1 {
		t.Fatalf("%d buckets, want %d (none had refilled: none dropped)", len(l.buckets), maxBuckets+1)
	}
	now = now.Add(10 * time.Second)
	for i := 0; i < 4; i++ {
		l.allow("late", 0)
	}
	if _, ok := l.buckets["drained"]; ok {
		t.Fatal("a bucket that refilled long ago was kept")
	}
	if len(l.buckets) != 1 {
		t.Fatalf("%d buckets after the sweep, want only the new one", len(l.buckets))
	}
}

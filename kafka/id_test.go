package kafka

import (
	"bytes"
	"regexp"
	"sort"
	"testing"
	"time"
)

// TestNewIDVector checks the layout against the example UUIDv7 of RFC 9562,
// Appendix A.6 ("Example of a UUIDv7 Value"): unix_ts_ms 0x017F22E279B0
// (Tuesday, February 22, 2022 2:22:22.00 PM GMT-05:00), rand_a 0xCC3,
// rand_b 0x18C4DC0C0C07398F -> 017F22E2-79B0-7CC3-98C4-DC0C0C07398F.
func TestNewIDVector(t *testing.T) {
	now := time.UnixMilli(0x017F22E279B0)
	if want := time.Date(2022, 2, 22, 14, 22, 22, 0, time.FixedZone("EST", -5*3600)); !now.Equal(want) {
		t.Fatalf("vector timestamp %v, want %v", now, want)
	}
	// The ten random bytes that, once version and variant bits are set,
	// give rand_a 0xCC3 and rand_b 0x18C4DC0C0C07398F.
	random := []byte{0x0C, 0xC3, 0x98, 0xC4, 0xDC, 0x0C, 0x0C, 0x07, 0x39, 0x8F}
	got := newID(now, bytes.NewReader(random))
	if want := "017f22e2-79b0-7cc3-98c4-dc0c0c07398f"; got != want {
		t.Fatalf("newID = %s, want %s", got, want)
	}
	// Version and variant bits are forced whatever the random bytes are.
	got = newID(now, bytes.NewReader(bytes.Repeat([]byte{0xFF}, 10)))
	if want := "017f22e2-79b0-7fff-bfff-ffffffffffff"; got != want {
		t.Fatalf("newID(all ones) = %s, want %s", got, want)
	}
}

var uuidv7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewIDUniqueAndTimeOrdered(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	seen := map[string]bool{}
	var ids []string
	for i := range 1000 {
		id := NewID(base.Add(time.Duration(i) * time.Millisecond))
		if !uuidv7.MatchString(id) {
			t.Fatalf("id %q is not a canonical UUIDv7", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatal("ids made at increasing milliseconds do not sort in time order")
	}
	// Same millisecond: still unique (74 random bits).
	a, b := NewID(base), NewID(base)
	if a == b || a[:13] != b[:13] {
		t.Fatalf("same-millisecond ids %s %s: want a shared time prefix and different random bits", a, b)
	}
}

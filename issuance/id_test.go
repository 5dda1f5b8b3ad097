package issuance

import (
	"testing"
	"time"
)

func TestNewIDSortsByTimeAndValidates(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	a := NewID("card", t0)
	b := NewID("card", t0.Add(time.Millisecond))
	if !(a < b) {
		t.Fatalf("ids do not sort by time: %s !< %s", a, b)
	}
	if !ValidID("card", a) {
		t.Fatalf("ValidID(%q) = false", a)
	}
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := NewID("x", t0)
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "card_", "prod_" + a[5:], a + "0", a[:len(a)-1] + "I", "card-" + a[5:]} {
		if ValidID("card", bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}

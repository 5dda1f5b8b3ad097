package ledger

import (
	"testing"
	"time"
)

func TestHoldExpiry(t *testing.T) {
	for _, tc := range []struct {
		mcc  string
		want time.Duration
	}{
		{"5411", 7 * 24 * time.Hour}, {"7011", 31 * 24 * time.Hour}, {"3501", 31 * 24 * time.Hour}, {"3999", 31 * 24 * time.Hour},
		{"7512", 31 * 24 * time.Hour}, {"3351", 31 * 24 * time.Hour}, {"3350", 7 * 24 * time.Hour}, {"4000", 7 * 24 * time.Hour},
		{"", 7 * 24 * time.Hour},
	} {
		if got := HoldExpiry(tc.mcc, now, 0, 0).Sub(now); got != tc.want {
			t.Errorf("MCC %q: %v, want %v", tc.mcc, got, tc.want)
		}
	}
	if got := HoldExpiry("5411", now, time.Hour, 2*time.Hour).Sub(now); got != time.Hour {
		t.Errorf("configured default: %v", got)
	}
	if got := HoldExpiry("7011", now, time.Hour, 2*time.Hour).Sub(now); got != 2*time.Hour {
		t.Errorf("configured long: %v", got)
	}
}

func TestWithinTolerance(t *testing.T) {
	for _, tc := range []struct {
		mcc          string
		held, amount int64
		want         bool
	}{
		{"5812", 1000, 1200, true},  // a 20% tip
		{"5812", 1000, 1201, false}, // above
		{"5542", 10000, 11500, true},
		{"5542", 10000, 11501, false},
		{"5411", 1000, 1001, false}, // groceries: no tolerance
		{"5411", 1000, 900, true},   // less is always fine
		{"3600", 1000, 1150, true},  // a hotel chain
	} {
		if got := WithinTolerance(tc.mcc, tc.held, tc.amount); got != tc.want {
			t.Errorf("%s %d -> %d: %v, want %v", tc.mcc, tc.held, tc.amount, got, tc.want)
		}
	}
}

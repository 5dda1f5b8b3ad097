package isoserver

import (
	"testing"
	"time"
)

func TestLogLimiterOneLineASecond(t *testing.T) {
	var l logLimiter
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if ok, n := l.allow(t0); !ok || n != 0 {
		t.Fatalf("first line: allowed %v, suppressed %d", ok, n)
	}
	for i := 1; i <= 5; i++ {
		if ok, _ := l.allow(t0.Add(time.Duration(i) * 100 * time.Millisecond)); ok {
			t.Fatalf("line %d within the second was let through", i)
		}
	}
	if ok, n := l.allow(t0.Add(time.Second)); !ok || n != 5 {
		t.Fatalf("after a second: allowed %v, suppressed %d; want true, 5", ok, n)
	}
	if ok, n := l.allow(t0.Add(3 * time.Second)); !ok || n != 0 {
		t.Fatalf("after a quiet spell: allowed %v, suppressed %d; want true, 0", ok, n)
	}
}

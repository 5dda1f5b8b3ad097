package lifecycle

import (
	"fmt"
	"time"
)

// Dynamic CVV2 (Pismo's cvv_rotation_interval_hours and its rotate call;
// docs/crypto.md "Dynamic CVV2"). The CVV2 of a dynamic card is the CVV
// algorithm over the card's CVK, computed by the HSM by key reference,
// with the rotation counter in place of the expiry and DynamicServiceCode
// in place of the service code: CVV(CVK, PAN, Window(n), "900"). The
// counter in force at a time t is the stored counter plus the rotation
// intervals passed since it was stored; the rotate call stores that
// counter plus one. So timed rotation needs no job, every instance agrees
// on the counter, and the previous CVV2 verifies for CVVGrace after each
// rotation.

// DynamicServiceCode stands in for the service code in a dynamic CVV2's
// input: no printed card carries it (CVV2 uses 000, iCVV 999, track CVVs
// the card's real service code, whose first digit is 1, 2, 5, 6 or 7).
const DynamicServiceCode = "900"

// Counter returns the rotation counter in force at now for a card created
// at created, and the time it came into force.
func (f *Fields) Counter(created, now time.Time) (n int64, since time.Time) {
	anchor := created
	if f.CVVRotatedAt != nil {
		anchor = *f.CVVRotatedAt
	}
	n, since = f.CVVRotation, anchor
	if f.CVVRotationHours > 0 && now.After(anchor) {
		step := time.Duration(f.CVVRotationHours) * time.Hour
		k := int64(now.Sub(anchor) / step)
		n += k
		since = anchor.Add(time.Duration(k) * step)
	}
	return n, since
}

// Accepted returns the counters whose CVV2 verifies at now: the current
// one and, within CVVGrace of its start, the previous one.
func (f *Fields) Accepted(created, now time.Time) []int64 {
	n, since := f.Counter(created, now)
	if n > 0 && now.Sub(since) < CVVGrace {
		return []int64{n, n - 1}
	}
	return []int64{n}
}

// Rotate makes the card's CVV2 dynamic and moves it to the next counter
// at now; it returns the new counter.
func (f *Fields) Rotate(created, now time.Time) int64 {
	n, _ := f.Counter(created, now)
	t := now.UTC()
	f.Dynamic, f.CVVRotation, f.CVVRotatedAt = true, n+1, &t
	return n + 1
}

// CurrentInput is the CVV input (expiry stand-in and service code) of the
// counter in force at now: the dynamic CVV2 the reveal call shows and a
// cardholder types.
func (f *Fields) CurrentInput(created, now time.Time) (window, serviceCode string) {
	n, _ := f.Counter(created, now)
	return Window(n), DynamicServiceCode
}

// Window is the four digits that stand in for the expiry in the CVV input
// of counter n (n modulo 10,000, zero-padded).
func Window(n int64) string {
	return fmt.Sprintf("%04d", n%10000)
}

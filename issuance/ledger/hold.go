package ledger

import (
	"strconv"
	"time"
)

// Hold expiry (docs/ledger.md, "Holds"): a hold not posted in time expires
// and gives the money back. Lodging and vehicle rental authorize at
// check-in or pick-up and settle at check-out, so their holds live longer.

// Default hold lifetimes.
const (
	DefaultHoldExpiry     = 7 * 24 * time.Hour
	DefaultLongHoldExpiry = 31 * 24 * time.Hour
)

// LongHoldMCC reports whether holds at this MCC live DefaultLongHoldExpiry:
// lodging (7011 and the hotel chain range 3501-3999) and vehicle rental
// (7512, 7513, 7519 and the car rental chain range 3351-3500).
func LongHoldMCC(mcc string) bool {
	switch mcc {
	case "7011", "7512", "7513", "7519":
		return true
	}
	n, err := strconv.Atoi(mcc)
	return err == nil && len(mcc) == 4 && n >= 3351 && n <= 3999
}

// HoldExpiry returns when a hold made at now at this MCC expires: after
// long for lodging and vehicle rental, else after def (zero values: the
// defaults).
func HoldExpiry(mcc string, now time.Time, def, long time.Duration) time.Time {
	if def <= 0 {
		def = DefaultHoldExpiry
	}
	if long <= 0 {
		long = DefaultLongHoldExpiry
	}
	if LongHoldMCC(mcc) {
		return now.Add(long)
	}
	return now.Add(def)
}

// tolerances are how far above its hold a capture or presentment may post
// as the authorized transaction, in percent of the hold, by MCC: tips at
// restaurants, bars, taxis and salons; fuel dispensers that authorize an
// estimate; lodging and vehicle rental extras. Any other excess, and any
// excess above these, is a forced posting flagged for review.
var tolerances = map[string]int64{
	"5812": 20, "5813": 20, "5814": 20, // eating places, bars, fast food
	"4121": 20,             // taxis and limousines
	"7230": 20, "7298": 20, // beauty and barber shops, health and beauty spas
	"5541": 15, "5542": 15, // service stations, automated fuel dispensers
	"7011": 15, "7512": 15, // lodging, car rental
}

// Tolerance returns the percent by which a posting at mcc may exceed its
// hold (0: none).
func Tolerance(mcc string) int64 {
	if p, ok := tolerances[mcc]; ok {
		return p
	}
	if LongHoldMCC(mcc) {
		return 15
	}
	return 0
}

// WithinTolerance reports whether posting amount against a hold of held
// at mcc stays within the MCC's tolerance (always true at or below held).
func WithinTolerance(mcc string, held, amount int64) bool {
	return amount <= held || (amount-held)*100 <= held*Tolerance(mcc)
}

package host

import "time"

// Activity is a summary of a tenant's decisions over a recent period, for
// the operator console's overview: requests the host decided (0100 and
// 0200) per minute, how many it approved, how long deciding took, and
// the most frequent decline reasons.
type Activity struct {
	// Since is the start of the period (the oldest minute counted).
	Since time.Time
	// Minutes holds one entry per minute that had requests, oldest first.
	Minutes []ActivityMinute
	// Declines are the decline reasons of the period, most frequent first.
	Declines []ReasonCount
}

// ActivityMinute is one minute of decisions.
type ActivityMinute struct {
	Minute   time.Time
	Requests int
	Approved int
	// P50 and P95 are decision times (last byte received to decision).
	P50, P95 time.Duration
}

// ReasonCount is how often a reason was given.
type ReasonCount struct {
	Reason Reason
	Count  int
}

// FeedEntry is one of a tenant's records with its card's masked number
// (first six and last four digits), as the console's live stream shows it.
type FeedEntry struct {
	*Authorization
	MaskedPAN string
}

// Totals sums the minutes: requests, approvals and the approval rate (0
// when there were no requests).
func (a Activity) Totals() (requests, approved int, rate float64) {
	for _, m := range a.Minutes {
		requests += m.Requests
		approved += m.Approved
	}
	if requests > 0 {
		rate = float64(approved) / float64(requests)
	}
	return requests, approved, rate
}

package webhook

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// DefaultSchedule is the delay before each attempt of a delivery (Svix's
// schedule, the Standard Webhooks example's first eight): at once, then
// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h after each failure; eight
// attempts over about 27.6 hours.
var DefaultSchedule = []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// MaxScheduleLen and MaxScheduleDelay bound a configured schedule.
const (
	MaxScheduleLen   = 20
	MaxScheduleDelay = 48 * time.Hour
)

// ParseSchedule reads a schedule as comma-separated Go durations, e.g.
// "0s,5s,5m,30m,2h,5h,10h,10h" (CARDHOST_WEBHOOK_RETRY_SCHEDULE): the
// delay before the first attempt, then before each retry. 1 to 20
// delays, each from 0 to 48h.
func ParseSchedule(s string) ([]time.Duration, error) {
	parts := strings.Split(s, ",")
	if strings.TrimSpace(s) == "" || len(parts) > MaxScheduleLen {
		return nil, fmt.Errorf("want 1 to %d comma-separated durations", MaxScheduleLen)
	}
	out := make([]time.Duration, len(parts))
	for i, p := range parts {
		d, err := time.ParseDuration(strings.TrimSpace(p))
		if err != nil || d < 0 || d > MaxScheduleDelay {
			return nil, errors.New("each delay must be a duration from 0s to 48h, e.g. 5s or 2h")
		}
		out[i] = d
	}
	return out, nil
}

// jitter spreads a delay by up to ±frac (0.2: 80% to 120%), so that
// retries of many deliveries that failed together do not return together.
func jitter(d time.Duration, frac float64) time.Duration {
	if d <= 0 || frac <= 0 {
		return d
	}
	return time.Duration(float64(d) * (1 - frac + 2*frac*rand.Float64()))
}

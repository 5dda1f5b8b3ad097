package iso

import (
	"time"

	"github.com/cardhost/cardhost/iso/digit"
)

// transmissionLayout is field 7's layout: UTC MMDDhhmmss.
const transmissionLayout = "0102150405"

// FormatTransmissionTime formats t in UTC as field 7 (MMDDhhmmss).
func FormatTransmissionTime(t time.Time) string {
	return t.UTC().Format(transmissionLayout)
}

// ParseTransmissionTime parses field 7 (UTC MMDDhhmmss). Field 7 has no
// year: the result is the valid date-time closest to now (last year, this
// year or next year), so a request sent just before New Year and received
// just after resolves to the right year. Errors are *FieldError values.
func ParseTransmissionTime(s string, now time.Time) (time.Time, error) {
	if len(s) != 10 || !digit.All(s) {
		return time.Time{}, &FieldError{Field: FieldTransmissionTime, Err: ErrCharset}
	}
	now = now.UTC()
	var best time.Time
	found := false
	for _, y := range [...]int{now.Year() - 1, now.Year(), now.Year() + 1} {
		t, ok := dateTimeIn(y, s)
		if !ok {
			continue
		}
		if !found || absDuration(t.Sub(now)) < absDuration(best.Sub(now)) {
			best, found = t, true
		}
	}
	if !found {
		return time.Time{}, &FieldError{Field: FieldTransmissionTime, Err: ErrInvalidValue}
	}
	return best, nil
}

// validMMDDhhmmss reports whether s is a date-time that exists in some
// year (29 February included).
func validMMDDhhmmss(s string) bool {
	_, ok := dateTimeIn(2000, s) // a leap year
	return ok
}

// dateTimeIn returns s (MMDDhhmmss) in year y, and false when it does not
// exist there.
func dateTimeIn(y int, s string) (time.Time, bool) {
	if len(s) != 10 || !digit.All(s) {
		return time.Time{}, false
	}
	d := func(i int) int { return int(s[i]-'0')*10 + int(s[i+1]-'0') }
	mo, day, h, mi, sec := d(0), d(2), d(4), d(6), d(8)
	if mo < 1 || mo > 12 || day < 1 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), day, h, mi, sec, 0, time.UTC)
	if t.Day() != day { // 31 April, 30 February...
		return time.Time{}, false
	}
	return t, true
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

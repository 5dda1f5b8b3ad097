package dataprep

import (
	"fmt"
	"time"

	"github.com/cardhost/cardhost/iso/digit"
)

// Validity bounds for products (months from issue to printed expiry).
const (
	MinValidityMonths = 1
	MaxValidityMonths = 120
)

// Expiry returns the printed expiry (YYMM) of a card issued at issued with
// a validity of months: the month that is months after the issue month
// (UTC). A card issued on 15 June 2026 with 36 months expires "2906" and
// is valid through 30 June 2029.
func Expiry(issued time.Time, months int) (string, error) {
	if months < MinValidityMonths || months > MaxValidityMonths {
		return "", fmt.Errorf("computing expiry: validity %d months: %w", months, ErrExpiry)
	}
	y, m, _ := issued.UTC().Date()
	t := time.Date(y, m+time.Month(months), 1, 0, 0, 0, 0, time.UTC)
	if t.Year() < 2000 || t.Year() > 2099 {
		return "", fmt.Errorf("computing expiry: year out of range: %w", ErrExpiry)
	}
	return t.Format("0601"), nil
}

// ParseExpiry reads a YYMM expiry (years 2000-2099).
func ParseExpiry(yymm string) (year int, month time.Month, err error) {
	if len(yymm) != 4 || !digit.All(yymm) {
		return 0, 0, fmt.Errorf("parsing expiry: %w", ErrExpiry)
	}
	yy := int(yymm[0]-'0')*10 + int(yymm[1]-'0')
	mm := int(yymm[2]-'0')*10 + int(yymm[3]-'0')
	if mm < 1 || mm > 12 {
		return 0, 0, fmt.Errorf("parsing expiry: month: %w", ErrExpiry)
	}
	return 2000 + yy, time.Month(mm), nil
}

// ValidExpiry reports whether yymm is a YYMM month.
func ValidExpiry(yymm string) bool {
	_, _, err := ParseExpiry(yymm)
	return err == nil
}

// ExpiryEnd returns the first instant (UTC) at which a card with printed
// expiry yymm has expired: the start of the month after it. Cards are
// valid through the last day of their expiry month.
func ExpiryEnd(yymm string) (time.Time, error) {
	y, m, err := ParseExpiry(yymm)
	if err != nil {
		return time.Time{}, err
	}
	return time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC), nil
}

// ExpiryDisplay returns a YYMM expiry as printed on the card, "MM/YY".
func ExpiryDisplay(yymm string) string {
	if !ValidExpiry(yymm) {
		return ""
	}
	return yymm[2:] + "/" + yymm[:2]
}

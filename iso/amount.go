package iso

import (
	"strconv"

	"github.com/cardhost/cardhost/iso/digit"
)

// MaxAmount is the largest amount a 12-digit amount field can carry.
const MaxAmount = 999_999_999_999

// FormatAmount formats a non-negative amount in minor units as the 12
// digits of fields 4, 5 and 6. It reports false for negative amounts and
// amounts over MaxAmount.
func FormatAmount(minor int64) (string, bool) {
	if minor < 0 || minor > MaxAmount {
		return "", false
	}
	return padDigits(minor, 12), true
}

// ParseAmount parses a 12-digit amount field (4, 5, 6) into minor units.
func ParseAmount(s string) (int64, bool) {
	if len(s) != 12 || !digit.All(s) {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// padDigits formats v (non-negative) as exactly width digits, left-padded
// with zeros.
func padDigits(v int64, width int) string {
	b := make([]byte, width)
	for i := width - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b)
}

// parseSigned parses sign ('C' positive, 'D' negative) + digits.
func parseSigned(sign byte, digits string) (int64, bool) {
	if !digit.All(digits) {
		return 0, false
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, false
	}
	switch sign {
	case 'C':
		return v, true
	case 'D':
		return -v, true
	}
	return 0, false
}

// formatSigned formats v as 'C' (v >= 0) or 'D' (v < 0) + width digits.
func formatSigned(v int64, width int) (string, bool) {
	sign := byte('C')
	if v < 0 {
		sign, v = 'D', -v
	}
	if len(strconv.FormatInt(v, 10)) > width {
		return "", false
	}
	return string(sign) + padDigits(v, width), true
}

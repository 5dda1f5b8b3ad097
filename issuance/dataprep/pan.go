package dataprep

import (
	"crypto/rand"
	"fmt"
	"io"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/iso/digit"
)

// PAN lengths ISO/IEC 7812-1 allows for payment cards.
const (
	MinPANLength = 12
	MaxPANLength = 19
)

// LuhnValid reports whether s is all digits and passes the Luhn (mod 10)
// check of ISO/IEC 7812-1 annex B.
// (one implementation, package iso/digit's).
func LuhnValid(s string) bool { return digit.LuhnValid(s) }

// LuhnDigit returns the check digit to append to partial.
func LuhnDigit(partial string) (byte, error) {
	d, ok := digit.LuhnDigit(partial)
	if !ok {
		return 0, fmt.Errorf("computing Luhn digit: %w", ErrPAN)
	}
	return d, nil
}

// ValidPAN reports whether pan is 12 to 19 digits and Luhn-valid.
func ValidPAN(pan string) bool {
	return len(pan) >= MinPANLength && len(pan) <= MaxPANLength && LuhnValid(pan)
}

// GeneratePAN returns a PAN of the given length that starts with iin, has
// uniformly random account digits and a Luhn check digit. rnd is the
// source of randomness (nil: crypto/rand). Uniqueness is the caller's: the
// card store's unique PAN index rejects a collision and the caller draws
// again.
func GeneratePAN(iin string, length int, rnd io.Reader) (emv.PAN, error) {
	if !digit.All(iin) || len(iin) < 6 || len(iin) > 11 || length < MinPANLength || length > MaxPANLength || length-len(iin) < 2 {
		return "", fmt.Errorf("generating PAN: %w", ErrIIN)
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	b := make([]byte, 0, length)
	b = append(b, iin...)
	var buf [32]byte
	for len(b) < length-1 {
		if _, err := io.ReadFull(rnd, buf[:]); err != nil {
			return "", fmt.Errorf("generating PAN: %w", err)
		}
		for _, x := range buf {
			// Rejection sampling: 250 = 25 × 10, so every digit is equally likely.
			if x < 250 && len(b) < length-1 {
				b = append(b, '0'+x%10)
			}
		}
	}
	d, _ := digit.LuhnDigit(string(b))
	b = append(b, d)
	pan := emv.PAN(b)
	emv.SecretBytes(b).Wipe()
	return pan, nil
}

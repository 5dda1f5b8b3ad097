package host

import (
	"errors"
	"strings"

	"github.com/cardhost/cardhost/iso/digit"
)

// track2 is track 2 equivalent data as DESIGN.md lays it out:
// PAN '=' (or 'D') YYMM service-code(3) PVKI(1) PVV(4) CVV(3) zero fill.
type track2 struct {
	pan, expiry, serviceCode, pvki, pvv, cvv string
}

var errTrack2 = errors.New("malformed track 2")

// parseTrack2 splits track 2 data; errors never quote it.
func parseTrack2(s string) (track2, error) {
	s = strings.TrimSuffix(strings.TrimPrefix(s, ";"), "?")
	s = strings.TrimRight(s, "F") // odd-length packing fill
	i := strings.IndexAny(s, "=D")
	if i < 12 || i > 19 {
		return track2{}, errTrack2
	}
	pan, rest := s[:i], s[i+1:]
	if !digit.All(pan) || len(rest) < 4+3+1+4+3 || !digit.All(rest) {
		return track2{}, errTrack2
	}
	return track2{pan: pan, expiry: rest[:4], serviceCode: rest[4:7], pvki: rest[7:8], pvv: rest[8:12], cvv: rest[12:15]}, nil
}

package dataprep

import (
	"fmt"
	"strings"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/iso/digit"
)

// Track2Length is the length track 2 equivalent data is zero-filled to
// (ISO/IEC 7813: 37 characters between the sentinels, and ISO 8583 field
// 35's maximum).
const Track2Length = 37

// Track2 builds track 2 equivalent data as DESIGN.md lays it out:
//
//	PAN '=' YYMM service-code(3) PVKI(1) PVV(4) CVV(3) zero fill to 37
//
// A card with no PIN verification value carries PVKI and PVV as zeros
// ("00000"). For the chip's track 2 equivalent (tag 57) pass the iCVV as
// cvv. The result is secret (emv.Track2 never prints).
func Track2(pan emv.PAN, expiry, serviceCode, pvki, pvv string, cvv emv.CVV) (emv.Track2, error) {
	p := pan.Reveal()
	if len(p) < MinPANLength || len(p) > MaxPANLength || !digit.All(p) {
		return "", fmt.Errorf("building track 2: PAN: %w", ErrTrack2)
	}
	if !ValidExpiry(expiry) {
		return "", fmt.Errorf("building track 2: expiry: %w", ErrTrack2)
	}
	if len(serviceCode) != 3 || !digit.All(serviceCode) {
		return "", fmt.Errorf("building track 2: service code: %w", ErrTrack2)
	}
	if pvki == "" && pvv == "" {
		pvki, pvv = "0", "0000"
	}
	if len(pvki) != 1 || !digit.All(pvki) || len(pvv) != 4 || !digit.All(pvv) {
		return "", fmt.Errorf("building track 2: PVKI/PVV: %w", ErrTrack2)
	}
	if c := cvv.Reveal(); len(c) != 3 || !digit.All(c) {
		return "", fmt.Errorf("building track 2: CVV: %w", ErrTrack2)
	}
	var b strings.Builder
	b.Grow(Track2Length)
	b.WriteString(p)
	b.WriteByte('=')
	b.WriteString(expiry)
	b.WriteString(serviceCode)
	b.WriteString(pvki)
	b.WriteString(pvv)
	b.WriteString(cvv.Reveal())
	for b.Len() < Track2Length {
		b.WriteByte('0')
	}
	return emv.Track2(b.String()), nil
}

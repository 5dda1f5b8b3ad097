package host

import (
	"strings"

	"github.com/cardhost/cardhost/issuance"
)

// cardData is the card data an entry mode brings, and so what
// stepCardVerification verifies.
type cardData int

// Card data by entry mode.
const (
	// dataChip: field 55 with an ARQC (9F27 type ARQC, CVR of an ARQC)
	// bound to fields 4 and 49 that verifies for the card's CVN; the iCVV
	// when track 2 is present.
	dataChip cardData = iota + 1
	// dataTrack: track 2 (field 35) with a CVV that verifies.
	dataTrack
	// dataKeyed: no card is read (key entry, e-commerce): the card is
	// not present. Field 14 is required and checked, the CVV2 of field 48
	// element 01 is required by the card's cvv2_policy, verified and its
	// wrong values counted (step_cnp.go); the merchant guard watches
	// these requests (merchant.go).
	dataKeyed
)

// entryMode is one value of field 22 positions 1-2 that the host accepts.
type entryMode struct {
	code    string           // field 22 positions 1-2
	name    string           // as in docs/iso8583.md section 5.3
	channel issuance.Channel // the channel risk controls switch (01 with an ECI is e-commerce)
	data    cardData         // what the card verification step checks
}

// entryModes is the allow-list of POS entry modes (field 22 positions
// 1-2), row by row as in docs/iso8583.md section 5.3. Any other value is
// declined entry_mode_not_supported (58) before the card is looked up: a
// mode the host cannot map to a channel and to card data would skip every
// channel switch and every card check.
var entryModes = []entryMode{
	{"01", "manual key entry", issuance.ChannelManual, dataKeyed},
	{"05", "chip", issuance.ChannelChip, dataChip},
	{"07", "contactless chip", issuance.ChannelContactless, dataChip},
	{"80", "chip fallback to magnetic stripe", issuance.ChannelMagstripe, dataTrack},
	{"81", "e-commerce", issuance.ChannelEcommerce, dataKeyed},
	{"90", "magnetic stripe, full track", issuance.ChannelMagstripe, dataTrack},
	{"91", "contactless magnetic stripe", issuance.ChannelContactless, dataTrack},
}

// cardNotPresent reports whether field 22 is an accepted entry mode that
// reads no card (dataKeyed): the card-not-present rules apply to it.
func cardNotPresent(field22 string) bool {
	m, ok := entryModeOf(field22)
	return ok && m.data == dataKeyed
}

// pinCapabilities are the values of field 22 position 3 the host accepts:
// 0 unknown, 1 can accept a PIN, 2 cannot.
const pinCapabilities = "012"

// entryModeOf returns the row of field 22 (three digits), or false when the
// host does not accept it.
func entryModeOf(field22 string) (entryMode, bool) {
	if len(field22) != 3 || strings.IndexByte(pinCapabilities, field22[2]) < 0 {
		return entryMode{}, false
	}
	for _, m := range entryModes {
		if m.code == field22[:2] {
			return m, true
		}
	}
	return entryMode{}, false
}

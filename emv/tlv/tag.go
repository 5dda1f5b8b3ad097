package tlv

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// Tag is a BER-TLV tag held as its encoded bytes read big-endian, so that the
// EMV tag written "9F26" is Tag(0x9F26). Tags have 1 to 4 bytes.
type Tag uint32

// Common EMV tags used by cardhost (EMV Book 3, Annex A).
const (
	TagPAN                       Tag = 0x5A   // Application PAN
	TagTrack2                    Tag = 0x57   // Track 2 Equivalent Data
	TagCardholderName            Tag = 0x5F20 // Cardholder Name
	TagPSN                       Tag = 0x5F34 // PAN Sequence Number
	TagAIP                       Tag = 0x82   // Application Interchange Profile
	TagAuthResponseCode          Tag = 0x8A   // Authorisation Response Code
	TagIssuerAuthenticationData  Tag = 0x91   // Issuer Authentication Data (ARPC)
	TagIssuerScript1             Tag = 0x71   // Issuer Script Template 1
	TagIssuerScript2             Tag = 0x72   // Issuer Script Template 2
	TagTVR                       Tag = 0x95   // Terminal Verification Results
	TagTransactionDate           Tag = 0x9A   // Transaction Date (YYMMDD)
	TagTransactionType           Tag = 0x9C   // Transaction Type
	TagCurrencyCode              Tag = 0x5F2A // Transaction Currency Code
	TagAmountAuthorised          Tag = 0x9F02 // Amount, Authorised
	TagAmountOther               Tag = 0x9F03 // Amount, Other
	TagIssuerApplicationData     Tag = 0x9F10 // Issuer Application Data (IAD)
	TagTerminalCountryCode       Tag = 0x9F1A // Terminal Country Code
	TagApplicationCryptogram     Tag = 0x9F26 // Application Cryptogram (ARQC/TC/AAC)
	TagCryptogramInformationData Tag = 0x9F27 // Cryptogram Information Data
	TagATC                       Tag = 0x9F36 // Application Transaction Counter
	TagUnpredictableNumber       Tag = 0x9F37 // Unpredictable Number
	TagCVMResults                Tag = 0x9F34 // CVM Results
	TagTerminalCapabilities      Tag = 0x9F33 // Terminal Capabilities
	TagTrack1Discretionary       Tag = 0x9F1F // Track 1 Discretionary Data
)

// Bytes returns the tag's encoding (1 to 4 bytes).
func (t Tag) Bytes() []byte {
	return t.appendTo(nil)
}

func (t Tag) appendTo(b []byte) []byte {
	switch {
	case t > 0xFFFFFF:
		return append(b, byte(t>>24), byte(t>>16), byte(t>>8), byte(t))
	case t > 0xFFFF:
		return append(b, byte(t>>16), byte(t>>8), byte(t))
	case t > 0xFF:
		return append(b, byte(t>>8), byte(t))
	default:
		return append(b, byte(t))
	}
}

// String returns the tag in upper-case hex, as EMV writes it ("9F26").
func (t Tag) String() string {
	return strings.ToUpper(hex.EncodeToString(t.Bytes()))
}

// Constructed reports whether the tag's first byte has bit 6 set, meaning
// its value is a sequence of data objects (a template such as 70, 71, 77).
func (t Tag) Constructed() bool {
	return t.Bytes()[0]&0x20 != 0
}

// Valid reports whether the tag is a well-formed BER tag: a first byte other
// than 0x00 and 0xFF, continuation bytes present exactly when the first byte's
// low five bits are all ones, and bit 8 set on every continuation byte but
// the last.
func (t Tag) Valid() bool {
	b := t.Bytes()
	n, err := tagLen(b)
	return err == nil && n == len(b)
}

// ParseTag parses a tag written in hex ("9F26", "5f34").
func ParseTag(s string) (Tag, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) == 0 || len(b) > 4 {
		return 0, fmt.Errorf("parsing tag %q: %w", s, ErrInvalidTag)
	}
	var t Tag
	for _, c := range b {
		t = t<<8 | Tag(c)
	}
	if !t.Valid() {
		return 0, fmt.Errorf("parsing tag %q: %w", s, ErrInvalidTag)
	}
	return t, nil
}

// tagLen returns the length of the tag at the start of b.
func tagLen(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, ErrTruncated
	}
	if b[0] == 0x00 || b[0] == 0xFF {
		return 0, ErrInvalidTag
	}
	if b[0]&0x1F != 0x1F {
		return 1, nil
	}
	for i := 1; ; i++ {
		if i >= 4 {
			return 0, ErrTagTooLong
		}
		if i >= len(b) {
			return 0, ErrTruncated
		}
		if b[i]&0x80 == 0 {
			return i + 1, nil
		}
	}
}

package iso

import (
	"errors"
	"fmt"
	"strings"

	"github.com/moov-io/iso8583"
)

// Message authentication (docs/iso8583.md section 5.15). A message carries
// its MAC in its last field: field 128 when the primary bitmap announces a
// secondary bitmap (bit 1 set, the message has a field from 65 up), else
// field 64. The MAC is 8 bytes sent as 16 hexadecimal characters, and it
// covers every byte of the packed message before it: the MTI, the bitmaps
// (with the MAC field's bit set) and every other field exactly as sent.
// The algorithm (ISO/IEC 9797-1 MAC algorithm 3 under the acquirer's ZAK)
// is the caller's: this file only says which bytes are MACed and where the
// MAC goes.

// MACLen is the length of the MAC field on the wire: 8 bytes as 16
// hexadecimal characters.
const MACLen = 16

// ErrMACPlacement: field 64 is present in a message with a secondary
// bitmap, whose MAC goes in field 128 (a format error, answered 30).
var ErrMACPlacement = errors.New("field 64 in a message with a secondary bitmap (its MAC goes in field 128)")

// MACField returns the field that carries the MAC of a message with a
// secondary bitmap (128) or without one (64).
func MACField(secondary bool) int {
	if secondary {
		return FieldSecondaryMAC
	}
	return FieldMAC
}

// MACInput splits a packed message (without its length header; a message
// [Unpack] accepted) into the bytes its MAC covers and the MAC as sent (16
// hexadecimal characters). present is false when the message has no MAC
// field. Field 64 in a message with a secondary bitmap is a *FieldError
// naming field 64 and wrapping ErrMACPlacement.
func MACInput(packed []byte) (data, mac []byte, present bool, err error) {
	const primaryEnd = mtiLength + 16
	if len(packed) < primaryEnd {
		return nil, nil, false, &FieldError{Field: FieldBitmap, Err: ErrShort}
	}
	secondary, ok := hexBit(packed[mtiLength], 8)
	if !ok {
		return nil, nil, false, &FieldError{Field: FieldBitmap, Err: ErrCharset}
	}
	has64, ok := hexBit(packed[primaryEnd-1], 1)
	if !ok {
		return nil, nil, false, &FieldError{Field: FieldBitmap, Err: ErrCharset}
	}
	last := has64
	if secondary {
		if has64 {
			return nil, nil, false, &FieldError{Field: FieldMAC, Err: ErrMACPlacement}
		}
		if len(packed) < primaryEnd+16 {
			return nil, nil, false, &FieldError{Field: FieldBitmap, Err: ErrShort}
		}
		if last, ok = hexBit(packed[primaryEnd+15], 1); !ok {
			return nil, nil, false, &FieldError{Field: FieldBitmap, Err: ErrCharset}
		}
	}
	if !last {
		return nil, nil, false, nil
	}
	if len(packed) < primaryEnd+MACLen {
		return nil, nil, false, &FieldError{Field: MACField(secondary), Err: ErrShort}
	}
	n := len(packed) - MACLen
	return packed[:n], packed[n:], true, nil
}

// hexBit reports whether bit (8, 4, 2 or 1) of the hexadecimal digit c is
// set; false for a character that is not hexadecimal.
func hexBit(c byte, bit byte) (set, ok bool) {
	var v byte
	switch {
	case c >= '0' && c <= '9':
		v = c - '0'
	case c >= 'A' && c <= 'F':
		v = c - 'A' + 10
	case c >= 'a' && c <= 'f':
		v = c - 'a' + 10
	default:
		return false, false
	}
	return v&bit != 0, true
}

// PackMAC packs m with a MAC: it places the MAC field (128 when m has a
// field from 65 to 127, else 64; any MAC field m already had is replaced),
// packs m, asks mac for the MAC of the bytes before the MAC field (mac must
// return 8 bytes) and returns the packed message with that MAC in place.
// m holds the MAC field afterwards. Errors are Pack's, mac's, or a MAC of
// the wrong length.
func PackMAC(m *iso8583.Message, mac func(data []byte) ([]byte, error)) ([]byte, error) {
	m.UnsetField(FieldMAC)
	m.UnsetField(FieldSecondaryMAC)
	secondary := false
	for id := range m.GetFields() {
		if id > FieldMAC && id < FieldSecondaryMAC {
			secondary = true
		}
	}
	id := MACField(secondary)
	if err := m.Field(id, strings.Repeat("0", MACLen)); err != nil {
		return nil, fmt.Errorf("packing message: setting field %d: %w", id, err)
	}
	b, err := Pack(m)
	if err != nil {
		return nil, err
	}
	h, err := writeMAC(b, id, mac)
	if err != nil {
		return nil, err
	}
	_ = m.Field(id, h) // the same 16 hexadecimal characters Pack accepted
	return b, nil
}

// writeMAC asks mac for the MAC of packed message b, packed with field id
// (the MAC field, last) holding zeros, writes it in place and returns it
// as the field's 16 hexadecimal characters.
func writeMAC(b []byte, id int, mac func(data []byte) ([]byte, error)) (string, error) {
	data, _, present, err := MACInput(b)
	if err != nil || !present {
		return "", fmt.Errorf("packing message: MAC field %d not last", id)
	}
	v, err := mac(data)
	if err != nil {
		return "", fmt.Errorf("packing message: computing MAC: %w", err)
	}
	if len(v) != MACLen/2 {
		return "", fmt.Errorf("packing message: MAC of %d bytes, want %d", len(v), MACLen/2)
	}
	h := fmt.Sprintf("%X", v)
	copy(b[len(data):], h)
	return h, nil
}

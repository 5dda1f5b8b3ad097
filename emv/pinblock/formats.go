package pinblock

import (
	"crypto/cipher"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// The types below follow moov-io/pinblock's formats package: one object
// per format with Encode/Decode over strings and upper-case hex blocks.
// Differences: ISO4 takes a standard cipher.Block instead of moov's Cipher
// interface, fill randomness is injectable, there is no debug writer (it
// would print PINs), and decoding validates fill and digits.

// ISO0 is ISO 9564-1 format 0 (clear block). It is safe for concurrent use.
type ISO0 struct{}

// NewISO0 returns a format 0 codec (moov-io/pinblock: formats.NewISO0).
func NewISO0() *ISO0 { return &ISO0{} }

// Encode returns the clear format 0 block for pin and pan as 16 upper-case
// hex characters.
func (ISO0) Encode(pin, pan string) (string, error) {
	return encodeHex(Format0, pin, pan, nil)
}

// Decode returns the PIN from a clear format 0 block in hex.
func (ISO0) Decode(block, pan string) (string, error) {
	return decodeHex(Format0, block, pan)
}

// ISO1 is ISO 9564-1 format 1 (clear block, not bound to a PAN). Rand
// supplies the fill (nil: crypto/rand). Safe for concurrent use if Rand is.
type ISO1 struct{ Rand io.Reader }

// NewISO1 returns a format 1 codec (moov-io/pinblock: formats.NewISO1).
func NewISO1() *ISO1 { return &ISO1{} }

// Encode returns the clear format 1 block for pin.
func (f ISO1) Encode(pin string) (string, error) {
	return encodeHex(Format1, pin, "", f.Rand)
}

// Decode returns the PIN from a clear format 1 block in hex.
func (ISO1) Decode(block string) (string, error) {
	return decodeHex(Format1, block, "")
}

// ISO3 is ISO 9564-1 format 3 (clear block, random fill A-F). Rand supplies
// the fill (nil: crypto/rand). Safe for concurrent use if Rand is.
type ISO3 struct{ Rand io.Reader }

// NewISO3 returns a format 3 codec (moov-io/pinblock: formats.NewISO3).
func NewISO3() *ISO3 { return &ISO3{} }

// Encode returns the clear format 3 block for pin and pan.
func (f ISO3) Encode(pin, pan string) (string, error) {
	return encodeHex(Format3, pin, pan, f.Rand)
}

// Decode returns the PIN from a clear format 3 block in hex.
func (ISO3) Decode(block, pan string) (string, error) {
	return decodeHex(Format3, block, pan)
}

// ISO4 is ISO 9564-1 format 4 under an AES key. Cipher must be AES; Rand
// supplies the random half of the PIN field (nil: crypto/rand). Safe for
// concurrent use if Rand is (cipher.Block from crypto/aes is).
type ISO4 struct {
	Cipher cipher.Block
	Rand   io.Reader
}

// NewISO4 returns a format 4 codec enciphering with c (moov-io/pinblock:
// formats.NewISO4).
func NewISO4(c cipher.Block) *ISO4 { return &ISO4{Cipher: c} }

// Encode returns the enciphered format 4 block for pin and pan as 32
// upper-case hex characters.
func (f ISO4) Encode(pin, pan string) (string, error) {
	b, err := Encipher(Format4, f.Cipher, []byte(pin), pan, f.Rand)
	if err != nil {
		return "", err
	}
	return strings.ToUpper(hex.EncodeToString(b)), nil
}

// Decode deciphers a format 4 block given in hex and returns the PIN.
func (f ISO4) Decode(block, pan string) (string, error) {
	b, err := hex.DecodeString(block)
	if err != nil {
		return "", fmt.Errorf("decoding PIN block: %w", ErrBlockSize)
	}
	pin, err := Decipher(Format4, f.Cipher, b, pan)
	if err != nil {
		return "", err
	}
	defer wipe(pin)
	return string(pin), nil
}

func encodeHex(f Format, pin, pan string, r io.Reader) (string, error) {
	b, err := EncodeClear(f, []byte(pin), pan, r)
	if err != nil {
		return "", err
	}
	defer wipe(b)
	return strings.ToUpper(hex.EncodeToString(b)), nil
}

func decodeHex(f Format, block, pan string) (string, error) {
	b, err := hex.DecodeString(block)
	if err != nil {
		return "", fmt.Errorf("decoding PIN block: %w", ErrBlockSize)
	}
	defer wipe(b)
	pin, err := DecodeClear(f, b, pan)
	if err != nil {
		return "", err
	}
	defer wipe(pin)
	return string(pin), nil
}

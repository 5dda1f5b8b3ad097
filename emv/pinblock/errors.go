package pinblock

import (
	"errors"
	"fmt"
)

// ErrMalformed is wrapped by every error about the content of a PIN block
// being decoded: compare with errors.Is to tell a bad block (a decline) from
// a bad call.
var ErrMalformed = errors.New("malformed PIN block")

// Specific decode errors; each wraps ErrMalformed.
var (
	ErrBlockSize    = fmt.Errorf("%w: wrong size", ErrMalformed)
	ErrControlField = fmt.Errorf("%w: wrong control field", ErrMalformed)
	ErrPINLength    = fmt.Errorf("%w: PIN length outside 4-12", ErrMalformed)
	ErrPINDigit     = fmt.Errorf("%w: PIN digit not decimal", ErrMalformed)
	ErrFill         = fmt.Errorf("%w: wrong fill", ErrMalformed)
)

// ErrNotAccepted: the block is well formed, but in a format the caller
// does not accept ([DecipherAny]). It does not wrap ErrMalformed.
var ErrNotAccepted = errors.New("PIN block format not accepted")

// Input errors: the caller passed something unusable.
var (
	// ErrPIN: the PIN to encode is not 4 to 12 decimal digits.
	ErrPIN = errors.New("PIN must be 4 to 12 decimal digits")
	// ErrPAN: the PAN is not decimal or has the wrong length for the
	// format (13-19 digits for formats 0 and 3, 1-19 for format 4).
	ErrPAN = errors.New("invalid PAN for PIN block")
	// ErrFormat: the format is not one of 0, 1, 3, 4.
	ErrFormat = errors.New("unsupported PIN block format")
	// ErrCipher: the cipher's block size does not fit the format (8 bytes
	// for formats 0, 1, 3; 16 bytes for format 4).
	ErrCipher = errors.New("cipher block size does not fit the PIN block format")
	// ErrRandom: the random source failed.
	ErrRandom = errors.New("reading random fill")
)

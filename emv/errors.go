package emv

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers branch on them with errors.Is. Every error this
// package returns wraps one of them and carries lengths or positions only:
// never key bytes, PANs, PINs, CVVs or any other input value.
var (
	// ErrKeyLength means a key has the wrong length for the algorithm
	// (for example a 10-byte TDES key, or an 8-byte key where a double-length
	// key is required).
	ErrKeyLength = errors.New("emv: wrong key length")

	// ErrHex means a hexadecimal string has odd length or a character that
	// is not a hex digit.
	ErrHex = errors.New("emv: invalid hex")

	// ErrPAN means a primary account number is not 8 to 19 decimal digits
	// (or shorter than an algorithm needs).
	ErrPAN = errors.New("emv: invalid PAN")

	// ErrDigits means a numeric field (PSN, PIN, PVKI, expiry, service
	// code, offset, decimalisation table) is not made of decimal digits or
	// has the wrong number of them.
	ErrDigits = errors.New("emv: invalid numeric field")

	// ErrLength means a data element (ATC, UN, ARQC, ARC, CSU, IAD, ...) has
	// the wrong length.
	ErrLength = errors.New("emv: wrong data length")

	// ErrMissingTag means a data element the cryptogram needs is absent.
	ErrMissingTag = errors.New("emv: missing data element")

	// ErrUnknownCVN means no entry of the CVN registry matches the scheme
	// and cryptogram version number asked for.
	ErrUnknownCVN = errors.New("emv: unknown CVN")

	// ErrPadding means an unknown ISO/IEC 9797-1 padding method was asked for.
	ErrPadding = errors.New("emv: unknown padding method")

	// ErrIAD means issuer application data (tag 9F10) does not have the
	// layout its scheme defines.
	ErrIAD = errors.New("emv: malformed issuer application data")

	// ErrUnsupported means a combination of parameters that the algorithm
	// does not define (for example an ARPC method other than 1 and 2, or a
	// block cipher whose block size CMAC does not support).
	ErrUnsupported = errors.New("emv: unsupported parameter")
)

// TagError reports a problem with one EMV data element. Tag is the element's
// tag (for example 0x9F36); Err is ErrMissingTag or ErrLength. The message
// names the tag and the lengths, never the value.
type TagError struct {
	Tag  uint32 // EMV tag, e.g. 0x9F10
	Got  int    // length found in bytes (0 when missing)
	Want string // expected length, e.g. "2" or "8-32"
	Err  error  // ErrMissingTag or ErrLength
}

// Error implements error.
func (e *TagError) Error() string {
	if errors.Is(e.Err, ErrMissingTag) {
		return fmt.Sprintf("%v: tag %X", e.Err, e.Tag)
	}
	return fmt.Sprintf("%v: tag %X is %d bytes, want %s", e.Err, e.Tag, e.Got, e.Want)
}

// Unwrap returns the sentinel error.
func (e *TagError) Unwrap() error { return e.Err }

// lengthError builds an ErrLength error naming the element and lengths.
func lengthError(what string, got int, want string) error {
	return fmt.Errorf("%w: %s is %d bytes, want %s", ErrLength, what, got, want)
}

// keyLengthError builds an ErrKeyLength error naming the key and lengths.
func keyLengthError(what string, got int, want string) error {
	return fmt.Errorf("%w: %s is %d bytes, want %s", ErrKeyLength, what, got, want)
}

// digitsError builds an ErrDigits error naming the field and lengths.
func digitsError(what string, got int, want string) error {
	return fmt.Errorf("%w: %s must be %s decimal digits (got %d characters)", ErrDigits, what, want, got)
}

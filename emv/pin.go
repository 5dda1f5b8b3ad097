package emv

import (
	"crypto/subtle"
	"fmt"
	"strings"

	"github.com/cardhost/cardhost/iso/digit"
)

// PVV computes the 4-digit Visa PIN verification value. The transformed
// security parameter is the 11 rightmost PAN digits excluding the check
// digit, the PIN verification key index (one digit) and the 4 leftmost
// PIN digits; it is enciphered under the PVK (8, 16 or 24 bytes; usually
// a double-length PVK pair) and decimalised like the CVV. The PAN must
// have at least 12 digits; the PIN 4 to 12.
func PVV(pvk []byte, pan, pvki, pin string) (string, error) {
	v, err := pvvDigits(pvk, pan, pvki, pin)
	if err != nil {
		return "", fmt.Errorf("computing PVV: %w", err)
	}
	return v, nil
}

// VerifyPVV recomputes the PVV for a PIN and compares it in constant time
// with the reference PVV (4 digits). A mismatch is (false, nil).
func VerifyPVV(pvk []byte, pan, pvki, pin, pvv string) (bool, error) {
	want, err := pvvDigits(pvk, pan, pvki, pin)
	return compareDigits("PVV", want, err, "PVV", pvv, 4)
}

func pvvDigits(pvk []byte, pan, pvki, pin string) (string, error) {
	b, err := NewTDES(pvk)
	if err != nil {
		return "", err
	}
	if err := checkPAN(pan, 12); err != nil {
		return "", err
	}
	if len(pvki) != 1 || !digit.All(pvki) {
		return "", digitsError("PVKI", len(pvki), "1")
	}
	if err := checkPIN(pin); err != nil {
		return "", err
	}
	tsp := pan[len(pan)-12:len(pan)-1] + pvki + pin[:4]
	x := hexDigitsToBytes(tsp)
	b.Encrypt(x, x)
	return decimalizeVisa(x, 4), nil
}

func checkPIN(pin string) error {
	if len(pin) < 4 || len(pin) > 12 || !digit.All(pin) {
		return digitsError("PIN", len(pin), "4 to 12")
	}
	return nil
}

// DefaultDecimalizationTable is the decimalisation table IBM 3624 examples
// and most issuers use: hex 0-9 map to themselves, A-F to 0-5.
const DefaultDecimalizationTable = "0123456789012345"

// PINValidationData builds IBM 3624 validation data from a PAN: the length
// digits starting at start (0-based), right-padded to 16 characters with
// pad (a hex digit, often 'F'). Common choices are the 12 rightmost digits
// excluding the check digit, or the whole 16-digit PAN.
func PINValidationData(pan string, start, length int, pad byte) (string, error) {
	if err := checkPAN(pan, 8); err != nil {
		return "", fmt.Errorf("building PIN validation data: %w", err)
	}
	if start < 0 || length < 1 || length > 16 || start+length > len(pan) {
		return "", fmt.Errorf("building PIN validation data: %w: digits %d..%d outside a %d-digit PAN", ErrLength, start+1, start+length, len(pan))
	}
	if !isHexDigit(pad) {
		return "", fmt.Errorf("building PIN validation data: %w: pad must be one hex digit", ErrHex)
	}
	return pan[start:start+length] + strings.Repeat(string(pad), 16-length), nil
}

// IBM3624NaturalPIN computes the IBM 3624 natural PIN of n digits (4 to
// 12): validation data (16 hex digits) enciphered under the PVK, each hex
// digit mapped through the decimalisation table (16 decimal digits), the
// leftmost n digits kept.
func IBM3624NaturalPIN(pvk []byte, validationData, decTable string, n int) (string, error) {
	nat, err := naturalPIN(pvk, validationData, decTable, n)
	if err != nil {
		return "", fmt.Errorf("computing IBM 3624 natural PIN: %w", err)
	}
	return nat, nil
}

// IBM3624Offset computes the IBM 3624 PIN offset that maps the natural PIN
// to a customer-selected PIN: offset digit = (PIN digit - natural digit)
// mod 10. The offset has as many digits as the PIN.
func IBM3624Offset(pvk []byte, pin, validationData, decTable string) (string, error) {
	if err := checkPIN(pin); err != nil {
		return "", fmt.Errorf("computing IBM 3624 offset: %w", err)
	}
	nat, err := naturalPIN(pvk, validationData, decTable, len(pin))
	if err != nil {
		return "", fmt.Errorf("computing IBM 3624 offset: %w", err)
	}
	out := make([]byte, len(pin))
	for i := range out {
		out[i] = '0' + (10+pin[i]-nat[i])%10
	}
	return string(out), nil
}

// IBM3624PIN applies an offset to the natural PIN: PIN digit = (natural
// digit + offset digit) mod 10. The PIN has as many digits as the offset.
func IBM3624PIN(pvk []byte, offset, validationData, decTable string) (string, error) {
	if len(offset) < 4 || len(offset) > 12 || !digit.All(offset) {
		return "", fmt.Errorf("computing IBM 3624 PIN: %w", digitsError("offset", len(offset), "4 to 12"))
	}
	nat, err := naturalPIN(pvk, validationData, decTable, len(offset))
	if err != nil {
		return "", fmt.Errorf("computing IBM 3624 PIN: %w", err)
	}
	out := make([]byte, len(offset))
	for i := range out {
		out[i] = '0' + (nat[i]-'0'+offset[i]-'0')%10
	}
	return string(out), nil
}

// VerifyIBM3624Offset checks a PIN against its stored offset in constant
// time. A mismatch, including a PIN of another length than the offset's
// (the PIN set), is (false, nil): a wrong PIN. A malformed PIN or offset
// is an error.
func VerifyIBM3624Offset(pvk []byte, pin, offset, validationData, decTable string) (bool, error) {
	if err := checkPIN(pin); err != nil {
		return false, fmt.Errorf("verifying IBM 3624 offset: %w", err)
	}
	if len(offset) < 4 || len(offset) > 12 || !digit.All(offset) {
		return false, fmt.Errorf("verifying IBM 3624 offset: %w", digitsError("offset", len(offset), "4 to 12"))
	}
	if len(offset) != len(pin) {
		// The cardholder typed a PIN of another length than the one set:
		// a wrong PIN, not unusable input.
		return false, nil
	}
	want, err := IBM3624PIN(pvk, offset, validationData, decTable)
	if err != nil {
		return false, fmt.Errorf("verifying IBM 3624 offset: %w", err)
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(pin)) == 1, nil
}

func naturalPIN(pvk []byte, validationData, decTable string, n int) (string, error) {
	b, err := NewTDES(pvk)
	if err != nil {
		return "", err
	}
	if len(validationData) != 16 {
		return "", fmt.Errorf("%w: validation data must be 16 hex digits (got %d)", ErrLength, len(validationData))
	}
	for i := 0; i < len(validationData); i++ {
		if !isHexDigit(validationData[i]) {
			return "", fmt.Errorf("%w: validation data has a non-hex character at position %d", ErrHex, i+1)
		}
	}
	if len(decTable) != 16 || !digit.All(decTable) {
		return "", digitsError("decimalisation table", len(decTable), "16")
	}
	if n < 4 || n > 12 {
		return "", digitsError("PIN length", n, "4 to 12")
	}
	x := hexDigitsToBytes(validationData)
	b.Encrypt(x, x)
	h := EncodeHex(x)
	out := make([]byte, n)
	for i := range out {
		out[i] = decTable[nibble(h[i])]
	}
	return string(out), nil
}

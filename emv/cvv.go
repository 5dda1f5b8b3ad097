package emv

import (
	"crypto/cipher"
	"crypto/subtle"
	"fmt"
	"strconv"

	"github.com/cardhost/cardhost/iso/digit"
)

// Service codes that turn the CVV algorithm into its variants.
const (
	ServiceCodeICVV = "999" // iCVV: the CVV in the chip's track 2 equivalent data (Visa VSDC)
	ServiceCodeCVV2 = "000" // CVV2: the value printed on the card
)

// GenerateCVV computes a Visa card verification value (CVV/CVC) with a CVK pair:
// cvk is 16 bytes, CVK A || CVK B. The PAN (8 to 19 digits), expiry (4
// digits, as encoded in track 2: YYMM) and service code (3 digits) are
// concatenated and right-padded with zeros to 32 digits; block 1 is
// enciphered under CVK A with single DES, XORed with block 2, enciphered
// under A || B with TDES; the digits of the result, then its letters A-F as
// 0-5, give the 3-digit value. iCVV and CVV2 use service codes 999 and 000
// (GenerateICVV, GenerateCVV2). The result is a CVV secret value: it
// formats as "[redacted]" and refuses JSON; Reveal gives the digits.
func GenerateCVV(cvk []byte, pan, expiry, serviceCode string) (CVV, error) {
	v, err := cvvDigits(cvk, pan, expiry, serviceCode)
	if err != nil {
		return "", fmt.Errorf("computing CVV: %w", err)
	}
	return CVV(v), nil
}

// GenerateICVV computes the iCVV: the CVV with service code 999.
func GenerateICVV(cvk []byte, pan, expiry string) (CVV, error) {
	return GenerateCVV(cvk, pan, expiry, ServiceCodeICVV)
}

// GenerateCVV2 computes the CVV2: the CVV with service code 000.
func GenerateCVV2(cvk []byte, pan, expiry string) (CVV, error) {
	return GenerateCVV(cvk, pan, expiry, ServiceCodeCVV2)
}

// VerifyCVV recomputes the CVV for the card data and compares it in
// constant time with the presented value (3 digits). A mismatch is
// (false, nil); bad input is an error.
func VerifyCVV(cvk []byte, pan, expiry, serviceCode, presented string) (bool, error) {
	want, err := cvvDigits(cvk, pan, expiry, serviceCode)
	return compareDigits("CVV", want, err, "presented CVV", presented, 3)
}

// VerifyCVVWith is VerifyCVV for callers that hold the CVK pair as an
// expanded cipher (NewTDES of the 16-byte CVK A || CVK B), so that a hot
// path does not rebuild its key schedules per transaction.
func VerifyCVVWith(cvk cipher.Block, pan, expiry, serviceCode, presented string) (bool, error) {
	ab, ok := cvk.(*tdes2)
	if !ok {
		return false, fmt.Errorf("verifying CVV: %w: the CVK pair must be a double-length TDES cipher (NewTDES of 16 bytes)", ErrKeyLength)
	}
	want, err := cvvDigitsWith(ab, pan, expiry, serviceCode)
	return compareDigits("CVV", want, err, "presented CVV", presented, 3)
}

// compareDigits is the end of the verify functions: it compares presented,
// which must be n digits, with want (computed with err) in constant time.
// what and name say what is verified and presented, in errors.
func compareDigits(what, want string, err error, name, presented string, n int) (bool, error) {
	if err != nil {
		return false, fmt.Errorf("verifying %s: %w", what, err)
	}
	if len(presented) != n || !digit.All(presented) {
		return false, fmt.Errorf("verifying %s: %w", what, digitsError(name, len(presented), strconv.Itoa(n)))
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(presented)) == 1, nil
}

func cvvDigits(cvk []byte, pan, expiry, serviceCode string) (string, error) {
	if len(cvk) != 16 {
		return "", keyLengthError("CVK pair", len(cvk), "16 (CVK A || CVK B)")
	}
	return cvvDigitsWith(newTDES2(cvk), pan, expiry, serviceCode)
}

// cvvDigitsWith is cvvDigits with the CVK pair's key schedules (ab.k1 is
// CVK A alone).
func cvvDigitsWith(ab *tdes2, pan, expiry, serviceCode string) (string, error) {
	if err := checkPAN(pan, 8); err != nil {
		return "", err
	}
	if len(expiry) != 4 || !digit.All(expiry) {
		return "", digitsError("expiry", len(expiry), "4")
	}
	if len(serviceCode) != 3 || !digit.All(serviceCode) {
		return "", digitsError("service code", len(serviceCode), "3")
	}
	digits := make([]byte, 32)
	for i := range digits {
		digits[i] = '0'
	}
	copy(digits, pan+expiry+serviceCode)
	data := hexDigitsToBytes(string(digits))

	x := make([]byte, 8)
	ab.k1.Encrypt(x, data[:8])
	xorInto(x, x, data[8:])
	ab.Encrypt(x, x)
	return decimalizeVisa(x, 3), nil
}

// decimalizeVisa scans the hex digits of b left to right taking decimal
// digits, then scans again taking A-F as 0-5, until n digits are found
// (the Visa CVV and PVV decimalisation).
func decimalizeVisa(b []byte, n int) string {
	h := EncodeHex(b)
	out := make([]byte, 0, n)
	for i := 0; i < len(h) && len(out) < n; i++ {
		if h[i] <= '9' {
			out = append(out, h[i])
		}
	}
	for i := 0; i < len(h) && len(out) < n; i++ {
		if h[i] >= 'A' {
			out = append(out, h[i]-'A'+'0')
		}
	}
	return string(out)
}

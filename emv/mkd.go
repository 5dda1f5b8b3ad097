package emv

import (
	"crypto/cipher"
	"crypto/sha1"
	"encoding/hex"
	"fmt"

	"github.com/cardhost/cardhost/iso/digit"
)

// MKDOption is an EMV ICC master key derivation option (EMV 4.4 Book 2,
// Annex A1.4).
type MKDOption int

// ICC master key derivation options.
const (
	// MKDAuto picks Option A for PANs of up to 16 digits and Option B for
	// longer ones, as EMV Book 2 A1.4 recommends.
	MKDAuto MKDOption = iota
	// MKDOptionA (A1.4.1): X = rightmost 16 digits of PAN || PSN.
	MKDOptionA
	// MKDOptionB (A1.4.2): X = 16 decimal digits taken from
	// SHA-1(PAN || PSN). For PANs of 16 digits or fewer it is Option A.
	MKDOptionB
)

// String returns "auto", "A" or "B".
func (o MKDOption) String() string {
	switch o {
	case MKDOptionA:
		return "A"
	case MKDOptionB:
		return "B"
	default:
		return "auto"
	}
}

// DeriveICCMasterKey derives a 16-byte ICC master key (MK-AC, MK-SMI or
// MK-SMC) from a double-length issuer master key: EMV Option A for PANs of
// up to 16 digits, Option B for longer PANs. psn is the 2-digit PAN
// sequence number (tag 5F34); "" means "00". The ISO 8583 field 23 form
// "0nn" is also accepted. The key has odd parity.
func DeriveICCMasterKey(imk []byte, pan, psn string) (SecretBytes, error) {
	return deriveICCMasterKey(imk, MKDAuto, pan, psn)
}

// DeriveICCMasterKeyA derives an ICC master key with EMV Option A
// (Book 2 A1.4.1): X = rightmost 16 digits of PAN || PSN (zero-padded on
// the left when shorter), Y = TDES_IMK(X) || TDES_IMK(X xor FF..FF), with
// odd parity.
func DeriveICCMasterKeyA(imk []byte, pan, psn string) (SecretBytes, error) {
	return deriveICCMasterKey(imk, MKDOptionA, pan, psn)
}

// DeriveICCMasterKeyB derives an ICC master key with EMV Option B
// (Book 2 A1.4.2): the SHA-1 of PAN || PSN (left-padded with a zero nibble
// to an even length) is decimalised (its digits in order, then its letters
// A-F as 0-5) into 16 digits X, then as Option A. PANs of 16 digits or
// fewer use Option A, as the standard defines Option B only for longer PANs.
func DeriveICCMasterKeyB(imk []byte, pan, psn string) (SecretBytes, error) {
	return deriveICCMasterKey(imk, MKDOptionB, pan, psn)
}

// DeriveICCMasterKeyWith is the form of DeriveICCMasterKey for callers that
// hold the issuer master key as an expanded cipher (NewTDES of the 16-byte
// IMK), so a hot path does not rebuild its key schedule per transaction.
func DeriveICCMasterKeyWith(imk cipher.Block, opt MKDOption, pan, psn string) (SecretBytes, error) {
	if imk.BlockSize() != 8 {
		return nil, fmt.Errorf("deriving ICC master key: %w: issuer master key must be a TDES cipher", ErrKeyLength)
	}
	x, err := mkdInput(opt, pan, psn)
	if err != nil {
		return nil, fmt.Errorf("deriving ICC master key: %w", err)
	}
	return deriveFromX(imk, x), nil
}

func deriveICCMasterKey(imk []byte, opt MKDOption, pan, psn string) (SecretBytes, error) {
	b, err := newDoubleTDES("issuer master key", imk)
	if err != nil {
		return nil, fmt.Errorf("deriving ICC master key: %w", err)
	}
	return DeriveICCMasterKeyWith(b, opt, pan, psn)
}

// deriveFromX computes TDES(X) || TDES(X xor FF..FF) with odd parity.
func deriveFromX(imk cipher.Block, x []byte) SecretBytes {
	out := make([]byte, 16)
	imk.Encrypt(out[:8], x)
	var y [8]byte
	for i := range y {
		y[i] = x[i] ^ 0xFF
	}
	imk.Encrypt(out[8:], y[:])
	k := AdjustParity(out)
	clear(out)
	return k
}

// mkdInput returns the 8-byte X of A1.4 for the option.
func mkdInput(opt MKDOption, pan, psn string) ([]byte, error) {
	if err := checkPAN(pan, 1); err != nil {
		return nil, err
	}
	psn, err := normalizePSN(psn)
	if err != nil {
		return nil, err
	}
	if opt == MKDAuto {
		opt = MKDOptionA
		if len(pan) > 16 {
			opt = MKDOptionB
		}
	}
	digits := pan + psn
	switch {
	case opt == MKDOptionA || len(pan) <= 16:
		if len(digits) > 16 {
			digits = digits[len(digits)-16:]
		}
		for len(digits) < 16 {
			digits = "0" + digits
		}
		return hexDigitsToBytes(digits), nil
	case opt == MKDOptionB:
		if len(digits)%2 != 0 {
			digits = "0" + digits
		}
		sum := sha1.Sum(hexDigitsToBytes(digits))
		return hexDigitsToBytes(decimalizeSHA1(hex.EncodeToString(sum[:]))), nil
	default:
		return nil, fmt.Errorf("%w: derivation option %d", ErrUnsupported, int(opt))
	}
}

// decimalizeSHA1 takes the decimal digits of h in order; if fewer than 16,
// it continues with the letters a-f of h converted to 0-5 (Book 2 A1.4.2).
func decimalizeSHA1(h string) string {
	out := make([]byte, 0, 16)
	for i := 0; i < len(h) && len(out) < 16; i++ {
		if h[i] >= '0' && h[i] <= '9' {
			out = append(out, h[i])
		}
	}
	for i := 0; i < len(h) && len(out) < 16; i++ {
		if h[i] >= 'a' && h[i] <= 'f' {
			out = append(out, h[i]-'a'+'0')
		}
	}
	return string(out)
}

// checkPAN validates a PAN of minLen to 19 digits (ISO/IEC 7812 allows 8 to
// 19; some algorithms need more).
func checkPAN(pan string, minLen int) error {
	if minLen < 8 {
		minLen = 8
	}
	if len(pan) < minLen || len(pan) > 19 || !digit.All(pan) {
		return fmt.Errorf("%w: must be %d to 19 decimal digits (got %d characters)", ErrPAN, minLen, len(pan))
	}
	return nil
}

// normalizePSN returns the 2-digit PAN sequence number: "" becomes "00",
// and the ISO 8583 field 23 form "0nn" becomes "nn".
func normalizePSN(psn string) (string, error) {
	switch {
	case psn == "":
		return "00", nil
	case len(psn) == 2 && digit.All(psn):
		return psn, nil
	case len(psn) == 3 && psn[0] == '0' && digit.All(psn):
		return psn[1:], nil
	default:
		return "", digitsError("PAN sequence number", len(psn), "2 (or field 23's 3)")
	}
}

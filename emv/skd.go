package emv

import (
	"crypto/cipher"
	"fmt"
)

// SessionKeyDerivation names how a per-transaction key is derived from an
// ICC master key.
type SessionKeyDerivation string

// Session key derivations.
const (
	// SKDNone uses the ICC master key itself (Visa CVN 10 cryptograms).
	SKDNone SessionKeyDerivation = "none"
	// SKDCommon is the EMV common session key derivation (EMV 4.4 Book 2,
	// A1.3.1) with R = ATC || 00 00 00 00 00 00: SK = TDES_MK(R with
	// byte 3 = F0) || TDES_MK(R with byte 3 = 0F). Visa CVN 18 and 22 and
	// Mastercard CVN 20 and 21 use it for the AC key.
	SKDCommon SessionKeyDerivation = "emv-csk"
	// SKDMastercard is the Mastercard proprietary session key derivation of
	// M/Chip (CVN 16, 17): the common derivation with
	// R = ATC || 00 00 || UN, so that SK = TDES_MK(ATC||F0||00||UN) ||
	// TDES_MK(ATC||0F||00||UN).
	SKDMastercard SessionKeyDerivation = "mastercard-skd"
	// SKDVisaSM is the Visa secure messaging derivation (VIS, used for the
	// MAC and encryption keys of issuer scripts on CVN 10, 18 and 22): the
	// left half of the ICC master key XOR 00..00 || ATC, the right half XOR
	// 00..00 || (ATC xor FFFF). It is not used for cryptograms.
	SKDVisaSM SessionKeyDerivation = "visa-sm"
	// SKDCommonARQC is the common derivation with R = ARQC, the
	// Mastercard secure messaging key derivation for issuer scripts.
	SKDCommonARQC SessionKeyDerivation = "emv-csk-arqc"
	// SKDUnionPay is the UnionPay (UICS / PBOC debit/credit, TDES)
	// session key derivation: SK = TDES_MK(00 00 00 00 00 00 || ATC) ||
	// TDES_MK(00 00 00 00 00 00 || (ATC xor FFFF)). UnionPay CVN 01 uses
	// it for the AC key (and the ARPC) and, by the same rule, for the
	// issuer-script keys from MK-SMI and MK-SMC.
	SKDUnionPay SessionKeyDerivation = "unionpay-skd"
)

// DeriveCommonSessionKey is the EMV common session key derivation (Book 2
// A1.3.1) for any 8-byte diversification value R: SK = TDES_MK(R0 R1 F0 R3
// .. R7) || TDES_MK(R0 R1 0F R3 .. R7), with odd parity.
func DeriveCommonSessionKey(iccMK, r []byte) (SecretBytes, error) {
	b, err := newDoubleTDES("ICC master key", iccMK)
	if err != nil {
		return nil, fmt.Errorf("deriving session key: %w", err)
	}
	if len(r) != 8 {
		return nil, fmt.Errorf("deriving session key: %w", lengthError("diversification value R", len(r), "8"))
	}
	return commonSK(b, r), nil
}

func commonSK(mk cipher.Block, r []byte) SecretBytes {
	out := make([]byte, 16)
	var f [8]byte
	copy(f[:], r)
	f[2] = 0xF0
	mk.Encrypt(out[:8], f[:])
	f[2] = 0x0F
	mk.Encrypt(out[8:], f[:])
	k := AdjustParity(out)
	clear(out)
	return k
}

// DeriveSessionKeyEMV derives the EMV common session key from the 2-byte
// ATC (tag 9F36): R = ATC || 00 00 00 00 00 00.
func DeriveSessionKeyEMV(iccMK, atc []byte) (SecretBytes, error) {
	return DeriveSessionKey(SKDCommon, iccMK, atc, nil)
}

// DeriveSessionKeyMastercard derives the Mastercard M/Chip session key from
// the 2-byte ATC (9F36) and the 4-byte unpredictable number (9F37):
// R = ATC || 00 00 || UN.
func DeriveSessionKeyMastercard(iccMK, atc, un []byte) (SecretBytes, error) {
	return DeriveSessionKey(SKDMastercard, iccMK, atc, un)
}

// DeriveSessionKeyUnionPay derives the UnionPay (UICS / PBOC) session key
// from the 2-byte ATC: TDES_MK(00..00 || ATC) || TDES_MK(00..00 || ~ATC).
func DeriveSessionKeyUnionPay(iccMK, atc []byte) (SecretBytes, error) {
	return DeriveSessionKey(SKDUnionPay, iccMK, atc, nil)
}

// unionPaySK is SKDUnionPay under an expanded ICC master key, with odd
// parity.
func unionPaySK(mk cipher.Block, atc []byte) SecretBytes {
	out := make([]byte, 16)
	var in [8]byte
	in[6], in[7] = atc[0], atc[1]
	mk.Encrypt(out[:8], in[:])
	in[6], in[7] = atc[0]^0xFF, atc[1]^0xFF
	mk.Encrypt(out[8:], in[:])
	k := AdjustParity(out)
	clear(out)
	return k
}

// DeriveSessionKeyVisaSM derives the Visa secure messaging session key from
// the ICC MK-SMI or MK-SMC and the 2-byte ATC.
func DeriveSessionKeyVisaSM(iccMK, atc []byte) (SecretBytes, error) {
	return DeriveSessionKey(SKDVisaSM, iccMK, atc, nil)
}

// DeriveSessionKey derives the session key of method m from a 16-byte ICC
// master key. atc is the 2-byte ATC (9F36). un is the 4-byte unpredictable
// number (9F37) for SKDMastercard, or the 8-byte ARQC for SKDCommonARQC;
// other methods ignore it. SKDNone returns a copy of the master key.
func DeriveSessionKey(m SessionKeyDerivation, iccMK, atc, un []byte) (SecretBytes, error) {
	if len(iccMK) != 16 {
		return nil, fmt.Errorf("deriving session key: %w", keyLengthError("ICC master key", len(iccMK), "16"))
	}
	needATC := m == SKDCommon || m == SKDMastercard || m == SKDVisaSM || m == SKDUnionPay
	if needATC && len(atc) != 2 {
		return nil, fmt.Errorf("deriving session key: %w", lengthError("ATC", len(atc), "2"))
	}
	r := make([]byte, 8)
	switch m {
	case SKDNone:
		return append(SecretBytes(nil), iccMK...), nil
	case SKDCommon:
		copy(r, atc)
	case SKDMastercard:
		if len(un) != 4 {
			return nil, fmt.Errorf("deriving session key: %w", lengthError("unpredictable number", len(un), "4"))
		}
		copy(r, atc)
		copy(r[4:], un)
	case SKDCommonARQC:
		if len(un) != 8 {
			return nil, fmt.Errorf("deriving session key: %w", lengthError("ARQC", len(un), "8"))
		}
		copy(r, un)
	case SKDUnionPay:
		b, err := newDoubleTDES("ICC master key", iccMK)
		if err != nil {
			return nil, fmt.Errorf("deriving session key: %w", err)
		}
		return unionPaySK(b, atc), nil
	case SKDVisaSM:
		sk := make([]byte, 16)
		copy(sk, iccMK)
		sk[6] ^= atc[0]
		sk[7] ^= atc[1]
		sk[14] ^= atc[0] ^ 0xFF
		sk[15] ^= atc[1] ^ 0xFF
		k := AdjustParity(sk)
		clear(sk)
		return k, nil
	default:
		return nil, fmt.Errorf("deriving session key: %w: method %q", ErrUnsupported, string(m))
	}
	return DeriveCommonSessionKey(iccMK, r)
}

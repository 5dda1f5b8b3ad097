package emv

import "fmt"

// IAD is issuer application data (tag 9F10) split into the fields the host
// uses. Slices alias the input.
type IAD struct {
	Format   int    // Visa IAD format: 0 for formats 0/1/3 (first byte 06), 2 for formats 2/4 (first byte 1F); 0 for Mastercard
	DKI      byte   // derivation key index
	CVN      byte   // cryptogram version number byte (see LookupCVNCode)
	CVR      []byte // card verification results: Visa 3 bytes (format 0/1/3) or 5 (format 2/4), Mastercard 6
	Counters []byte // Mastercard bytes 11-18 (offline counters) when present, else nil
	// Algorithm is UnionPay's algorithm identifier (byte 8):
	// UnionPayAlgorithmTDES or UnionPayAlgorithmSM4; 0 for other schemes.
	Algorithm byte
}

// UnionPay algorithm identifiers (9F10 byte 8, PBOC 3.0 / UICS): which
// block cipher the card's cryptograms use.
const (
	UnionPayAlgorithmTDES byte = 0x01 // triple DES: UnionPay CVN 01 of the registry
	UnionPayAlgorithmSM4  byte = 0x04 // SM4 (GB/T 32907): not supported, see docs/crypto.md
)

// ParseIAD splits 9F10 by the scheme's layout:
//
//   - Visa formats 0, 1, 3 (VIS 1.5 Appendix D, first byte 06): length of
//     the Visa discretionary data (06), DKI, CVN, CVR length (03), CVR.
//   - Visa formats 2, 4 (VIS 1.6, first byte 1F, 32 bytes): length (1F),
//     CVN, DKI, CVR (5 bytes), then issuer discretionary data.
//   - Mastercard M/Chip: DKI, CVN, CVR (6 bytes), DAC/IDN (2), and
//     optionally counters (8) and further proprietary data.
//   - UnionPay (UICS / PBOC debit/credit, first byte 07): length (07),
//     DKI, CVN, CVR length (03), CVR (3 bytes), algorithm identifier,
//     then optionally issuer discretionary data (its own length byte
//     first).
//
// Anything shorter or inconsistent gives ErrIAD. The error never contains
// the data.
func ParseIAD(scheme string, iad []byte) (IAD, error) {
	s, err := ParseScheme(scheme)
	if err != nil {
		return IAD{}, fmt.Errorf("parsing issuer application data: %w", err)
	}
	switch s {
	case SchemeVisa:
		switch {
		case len(iad) >= 7 && iad[0] == 0x06:
			n := int(iad[3])
			if n == 0 || 4+n > 7 {
				return IAD{}, fmt.Errorf("parsing issuer application data: %w: Visa CVR length %d", ErrIAD, n)
			}
			return IAD{Format: 0, DKI: iad[1], CVN: iad[2], CVR: iad[4 : 4+n]}, nil
		case len(iad) == 32 && iad[0] == 0x1F:
			return IAD{Format: 2, CVN: iad[1], DKI: iad[2], CVR: iad[3:8]}, nil
		default:
			return IAD{}, fmt.Errorf("parsing issuer application data: %w: Visa 9F10 of %d bytes is neither format 0/1/3 nor 2/4", ErrIAD, len(iad))
		}
	case SchemeUnionPay:
		if len(iad) < 8 || iad[0] != 0x07 || iad[3] != 0x03 {
			return IAD{}, fmt.Errorf("parsing issuer application data: %w: UnionPay 9F10 of %d bytes does not start with 07, DKI, CVN, 03", ErrIAD, len(iad))
		}
		return IAD{DKI: iad[1], CVN: iad[2], CVR: iad[4:7], Algorithm: iad[7]}, nil
	default: // Mastercard
		if len(iad) < 8 {
			return IAD{}, fmt.Errorf("parsing issuer application data: %w: Mastercard 9F10 is %d bytes, want at least 8", ErrIAD, len(iad))
		}
		out := IAD{DKI: iad[0], CVN: iad[1], CVR: iad[2:8]}
		if len(iad) >= 18 {
			out.Counters = iad[10:18]
		}
		return out, nil
	}
}

// CryptogramType is the kind of an application cryptogram (EMV Book 3
// section 6.5.5.4): bits 8-7 of the cryptogram information data (9F27).
type CryptogramType byte

// Cryptogram types.
const (
	AAC  CryptogramType = 0 // application authentication cryptogram: the card declined
	TC   CryptogramType = 1 // transaction certificate: the card approved offline
	ARQC CryptogramType = 2 // authorization request cryptogram: the card asks the issuer
)

// CIDType returns the cryptogram type a 9F27 byte states (bits 8-7; the
// value 3, RFU, is none of the constants).
func CIDType(cid byte) CryptogramType { return CryptogramType(cid >> 6) }

// FirstACType returns the cryptogram type the card's CVR says it returned
// in the first GENERATE AC: bits 6-5 of the CVR's first byte in the Visa
// layouts (VIS 1.5 Appendix D, VIS 1.6 format 2), in M/Chip's and in
// UnionPay's (whose CVR follows VIS). Unlike
// 9F27, the CVR is part of the cryptogram input of every registered CVN,
// so a cryptogram that verifies cannot lie about it. An IAD without CVR
// gives the RFU value 3.
func (i IAD) FirstACType() CryptogramType {
	if len(i.CVR) == 0 {
		return 3
	}
	return CryptogramType(i.CVR[0] >> 4 & 0x03)
}

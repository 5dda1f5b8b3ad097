package emv

import (
	"crypto/cipher"
	"crypto/subtle"
	"fmt"
	"log/slog"
)

// ApplicationCryptogram computes an EMV application cryptogram (ARQC, TC or
// AAC; EMV Book 2 8.1.2 and A1.2.1): ISO/IEC 9797-1 MAC algorithm 3 with
// DES over data padded with method p, under a 16-byte key (the AC session
// key, or the ICC master key for Visa CVN 10). Result: 8 bytes.
func ApplicationCryptogram(key, data []byte, p Padding) ([]byte, error) {
	return paddedRetailMAC("computing application cryptogram", "AC key", "16", key, data, p)
}

// ACKey returns the key that computes c's cryptograms for one transaction:
// the ICC master key (SKDNone) or the session key derived from it with the
// ATC (9F36) and, for the Mastercard SKD, the unpredictable number (9F37).
func ACKey[K ~uint32](c CVN, iccMK []byte, tags map[K][]byte) (SecretBytes, error) {
	mk, err := newDoubleTDES("ICC master key", iccMK)
	if err != nil {
		return nil, fmt.Errorf("deriving AC key: %w", err)
	}
	if c.ACSessionKey == SKDNone {
		return append(SecretBytes(nil), iccMK...), nil
	}
	k, err := acSessionKey(c, mk, tags)
	if err != nil {
		return nil, fmt.Errorf("deriving AC key: %w", err)
	}
	return k, nil
}

// acSessionKey derives c's AC session key under the expanded ICC master
// key: the common derivation with R = ATC || 00..00 (EMV CSK) or
// ATC || 00 00 || UN (Mastercard SKD), or the UnionPay derivation from the
// ATC and its complement.
func acSessionKey[K ~uint32](c CVN, mk cipher.Block, tags map[K][]byte) (SecretBytes, error) {
	atc, err := element(tags, TagATC, 2)
	if err != nil {
		return nil, err
	}
	r := make([]byte, 8)
	copy(r, atc)
	switch c.ACSessionKey {
	case SKDCommon:
	case SKDMastercard:
		un, err := element(tags, TagUnpredictableNum, 4)
		if err != nil {
			return nil, err
		}
		copy(r[4:], un)
	case SKDUnionPay:
		return unionPaySK(mk, atc), nil
	default:
		return nil, fmt.Errorf("%w: AC session key derivation %q", ErrUnsupported, string(c.ACSessionKey))
	}
	return commonSK(mk, r), nil
}

// ACSession is one transaction's cryptogram context for a card: the AC
// input built from the chip data and the card's keys, derived and expanded
// once, so that verifying the ARQC and answering with the ARPC cost one key
// expansion each instead of one per call. It holds key schedules: keep it
// only for the transaction, and do not share it beyond the goroutine that
// verifies and answers (its methods are safe for concurrent use, but it is
// secret material). Its String, GoString and LogValue never show keys.
type ACSession struct {
	cvn  CVN
	mk   *tdes2 // ICC master key
	ac   *tdes2 // AC key: session key, or mk for SKDNone
	data []byte // padded AC input
	arqc []byte // 9F26 when present
}

// NewACSession derives and expands the keys of CVN c for one transaction
// from a 16-byte ICC master key (MK-AC) and the chip data (tag -> value, as
// decoded from field 55), and builds the cryptogram input. Missing or
// malformed data gives a *TagError; the ARQC (9F26) is needed only by
// VerifyARQC and GenerateARPC.
func NewACSession[K ~uint32](c CVN, iccMK []byte, tags map[K][]byte) (*ACSession, error) {
	mk, err := newDoubleTDES("ICC master key", iccMK)
	if err != nil {
		return nil, fmt.Errorf("preparing %v cryptogram: %w", c, err)
	}
	data, err := ACInput(c, tags)
	if err != nil {
		return nil, fmt.Errorf("preparing %v cryptogram: %w", c, err)
	}
	padded, err := Pad(data, c.Padding, 8)
	if err != nil {
		return nil, fmt.Errorf("preparing %v cryptogram: %w", c, err)
	}
	s := &ACSession{cvn: c, mk: mk, ac: mk, data: padded}
	if c.ACSessionKey != SKDNone {
		key, err := acSessionKey(c, mk, tags)
		if err != nil {
			return nil, fmt.Errorf("preparing %v cryptogram: %w", c, err)
		}
		s.ac = newTDES2(key)
		key.Wipe()
	}
	if v, ok := tags[K(TagCryptogram)]; ok {
		s.arqc = append([]byte(nil), v...)
	}
	return s, nil
}

// CVN returns the session's cryptogram version.
func (s *ACSession) CVN() CVN { return s.cvn }

// GenerateAC returns the 8-byte application cryptogram for the session's
// data: what a genuine card computes.
func (s *ACSession) GenerateAC() []byte { return s.ac.retailMAC(s.data) }

// VerifyARQC compares the card's ARQC (9F26) with GenerateAC in constant
// time. A mismatch is (false, nil); a missing or malformed 9F26 is an error.
func (s *ACSession) VerifyARQC() (bool, error) {
	if len(s.arqc) != 8 {
		return false, fmt.Errorf("verifying %v ARQC: %w", s.cvn, s.arqcError())
	}
	return subtle.ConstantTimeCompare(s.arqc, s.GenerateAC()) == 1, nil
}

// GenerateARPC computes the ARPC over the card's ARQC (9F26) with the
// method and key of the session's CVN (see the package-level GenerateARPC).
func (s *ACSession) GenerateARPC(in ARPCInput) ([]byte, error) {
	if len(s.arqc) != 8 {
		return nil, fmt.Errorf("generating %v ARPC: %w", s.cvn, s.arqcError())
	}
	key := s.ac
	switch s.cvn.ARPCKey {
	case ARPCKeyICCMaster:
		key = s.mk
	case ARPCKeySessionKey:
	default:
		return nil, fmt.Errorf("generating %v ARPC: %w: ARPC key %q", s.cvn, ErrUnsupported, string(s.cvn.ARPCKey))
	}
	var arpc []byte
	var err error
	switch s.cvn.ARPCMethod {
	case 1:
		arpc, err = arpcMethod1(key, s.arqc, in.ARC)
	case 2:
		arpc, err = arpcMethod2(key, s.arqc, in.CSU, in.ProprietaryData)
	default:
		err = fmt.Errorf("%w: ARPC method %d", ErrUnsupported, s.cvn.ARPCMethod)
	}
	if err != nil {
		return nil, fmt.Errorf("generating %v ARPC: %w", s.cvn, err)
	}
	return arpc, nil
}

func (s *ACSession) arqcError() error {
	if s.arqc == nil {
		return &TagError{Tag: TagCryptogram, Err: ErrMissingTag}
	}
	return &TagError{Tag: TagCryptogram, Got: len(s.arqc), Want: "8", Err: ErrLength}
}

// String names the CVN and nothing else.
func (s *ACSession) String() string { return "emv.ACSession(" + s.cvn.String() + ")" }

// GoString names the CVN and nothing else (for %#v).
func (s *ACSession) GoString() string { return s.String() }

// LogValue implements slog.LogValuer without key material.
func (s *ACSession) LogValue() slog.Value { return slog.StringValue(s.String()) }

// GenerateAC computes the application cryptogram a card of CVN c would
// produce for the chip data in tags: the cryptogram input of ACInput,
// padded per c, MACed under the AC key of ACKey. The terminal simulator
// uses it to act as a card; the host uses VerifyARQC.
func GenerateAC[K ~uint32](c CVN, iccMK []byte, tags map[K][]byte) ([]byte, error) {
	s, err := NewACSession(c, iccMK, tags)
	if err != nil {
		return nil, err
	}
	return s.GenerateAC(), nil
}

// VerifyARQC recomputes the cryptogram for the chip data in tags and
// compares it in constant time with the ARQC the card sent (9F26). A
// mismatch is a result (false, nil): the host declines with arqc_invalid.
// Missing or malformed data is an error. To verify and later answer with an
// ARPC without deriving the keys twice, use NewACSession.
func VerifyARQC[K ~uint32](c CVN, iccMK []byte, tags map[K][]byte) (bool, error) {
	s, err := NewACSession(c, iccMK, tags)
	if err != nil {
		return false, err
	}
	return s.VerifyARQC()
}

// ARPCMethod1 computes an 8-byte ARPC with EMV Book 2 8.2.1 method 1:
// TDES_key(ARQC xor (ARC || 00 00 00 00 00 00)), for a 16-byte key, the
// 8-byte ARQC and the 2-byte authorisation response code.
func ARPCMethod1(key, arqc, arc []byte) ([]byte, error) {
	b, err := newDoubleTDES("ARPC key", key)
	if err != nil {
		return nil, fmt.Errorf("computing ARPC method 1: %w", err)
	}
	arpc, err := arpcMethod1(b, arqc, arc)
	if err != nil {
		return nil, fmt.Errorf("computing ARPC method 1: %w", err)
	}
	return arpc, nil
}

func arpcMethod1(key cipher.Block, arqc, arc []byte) ([]byte, error) {
	if len(arqc) != 8 {
		return nil, lengthError("ARQC", len(arqc), "8")
	}
	if len(arc) != 2 {
		return nil, lengthError("ARC", len(arc), "2")
	}
	x := make([]byte, 8)
	copy(x, arqc)
	x[0] ^= arc[0]
	x[1] ^= arc[1]
	key.Encrypt(x, x)
	return x, nil
}

// ARPCMethod2 computes a 4-byte ARPC with EMV Book 2 8.2.2 method 2: the
// leftmost 4 bytes of ISO/IEC 9797-1 MAC algorithm 3 (padding method 2)
// over ARQC (8) || CSU (4) || proprietary authentication data (0-8 bytes),
// under a 16-byte key.
func ARPCMethod2(key, arqc, csu, proprietary []byte) ([]byte, error) {
	if len(key) != 16 {
		return nil, fmt.Errorf("computing ARPC method 2: %w", keyLengthError("ARPC key", len(key), "16"))
	}
	arpc, err := arpcMethod2(newTDES2(key), arqc, csu, proprietary)
	if err != nil {
		return nil, fmt.Errorf("computing ARPC method 2: %w", err)
	}
	return arpc, nil
}

func arpcMethod2(key *tdes2, arqc, csu, proprietary []byte) ([]byte, error) {
	if len(arqc) != 8 {
		return nil, lengthError("ARQC", len(arqc), "8")
	}
	if len(csu) != 4 {
		return nil, lengthError("CSU", len(csu), "4")
	}
	if len(proprietary) > 8 {
		return nil, lengthError("proprietary authentication data", len(proprietary), "0-8")
	}
	data := make([]byte, 0, 24)
	data = append(data, arqc...)
	data = append(data, csu...)
	data = append(data, proprietary...)
	padded, _ := Pad(data, PaddingMethod2, 8)
	return key.retailMAC(padded)[:4], nil
}

// ARPCInput is the issuer's answer the ARPC authenticates: the ARC for
// method 1, the CSU and optional proprietary data for method 2.
type ARPCInput struct {
	ARC             []byte // 2-byte authorisation response code (method 1), e.g. ARC("00")
	CSU             []byte // 4-byte card status update (method 2), e.g. CSU(true)
	ProprietaryData []byte // 0-8 bytes of proprietary authentication data (method 2)
}

// ARC returns the 2-byte authorisation response code for an ISO 8583
// response code: its two ASCII characters ("00" is 3030), as DESIGN.md
// specifies for tag 91.
func ARC(responseCode string) []byte { return []byte(responseCode) }

// CSU returns the 4-byte card status update DESIGN.md specifies for ARPC
// method 2: 00800000 (byte 2 bit 8, issuer approves) on approval and
// 00000000 on decline, with no other update requested.
func CSU(approved bool) []byte {
	if approved {
		return []byte{0x00, 0x80, 0x00, 0x00}
	}
	return []byte{0x00, 0x00, 0x00, 0x00}
}

// GenerateARPC computes the ARPC for CVN c: method and key come from the
// registry (DESIGN.md: Visa CVN 10 method 1 with the ICC master key; Visa 18
// and 22 method 2 with the session key; Mastercard 16 and 17 method 1 with
// the ICC master key; Mastercard 20 and 21 and UnionPay 1 method 1 with the
// session key).
// tags supplies the ARQC (9F26) and the data the session key needs.
func GenerateARPC[K ~uint32](c CVN, iccMK []byte, tags map[K][]byte, in ARPCInput) ([]byte, error) {
	s, err := NewACSession(c, iccMK, tags)
	if err != nil {
		return nil, err
	}
	return s.GenerateARPC(in)
}

// IssuerAuthenticationData returns the value of tag 91 for CVN c: ARPC ||
// ARC (method 1, 10 bytes) or ARPC || CSU || proprietary data (method 2,
// 8 to 16 bytes).
func IssuerAuthenticationData(c CVN, arpc []byte, in ARPCInput) ([]byte, error) {
	switch c.ARPCMethod {
	case 1:
		if len(arpc) != 8 || len(in.ARC) != 2 {
			return nil, fmt.Errorf("building issuer authentication data: %w: method 1 needs an 8-byte ARPC and a 2-byte ARC", ErrLength)
		}
		return append(append(make([]byte, 0, 10), arpc...), in.ARC...), nil
	case 2:
		if len(arpc) != 4 || len(in.CSU) != 4 || len(in.ProprietaryData) > 8 {
			return nil, fmt.Errorf("building issuer authentication data: %w: method 2 needs a 4-byte ARPC, a 4-byte CSU and at most 8 bytes of proprietary data", ErrLength)
		}
		out := append(make([]byte, 0, 16), arpc...)
		out = append(out, in.CSU...)
		return append(out, in.ProprietaryData...), nil
	default:
		return nil, fmt.Errorf("building issuer authentication data: %w: ARPC method %d", ErrUnsupported, c.ARPCMethod)
	}
}

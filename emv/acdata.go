package emv

import (
	"fmt"
	"strconv"
)

// EMV tags of the data elements the cryptogram functions read.
const (
	TagAmountAuthorised   uint32 = 0x9F02 // n12, 6 bytes
	TagAmountOther        uint32 = 0x9F03 // n12, 6 bytes
	TagTerminalCountry    uint32 = 0x9F1A // n3, 2 bytes
	TagTVR                uint32 = 0x95   // terminal verification results, 5 bytes
	TagCurrency           uint32 = 0x5F2A // n3, 2 bytes
	TagTransactionDate    uint32 = 0x9A   // YYMMDD, 3 bytes
	TagTransactionType    uint32 = 0x9C   // 1 byte
	TagUnpredictableNum   uint32 = 0x9F37 // 4 bytes
	TagAIP                uint32 = 0x82   // application interchange profile, 2 bytes
	TagATC                uint32 = 0x9F36 // application transaction counter, 2 bytes
	TagIAD                uint32 = 0x9F10 // issuer application data, up to 32 bytes
	TagCryptogram         uint32 = 0x9F26 // application cryptogram (ARQC), 8 bytes
	TagIssuerAuthData     uint32 = 0x91   // issuer authentication data (ARPC), response
	TagCryptogramInfoData uint32 = 0x9F27 // cryptogram information data, 1 byte
)

// standardACElements are the ten data elements every registered CVN puts
// first in its cryptogram input, in order, with their fixed lengths.
var standardACElements = [...]struct {
	tag uint32
	n   int
}{
	{TagAmountAuthorised, 6},
	{TagAmountOther, 6},
	{TagTerminalCountry, 2},
	{TagTVR, 5},
	{TagCurrency, 2},
	{TagTransactionDate, 3},
	{TagTransactionType, 1},
	{TagUnpredictableNum, 4},
	{TagAIP, 2},
	{TagATC, 2},
}

// ACInput builds the unpadded application cryptogram input for CVN c from
// the chip data of a request (tag -> value, as decoded from ISO 8583 field
// 55): the ten standard elements followed by the part of 9F10 that c.ACData
// names. A missing or wrong-length element gives a *TagError wrapping
// ErrMissingTag or ErrLength. K is uint32 or any type based on it, such as
// the tlv package's tag type.
func ACInput[K ~uint32](c CVN, tags map[K][]byte) ([]byte, error) {
	out := make([]byte, 0, 33+32)
	for _, e := range standardACElements {
		v, err := element(tags, e.tag, e.n)
		if err != nil {
			return nil, fmt.Errorf("building cryptogram input: %w", err)
		}
		out = append(out, v...)
	}
	iad, ok := tags[K(TagIAD)]
	if !ok {
		return nil, fmt.Errorf("building cryptogram input: %w", &TagError{Tag: TagIAD, Err: ErrMissingTag})
	}
	part, err := iadPart(c.ACData, iad)
	if err != nil {
		return nil, fmt.Errorf("building cryptogram input: %w", err)
	}
	return append(out, part...), nil
}

// iadPart returns the bytes of 9F10 the layout puts in the cryptogram input.
func iadPart(layout ACData, iad []byte) ([]byte, error) {
	switch layout {
	case ACDataVisaCVR:
		if len(iad) < 7 {
			return nil, &TagError{Tag: TagIAD, Got: len(iad), Want: "7-32", Err: ErrLength}
		}
		return iad[3:7], nil
	case ACDataIAD:
		if len(iad) < 1 || len(iad) > 32 {
			return nil, &TagError{Tag: TagIAD, Got: len(iad), Want: "1-32", Err: ErrLength}
		}
		return iad, nil
	case ACDataMastercardCVR:
		if len(iad) < 8 {
			return nil, &TagError{Tag: TagIAD, Got: len(iad), Want: "8-32", Err: ErrLength}
		}
		return iad[2:8], nil
	case ACDataMastercardCVRCounters:
		if len(iad) < 18 {
			return nil, &TagError{Tag: TagIAD, Got: len(iad), Want: "18-32", Err: ErrLength}
		}
		part := make([]byte, 0, 14)
		part = append(part, iad[2:8]...)
		return append(part, iad[10:18]...), nil
	default:
		return nil, fmt.Errorf("%w: cryptogram input layout %q", ErrUnsupported, string(layout))
	}
}

// element returns tags[tag], which must be exactly n bytes long.
func element[K ~uint32](tags map[K][]byte, tag uint32, n int) ([]byte, error) {
	v, ok := tags[K(tag)]
	if !ok {
		return nil, &TagError{Tag: tag, Err: ErrMissingTag}
	}
	if len(v) != n {
		return nil, &TagError{Tag: tag, Got: len(v), Want: strconv.Itoa(n), Err: ErrLength}
	}
	return v, nil
}

// MatchesIAD reports whether the cryptogram version byte in 9F10 is c's.
// A card whose 9F10 names another CVN than its record is a decline
// (cvn_mismatch), not an error; malformed 9F10 is an error wrapping ErrIAD.
func (c CVN) MatchesIAD(iad []byte) (bool, error) {
	p, err := ParseIAD(string(c.Scheme), iad)
	if err != nil {
		return false, err
	}
	return c.Names(p), nil
}

// Names reports whether parsed issuer application data names c: its
// cryptogram version byte is c's and, for UnionPay, its algorithm
// identifier is TDES (an SM4 card names a cryptogram version the registry
// does not have).
func (c CVN) Names(p IAD) bool {
	if p.CVN != c.Code {
		return false
	}
	return c.Scheme != SchemeUnionPay || p.Algorithm == UnionPayAlgorithmTDES
}

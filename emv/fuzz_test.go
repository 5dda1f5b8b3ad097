package emv

import (
	"encoding/binary"
	"errors"
	"testing"
)

// FuzzIAD feeds arbitrary issuer application data (9F10 comes from the
// network) to ParseIAD and to the cryptogram path of every CVN: nothing may
// panic, and every failure must be one of the package's errors.
func FuzzIAD(f *testing.F) {
	for _, s := range []string{
		"06010A03A06010", "06011203A0B800", "0110A00003220000000000000000000000FF",
		"0111A00003220000000000000000000322FF", "06010A00", "060100FF000000", "1F22", "",
	} {
		b, _ := DecodeHex(s)
		f.Add(b)
	}
	mk := make([]byte, 16)
	f.Fuzz(func(t *testing.T, iad []byte) {
		for _, scheme := range []string{"visa", "mastercard"} {
			if _, err := ParseIAD(scheme, iad); err != nil && !errors.Is(err, ErrIAD) {
				t.Fatalf("ParseIAD error %v is not ErrIAD", err)
			}
		}
		tags := map[uint32][]byte{}
		for _, e := range standardACElements {
			tags[e.tag] = make([]byte, e.n)
		}
		tags[TagIAD] = iad
		tags[TagCryptogram] = make([]byte, 8)
		for _, c := range CVNs() {
			s, err := NewACSession(c, mk, tags)
			if err != nil {
				if !errors.Is(err, ErrLength) {
					t.Fatalf("%v: NewACSession error %v is not ErrLength", c, err)
				}
				continue
			}
			if _, err := s.VerifyARQC(); err != nil {
				t.Fatalf("%v: VerifyARQC: %v", c, err)
			}
			if _, err := c.MatchesIAD(iad); err != nil && !errors.Is(err, ErrIAD) {
				t.Fatalf("%v: MatchesIAD error %v", c, err)
			}
		}
	})
}

// FuzzDES compares cardhost's DES (emv/internal/dea) with crypto/des:
// NewTDES with single, double- and triple-length keys made of k1, k2 and
// k3 enciphers and deciphers block as crypto/des does, and MAC algorithm 3
// agrees with the same steps on crypto/des.
func FuzzDES(f *testing.F) {
	f.Add(uint64(0x0123456789ABCDEF), uint64(0xFEDCBA9876543210), uint64(0x89ABCDEF01234567), uint64(0x4E6F772069732074))
	f.Add(uint64(0x0101010101010101), uint64(0x0101010101010101), uint64(0x0101010101010101), uint64(0x8000000000000000))
	f.Add(uint64(0), uint64(^uint64(0)), uint64(0), uint64(0))
	f.Add(uint64(0x7CA110454A1A6E57), uint64(0x0131D9619DC1376E), uint64(0x07A1133E4A0B2686), uint64(0x01A1D6D039776742))
	f.Fuzz(func(t *testing.T, k1, k2, k3, block uint64) {
		b := func(x uint64) []byte { return binary.BigEndian.AppendUint64(nil, x) }
		checkTDESAgainstStdlib(t, b(k1), b(k2), b(k3), b(block))
	})
}

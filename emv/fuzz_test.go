package emv

import (
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

package emv

import (
	"errors"
	"testing"
)

func TestNetworks(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		network Network
		scheme  Scheme
		rid     string
	}{
		{"Visa", "VISA", NetworkVisa, SchemeVisa, "A000000003"},
		{"Visa by scheme", " visa ", NetworkVisa, SchemeVisa, "A000000003"},
		{"Mastercard", "MASTERCARD", NetworkMastercard, SchemeMastercard, "A000000004"},
		{"Mastercard by alias", "mc", NetworkMastercard, SchemeMastercard, "A000000004"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := ParseNetwork(tc.in)
			if err != nil || n != tc.network || n.Scheme() != tc.scheme || n.RID() != tc.rid || !n.Valid() {
				t.Fatalf("ParseNetwork(%q) = %q (%q, %q), %v", tc.in, n, n.Scheme(), n.RID(), err)
			}
			if s, err := ParseScheme(tc.in); err != nil || s != tc.scheme {
				t.Fatalf("ParseScheme(%q) = %q, %v", tc.in, s, err)
			}
		})
	}
	for _, bad := range []string{"", "AMEX", "visa card"} {
		if _, err := ParseNetwork(bad); !errors.Is(err, ErrUnknownCVN) {
			t.Errorf("ParseNetwork(%q) err = %v", bad, err)
		}
		if _, err := ParseScheme(bad); !errors.Is(err, ErrUnknownCVN) {
			t.Errorf("ParseScheme(%q) err = %v", bad, err)
		}
	}
	if c, err := NetworkMastercard.CVN(21); err != nil || c.Scheme != SchemeMastercard || c.Code != 0x15 {
		t.Fatalf("Mastercard CVN 21 = %v, %v", c, err)
	}
	if _, err := Network("AMEX").CVN(18); !errors.Is(err, ErrUnknownCVN) || Network("AMEX").Valid() || Network("visa").Valid() {
		t.Fatalf("an unsupported network: %v", err)
	}
	if _, err := NetworkVisa.CVN(16); !errors.Is(err, ErrUnknownCVN) {
		t.Fatalf("Visa CVN 16: %v", err)
	}
}

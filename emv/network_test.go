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
		{"UnionPay", "UNIONPAY", NetworkUnionPay, SchemeUnionPay, "A000000333"},
		{"UnionPay by scheme", "unionpay", NetworkUnionPay, SchemeUnionPay, "A000000333"},
		{"UnionPay by alias", " UPI ", NetworkUnionPay, SchemeUnionPay, "A000000333"},
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

// TestNetworkRanges pins the IIN ranges: Visa 4, Mastercard 51-55 and
// 2221-2720, UnionPay 62 (with the 622126-622925, 624-626 and 6282-6288
// sub-ranges inside it).
func TestNetworkRanges(t *testing.T) {
	for _, tc := range []struct {
		digits string
		want   Network
	}{
		{"4000001800000000", NetworkVisa},
		{"510000", NetworkMastercard},
		{"559999", NetworkMastercard},
		{"222100", NetworkMastercard},
		{"272099", NetworkMastercard},
		{"62270000", NetworkUnionPay},
		{"622126", NetworkUnionPay},
		{"622925", NetworkUnionPay},
		{"624000", NetworkUnionPay},
		{"626999", NetworkUnionPay},
		{"628200", NetworkUnionPay},
		{"6288999999999999999", NetworkUnionPay},
		{"620000", NetworkUnionPay},
		{"272100", ""},
		{"560000", ""},
		{"601100", ""},
		{"630000", ""},
		{"612345", ""},
		{"62a0", ""},
		{"622", ""},
	} {
		n, ok := NetworkOf(tc.digits)
		if n != tc.want || ok != (tc.want != "") {
			t.Errorf("NetworkOf(%s) = %q, %v; want %q", tc.digits, n, ok, tc.want)
		}
		for _, other := range Networks() {
			if other.InRange(tc.digits) != (other == tc.want) {
				t.Errorf("%s.InRange(%s) = %v", other, tc.digits, other.InRange(tc.digits))
			}
		}
	}
	if got := NetworkList(); got != "VISA, MASTERCARD, UNIONPAY" {
		t.Errorf("NetworkList() = %q", got)
	}
	if NetworkUnionPay.Name() != "UnionPay" || SchemeMastercard.Name() != "Mastercard" || Network("AMEX").Name() != "" {
		t.Errorf("names: %q %q", NetworkUnionPay.Name(), SchemeMastercard.Name())
	}
	if c, err := NetworkUnionPay.CVN(1); err != nil || c.Code != 0x01 || c.ACSessionKey != SKDUnionPay {
		t.Errorf("UnionPay CVN 1 = %v, %v", c, err)
	}
}

package catalog

import (
	"errors"
	"testing"
	"time"

	"github.com/cardhost/cardhost/issuance"
)

func TestCardholderAge(t *testing.T) {
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		birth string
		age   int
	}{
		{"18th birthday today", "2008-03-15", 18},
		{"18 tomorrow", "2008-03-16", 17},
		{"18 last month", "2008-02-29", 18},
		{"leap day, not yet this year", "2000-03-16", 25},
		{"born today", "2026-03-15", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := time.Parse(time.DateOnly, tc.birth)
			if got := cardholderAge(b, now); got != tc.age {
				t.Fatalf("age %d, want %d", got, tc.age)
			}
			var v issuance.Validator
			ValidateCardholder(&v, issuance.Cardholder{FirstName: "A", LastName: "B", BirthDate: tc.birth}, now)
			if adult := v.Err() == nil; adult != (tc.age >= MinCardholderAge) {
				t.Fatalf("accepted %v at age %d", adult, tc.age)
			}
		})
	}
}

func TestCardholderContactRules(t *testing.T) {
	for _, tc := range []struct {
		phone string
		ok    bool
	}{
		{"+5511912345678", true}, {"+14155550100", true}, {"+1234567", true}, {"+123456789012345", true},
		{"5511912345678", false}, {"+0511912345678", false}, {"+1234567890123456", false}, {"+12 345678", false}, {"+123456", false},
	} {
		if got := validCardholderPhone(tc.phone); got != tc.ok {
			t.Errorf("phone %q: %v, want %v", tc.phone, got, tc.ok)
		}
	}
	for _, tc := range []struct {
		email string
		ok    bool
	}{
		{"ana@example.com", true}, {"ana.silva+cards@mail.example.com.br", true},
		{"Ana <ana@example.com>", false}, {"ana@localhost", false}, {"ana@example.", false}, {"ana", false}, {"@example.com", false},
	} {
		if got := validCardholderEmail(tc.email); got != tc.ok {
			t.Errorf("email %q: %v, want %v", tc.email, got, tc.ok)
		}
	}
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"João", true}, {"O'Brien", true}, {"Anne-Marie", true}, {"J. R.", true}, {"Zoë", true}, {"李", true},
		{"", false}, {"R2D2", false}, {"-Ana", false}, {"Ana!", false},
	} {
		if got := validCardholderName(tc.name); got != tc.ok {
			t.Errorf("name %q: %v, want %v", tc.name, got, tc.ok)
		}
	}
}

func TestIINRanges(t *testing.T) {
	for _, tc := range []struct {
		iin     string
		network issuance.Network
		ok      bool
	}{
		{"400000", issuance.NetworkVisa, true}, {"499999", issuance.NetworkVisa, true}, {"510000", issuance.NetworkVisa, false},
		{"510000", issuance.NetworkMastercard, true}, {"559999", issuance.NetworkMastercard, true}, {"560000", issuance.NetworkMastercard, false},
		{"500000", issuance.NetworkMastercard, false}, {"222100", issuance.NetworkMastercard, true}, {"272099", issuance.NetworkMastercard, true},
		{"222099", issuance.NetworkMastercard, false}, {"272100", issuance.NetworkMastercard, false}, {"400000", issuance.NetworkMastercard, false},
		{"62270000", issuance.NetworkUnionPay, true}, {"622126", issuance.NetworkUnionPay, true}, {"628800", issuance.NetworkUnionPay, true},
		{"624000", issuance.NetworkUnionPay, true}, {"601100", issuance.NetworkUnionPay, false}, {"62270000", issuance.NetworkVisa, false},
	} {
		if got := tc.network.InRange(tc.iin); got != tc.ok {
			t.Errorf("%s on %s: %v, want %v", tc.iin, tc.network, got, tc.ok)
		}
	}
}

// TestUnionPayTemplate: QPay's guide lists a template "UnionPay Classic"
// with IIN 62270000; as a UNIONPAY template of CVN 1 under UnionPay's RID
// it is valid. A UnionPay template is held to UnionPay's IIN range, CVNs
// and RID like any other network's.
func TestUnionPayTemplate(t *testing.T) {
	base := issuance.Template{Name: "UnionPay Classic", Description: "Standard UnionPay debit template",
		Network: "unionpay", IIN: "62270000", CVN: 1, AID: "a000000333010101", ServiceCode: "220"}
	for _, tc := range []struct {
		name   string
		change func(*issuance.Template)
		field  string // "" when valid
	}{
		{"QPay's UnionPay Classic", func(*issuance.Template) {}, ""},
		{"19-digit PANs", func(t *issuance.Template) { t.PANLength = 19 }, ""},
		{"credit AID", func(t *issuance.Template) { t.AID = "A000000333010102" }, ""},
		{"IIN outside 62", func(t *issuance.Template) { t.IIN = "60110000" }, "iin"},
		{"Visa CVN", func(t *issuance.Template) { t.CVN = 18 }, "cvn"},
		{"Visa AID", func(t *issuance.Template) { t.AID = "A0000000031010" }, "aid"},
		{"Visa network on a UnionPay IIN", func(t *issuance.Template) { t.Network = "VISA" }, "iin"},
		{"unknown network", func(t *issuance.Template) { t.Network = "AMEX" }, "network"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl := base
			tc.change(&tpl)
			normalizeTemplate(&tpl)
			var v issuance.Validator
			ValidateTemplate(&v, tpl)
			err := v.Err()
			if tc.field == "" {
				if err != nil || tpl.Network != issuance.NetworkUnionPay {
					t.Fatalf("rejected: %v (network %q)", err, tpl.Network)
				}
				return
			}
			var ie *issuance.Error
			if !errors.As(err, &ie) || len(ie.Fields) == 0 || ie.Fields[0].Field != tc.field {
				t.Fatalf("err = %v, want a field error on %s", err, tc.field)
			}
		})
	}
}

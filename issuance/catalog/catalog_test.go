package catalog

import (
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
	} {
		if got := iinMatchesNetwork(tc.iin, tc.network); got != tc.ok {
			t.Errorf("%s on %s: %v, want %v", tc.iin, tc.network, got, tc.ok)
		}
	}
}

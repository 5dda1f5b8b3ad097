package issuance

import (
	"slices"
	"testing"
	"time"
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
			var v Validator
			ValidateCardholder(&v, Cardholder{FirstName: "A", LastName: "B", BirthDate: tc.birth}, now)
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
		network Network
		ok      bool
	}{
		{"400000", NetworkVisa, true}, {"499999", NetworkVisa, true}, {"510000", NetworkVisa, false},
		{"510000", NetworkMastercard, true}, {"559999", NetworkMastercard, true}, {"560000", NetworkMastercard, false},
		{"500000", NetworkMastercard, false}, {"222100", NetworkMastercard, true}, {"272099", NetworkMastercard, true},
		{"222099", NetworkMastercard, false}, {"272100", NetworkMastercard, false}, {"400000", NetworkMastercard, false},
	} {
		if got := iinMatchesNetwork(tc.iin, tc.network); got != tc.ok {
			t.Errorf("%s on %s: %v, want %v", tc.iin, tc.network, got, tc.ok)
		}
	}
}

func TestMissingCardholderFields(t *testing.T) {
	p := Product{RequiredCardholderFields: []string{CardholderFieldEmail, CardholderFieldAddress, CardholderFieldBirthDate, CardholderFieldPhone, CardholderFieldNationality}}
	for _, tc := range []struct {
		name string
		c    Cardholder
		want []string
	}{
		{"nothing", Cardholder{}, []string{"email", "address", "birth_date", "phone", "nationality"}},
		{"some", Cardholder{Email: "a@b.co", Nationality: "BR"}, []string{"address", "birth_date", "phone"}},
		{"all", Cardholder{Email: "a@b.co", Address: &Address{}, BirthDate: "1990-01-01", Phone: "+1234567", Nationality: "BR"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.MissingCardholderFields(tc.c); !slices.Equal(got, tc.want) {
				t.Fatalf("missing %v, want %v", got, tc.want)
			}
		})
	}
	if got := (Product{}).MissingCardholderFields(Cardholder{}); got != nil {
		t.Fatalf("a product requiring nothing reports %v", got)
	}
}

func TestSystemKeyRoles(t *testing.T) {
	var k SystemKeys
	if !slices.Equal(k.Missing(), KeyRoles) {
		t.Fatalf("empty keys miss %v", k.Missing())
	}
	for i, role := range KeyRoles {
		if !k.SetRole(role, "key_"+role) {
			t.Fatalf("role %s refused", role)
		}
		if got := k.Missing(); !slices.Equal(got, KeyRoles[i+1:]) {
			t.Fatalf("after %s: missing %v", role, got)
		}
		if _, ok := KeyRoleType(role); !ok {
			t.Fatalf("role %s has no type", role)
		}
	}
	if k.PANDEK != "key_pan-dek" || k.PANIndex != "key_pan-idx" || k.CA != "key_ca" || k.ECDH != "key_ecdh" {
		t.Fatalf("keys %+v", k)
	}
	if k.SetRole("root", "x") {
		t.Fatal("unknown role accepted")
	}
	for role, rebind := range map[string]bool{KeyRolePANDEK: false, KeyRolePANIDX: false, KeyRoleCA: true, KeyRoleECDH: true} {
		if KeyRoleRebindable(role) != rebind {
			t.Errorf("role %s rebindable %v, want %v", role, !rebind, rebind)
		}
	}
}

func TestPageRequest(t *testing.T) {
	for _, tc := range []struct {
		p    PageRequest
		size int
		ok   bool
	}{
		{PageRequest{}, DefaultPageLimit, true},
		{PageRequest{Limit: 1}, 1, true},
		{PageRequest{Limit: 100}, 100, true},
		{PageRequest{Limit: 101}, 100, false},
		{PageRequest{StartingAfter: "lay_01ARZ3NDEKTSV4RRFFQ69G5FAV"}, DefaultPageLimit, true},
		{PageRequest{StartingAfter: "prd_01ARZ3NDEKTSV4RRFFQ69G5FAV"}, DefaultPageLimit, false},
	} {
		var v Validator
		ValidatePage(&v, tc.p, LayoutIDPrefix)
		if tc.p.Size() != tc.size || (v.Err() == nil) != tc.ok {
			t.Errorf("%+v: size %d ok %v; want %d %v", tc.p, tc.p.Size(), v.Err() == nil, tc.size, tc.ok)
		}
	}
}

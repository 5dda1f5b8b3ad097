package issuance

import (
	"slices"
	"testing"
)

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

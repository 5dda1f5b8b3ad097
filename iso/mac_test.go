package iso_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/cardhost/cardhost/iso"
)

// TestMACInput: the MAC is the last 16 characters, in field 64 without a
// secondary bitmap and in 128 with one; everything before it is MACed.
func TestMACInput(t *testing.T) {
	tests := []struct {
		name    string
		msg     []byte
		data    string // "" with present false
		mac     string
		wantErr bool
	}{
		{"no MAC", raw("0100", "0020000000000000", "123456"), "", "", false},
		// Bits 11 and 64: 0x0020000000000001.
		{"field 64", raw("0100", "0020000000000001", "123456", "0123456789ABCDEF"),
			"01000020000000000001123456", "0123456789ABCDEF", false},
		// Bit 1 (secondary), 11; secondary bits 70 and 128.
		{"field 128", raw("0800", "8020000000000000", "0400000000000001", "123456", "301", "FEDCBA9876543210"),
			"080080200000000000000400000000000001123456301", "FEDCBA9876543210", false},
		{"secondary bitmap, no 128", raw("0800", "8020000000000000", "0400000000000000", "123456", "301"), "", "", false},
		{"field 64 with a secondary bitmap", raw("0800", "8020000000000001", "0400000000000001", "123456", "0123456789ABCDEF", "301", "FEDCBA9876543210"),
			"", "", true},
		{"bitmap not hexadecimal", raw("0100", "002000000000000G", "123456", "0123456789ABCDEF"), "", "", true},
		{"lower-case bitmap", raw("0100", "002000000000000b", "123456", "0123456789ABCDEF"),
			"0100002000000000000b123456", "0123456789ABCDEF", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, mac, present, err := iso.MACInput(tc.msg)
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				if tc.name == "field 64 with a secondary bitmap" && (!errors.Is(err, iso.ErrMACPlacement) || iso.FieldOf(err) != iso.FieldMAC) {
					t.Fatalf("err = %v, want ErrMACPlacement naming field 64", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if present != (tc.data != "") || string(data) != tc.data || string(mac) != tc.mac {
				t.Fatalf("got data %q mac %q present %v", data, mac, present)
			}
		})
	}
}

// TestPackMAC: PackMAC puts the MAC in field 64 or 128 as the bitmap
// requires, MACs exactly what MACInput says, and the result unpacks.
func TestPackMAC(t *testing.T) {
	mac := []byte{0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x07, 0x18}
	for _, tc := range []struct {
		name   string
		fields map[int]string
		field  int
	}{
		{"no secondary bitmap", map[int]string{iso.FieldSTAN: "000001", iso.FieldTerminal: "TERM0001"}, iso.FieldMAC},
		{"secondary bitmap", map[int]string{iso.FieldSTAN: "000001", iso.FieldNetworkCode: "301"}, iso.FieldSecondaryMAC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := iso.NewMessage("0800")
			for id, v := range tc.fields {
				if err := m.Field(id, v); err != nil {
					t.Fatal(err)
				}
			}
			_ = m.Field(iso.FieldMAC, "FFFFFFFFFFFFFFFF") // replaced
			var seen []byte
			b, err := iso.PackMAC(m, func(data []byte) ([]byte, error) {
				seen = append([]byte(nil), data...)
				return mac, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			data, got, present, err := iso.MACInput(b)
			if err != nil || !present || !bytes.Equal(data, seen) || string(got) != "A1B2C3D4E5F60718" {
				t.Fatalf("MACInput = %q, %q, %v, %v; MACed %q", data, got, present, err, seen)
			}
			u, err := iso.Unpack(b)
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := u.GetString(tc.field); v != "A1B2C3D4E5F60718" {
				t.Fatalf("field %d = %q", tc.field, v)
			}
			other := iso.FieldMAC + iso.FieldSecondaryMAC - tc.field
			if v, _ := u.GetString(other); v != "" {
				t.Fatalf("field %d = %q, want absent", other, v)
			}
		})
	}
	m := iso.NewMessage("0800")
	_ = m.Field(iso.FieldSTAN, "000001")
	if _, err := iso.PackMAC(m, func([]byte) ([]byte, error) { return []byte{1, 2, 3, 4}, nil }); err == nil {
		t.Fatal("a 4-byte MAC was packed")
	}
}

package emv

import "testing"

// TestCryptogramTypes reads the cryptogram type from 9F27 and from the CVR
// of each 9F10 layout.
func TestCryptogramTypes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		scheme string
		iad    []byte
		cid    byte
		want   CryptogramType
	}{
		{"Visa format 0, ARQC", "visa", []byte{0x06, 0x01, 0x0A, 0x03, 0xA0, 0x00, 0x00}, 0x80, ARQC},
		{"Visa format 0, AAC", "visa", []byte{0x06, 0x01, 0x0A, 0x03, 0x80, 0x00, 0x00}, 0x00, AAC},
		{"Visa format 2, TC", "visa", append([]byte{0x1F, 0x22, 0x01, 0x90}, make([]byte, 28)...), 0x40, TC},
		{"M/Chip, ARQC", "mastercard", append([]byte{0x01, 0x10, 0xA0}, make([]byte, 15)...), 0x80, ARQC},
		{"M/Chip, AAC", "mastercard", append([]byte{0x01, 0x10, 0x80}, make([]byte, 15)...), 0x00, AAC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseIAD(tc.scheme, tc.iad)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.FirstACType(); got != tc.want {
				t.Errorf("CVR type %d, want %d", got, tc.want)
			}
			if got := CIDType(tc.cid); got != tc.want {
				t.Errorf("9F27 type %d, want %d", got, tc.want)
			}
		})
	}
	if (IAD{}).FirstACType() == ARQC {
		t.Error("an IAD without CVR says ARQC")
	}
}

package terminal

import (
	"testing"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/iso"
)

// TestCheckMAC: an answer MACed under the terminal's ZAK is valid, one
// MACed under another key or altered after MACing invalid (a problem).
func TestCheckMAC(t *testing.T) {
	zak, _ := emv.DecodeHex(DefaultZAKHex)
	other, _ := emv.DecodeHex(DefaultZPKHex)
	answer := func(key []byte) []byte {
		m := iso.NewMessage("0110")
		_ = m.Field(iso.FieldSTAN, "000001")
		_ = m.Field(iso.FieldResponseCode, "00")
		b, err := iso.PackMAC(m, macFunc(key))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tx := &Txn{MAC: MACRight, mac: macFunc(zak)}
	if s, p := tx.checkMAC(answer(zak)); s != MACValid || p != "" {
		t.Fatalf("valid answer: %s %q", s, p)
	}
	if s, p := tx.checkMAC(answer(other)); s != MACInvalid || p == "" {
		t.Fatalf("answer under another key: %s %q", s, p)
	}
	altered := answer(zak)
	altered[len(altered)-17] = '1' // field 39 "00" -> "01"
	if s, p := tx.checkMAC(altered); s != MACInvalid || p == "" {
		t.Fatalf("altered answer: %s %q", s, p)
	}
}

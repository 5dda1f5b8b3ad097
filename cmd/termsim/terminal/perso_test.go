package terminal_test

import (
	"errors"
	"testing"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/cmd/termsim/terminal/terminaltest"
	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/tlv"
)

func TestOpenPerso(t *testing.T) {
	v := terminaltest.LoadPersoVector(t, "testdata/perso_sandbox.json")
	kek := terminaltest.MustHex(t, terminal.DefaultTransportKeyHex)
	kcv, err := emv.KCV(emv.AlgorithmAES, kek)
	if err != nil || emv.EncodeHex(kcv) != terminal.DefaultTransportKeyKCV {
		t.Fatalf("transport key KCV %X, want %s", kcv, terminal.DefaultTransportKeyKCV)
	}
	sealed := terminaltest.MustHex(t, v.Sealed)
	c, err := terminal.OpenPerso(kek, v.CardID, sealed)
	if err != nil {
		t.Fatal(err)
	}
	e := v.Expect
	if c.ID != v.CardID || c.PAN.Reveal() != e.PAN || c.Expiry != e.Expiry || c.PSN != e.PSN || string(c.Network) != e.Network ||
		c.CVV2.Reveal() != e.CVV2 || c.PIN.Reveal() != e.PIN || c.Track2 == "" || c.ChipTrack2 == "" {
		t.Fatalf("card %v differs from the record", c)
	}
	cvn, ok := c.CVN()
	if !ok || cvn.Number != e.CVN {
		t.Fatalf("CVN %v %v", cvn, ok)
	}
	// The chip key in the record is the one the issuer derives from its IMK:
	// an ARQC made by the opened card verifies on the issuer's side.
	cr, err := c.Chip(terminal.ChipData{Amount: 100, Country: "840", Currency: "840", Date: terminaltest.Date, TxnType: "00"}, terminal.ChipTamper{})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := tlv.Decode(cr.Field55)
	tags, _ := l.Map()
	mk, _ := emv.DeriveICCMasterKey(terminaltest.MustHex(t, e.IMKAC), e.PAN, e.PSN)
	if ok, err := emv.VerifyARQC(cvn, mk, tags); !ok || err != nil {
		t.Fatalf("ARQC of the opened card does not verify under the issuer's key: %v", err)
	}

	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-20] ^= 1
	otherKey := append([]byte(nil), kek...)
	otherKey[0] ^= 1
	bad := []struct {
		name   string
		key    []byte
		cardID string
		sealed []byte
	}{
		{"another card id", kek, "crd_OTHER", sealed},
		{"another key", otherKey, v.CardID, sealed},
		{"changed byte", kek, v.CardID, tampered},
		{"short key", kek[:16], v.CardID, sealed},
		{"truncated", kek, v.CardID, sealed[:20]},
		{"wrong version", kek, v.CardID, append([]byte{2}, sealed[1:]...)},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := terminal.OpenPerso(tc.key, tc.cardID, tc.sealed); !errors.Is(err, terminal.ErrCard) {
				t.Fatalf("OpenPerso = %v, want ErrCard", err)
			}
		})
	}
}

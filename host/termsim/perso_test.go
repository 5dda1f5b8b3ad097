package termsim

import (
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/tlv"
)

// persoVector is testdata/perso_sandbox.json: a record sealed by the
// software HSM's sandbox export under the sandbox transport key.
type persoVector struct {
	CardID string `json:"card_id"`
	Sealed string `json:"sealed"`
	Expect struct {
		PAN, Expiry, PSN, Network, CVV2, PIN string
		CVN                                  int
		IMKAC                                string `json:"imk_ac"`
	} `json:"expect"`
}

func loadPersoVector(t *testing.T) persoVector {
	t.Helper()
	b, err := os.ReadFile("testdata/perso_sandbox.json")
	if err != nil {
		t.Fatal(err)
	}
	var v persoVector
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOpenPerso(t *testing.T) {
	v := loadPersoVector(t)
	kek := mustHex(t, DefaultTransportKeyHex)
	kcv, err := emv.KCV(emv.AlgorithmAES, kek)
	if err != nil || emv.EncodeHex(kcv) != DefaultTransportKeyKCV {
		t.Fatalf("transport key KCV %X, want %s", kcv, DefaultTransportKeyKCV)
	}
	sealed := mustHex(t, v.Sealed)
	c, err := OpenPerso(kek, v.CardID, sealed)
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
	cr, err := c.Chip(ChipData{Amount: 100, Country: "840", Currency: "840", Date: testDate, TxnType: "00"}, ChipTamper{})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := tlv.Decode(cr.Field55)
	tags, _ := l.Map()
	mk, _ := emv.DeriveICCMasterKey(mustHex(t, e.IMKAC), e.PAN, e.PSN)
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
			if _, err := OpenPerso(tc.key, tc.cardID, tc.sealed); !errors.Is(err, ErrCard) {
				t.Fatalf("OpenPerso = %v, want ErrCard", err)
			}
		})
	}
}

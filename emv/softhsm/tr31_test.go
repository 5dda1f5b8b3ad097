package softhsm

import (
	"bytes"
	"errors"
	"testing"

	"github.com/cardhost/cardhost/emv"
)

// TR-31:2018 Annex A.7.4 (also used by openemv/tr31 and knovichikhin/psec):
// AES-256 KBPK, AES-128 P0 key, fixed padding.
func TestTR31PublishedVector(t *testing.T) {
	kbpk := mustHex(t, "88E1AB2A2E3DD38C1FA039A536500CC8A87AB9D62DC92C01058FA79F44657DE6")
	key := mustHex(t, "3F419E1CB7079442AA37474C2EFBF8B8")
	pad := mustHex(t, "1C2965473CE206BB855B01533782")
	want := "D0112P0AE00E0000B82679114F470F540165EDFBF7E250FCEA43F810D215F8D207E2E417C07156A27E8E31DA05F7425509593D03A457DC34"
	h := TR31Header{Usage: "P0", Algorithm: 'A', ModeOfUse: 'E', KeyVersion: "00", Exportability: 'E'}
	got, err := WrapTR31(kbpk, h, key, bytes.NewReader(pad))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("WrapTR31 =\n%s\nwant\n%s", got, want)
	}
	gh, gk, err := UnwrapTR31(kbpk, want)
	if err != nil {
		t.Fatal(err)
	}
	if gh != h || !bytes.Equal(gk, key) {
		t.Fatalf("UnwrapTR31 = %+v %X", gh, []byte(gk))
	}
	kcv, _ := emv.KCV(emv.AlgorithmAES, gk)
	if emv.EncodeHex(kcv) != "08793E" {
		t.Fatalf("KCV = %X, want 08793E (TR-31:2018 A.7.4)", kcv)
	}
}

func TestTR31Rejects(t *testing.T) {
	kbpk := mustHex(t, "88E1AB2A2E3DD38C1FA039A536500CC8A87AB9D62DC92C01058FA79F44657DE6")
	good := "D0112P0AE00E0000B82679114F470F540165EDFBF7E250FCEA43F810D215F8D207E2E417C07156A27E8E31DA05F7425509593D03A457DC34"
	other := bytes.Repeat([]byte{0x11}, 32)
	tests := []struct {
		name  string
		kbpk  []byte
		block string
		want  error
	}{
		{"usage changed", kbpk, "D0112C0AE00E0000" + good[16:], ErrKeyBlockAuth},
		{"ciphertext changed", kbpk, good[:20] + "0" + good[21:], ErrKeyBlockAuth},
		{"mac changed", kbpk, good[:len(good)-1] + "5", ErrKeyBlockAuth},
		{"wrong kbpk", other, good, ErrKeyBlockAuth},
		{"length field wrong", kbpk, "D0113" + good[5:], ErrInvalidInput},
		{"version B", kbpk, "B" + good[1:], ErrInvalidInput},
		{"truncated", kbpk, good[:100], ErrInvalidInput},
		{"not hex", kbpk, good[:16] + "ZZ" + good[18:], ErrInvalidInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := UnwrapTR31(tc.kbpk, tc.block)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
		})
	}
}

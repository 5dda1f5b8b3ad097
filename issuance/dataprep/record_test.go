package dataprep_test

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/softhsm"
	"github.com/cardhost/cardhost/issuance/dataprep"
)

const (
	kekHex = "88E1AB2A2E3DD38C1FA039A536500CC8A87AB9D62DC92C01058FA79F44657DE6"
	imkHex = "0123456789ABCDEFFEDCBA9876543210"
	cvkHex = "0123456789ABCDEFFEDCBA9876543210"
)

// hsmWith returns a software HSM (memory store) holding keys with known
// clear values, imported as two components.
func hsmWith(t *testing.T, keys map[emv.KeyType]string) (*softhsm.HSM, map[emv.KeyType]string) {
	t.Helper()
	h, err := softhsm.New(softhsm.Config{MasterKeyHex: emv.Sensitive(strings.Repeat("11", 32))}, softhsm.NewMemStore())
	if err != nil {
		t.Fatal(err)
	}
	refs := map[emv.KeyType]string{}
	for typ, hexKey := range keys {
		clear, _ := emv.DecodeHex(hexKey)
		spec, alg := emv.KeySpecTDES2, emv.AlgorithmTDES
		if typ == emv.KeyKEK {
			spec, alg = emv.KeySpecAES256, emv.AlgorithmAES
		}
		c2 := bytes.Repeat([]byte{0x5A}, len(clear))
		c1 := make([]byte, len(clear))
		subtle.XORBytes(c1, clear, c2)
		kcv, _ := emv.KCV(alg, clear)
		info, err := h.ImportComponents(context.Background(), softhsm.ImportRequest{
			KeyRequest: softhsm.KeyRequest{Type: typ, Spec: spec},
			Components: []emv.SecretBytes{c1, c2}, KCV: emv.EncodeHex(kcv),
		})
		if err != nil {
			t.Fatal(err)
		}
		refs[typ] = info.Ref
	}
	return h, refs
}

// TestRecordSealedByTheHSMOpens builds a record, has the HSM seal it with
// the chip keys in clear (the sandbox export), and opens it with
// OpenRecord, the standard-library reference of docs/perso.md.
func TestRecordSealedByTheHSMOpens(t *testing.T) {
	ctx := context.Background()
	h, refs := hsmWith(t, map[emv.KeyType]string{emv.KeyKEK: kekHex, emv.KeyIMKAC: imkHex, emv.KeyCVK: cvkHex})
	pan := emv.PAN("4000001234567899")
	cvvs, err := h.GenerateCVVSet(ctx, refs[emv.KeyCVK], pan, "2906", "201")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := dataprep.BuildRecord(dataprep.RecordInput{
		CardID: "crd_1", CardType: "VIRTUAL", PAN: pan, Expiry: "2906", ServiceCode: "201", CVVs: cvvs,
		PINMethod: "PVV", PVKI: "1", PVV: "4321", PIN: "1234", PINLength: 4,
		PrintedName: "JOAO DA SILVA", Network: "VISA", CVN: 18, AID: "A0000000031010",
	})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := rec.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	sealed, kcv, err := h.SealRecord(ctx, refs[emv.KeyKEK], []byte("crd_1"), plain,
		&emv.ICCKeyRequest{IMKAC: refs[emv.KeyIMKAC], PAN: pan, PSN: "00"})
	if err != nil {
		t.Fatal(err)
	}
	kek, _ := emv.DecodeHex(kekHex)
	wantKCV, _ := emv.KCV(emv.AlgorithmAES, kek)
	if kcv != emv.EncodeHex(wantKCV) || dataprep.SealedKEKVersion(sealed) != 1 {
		t.Fatalf("kcv %s version %d", kcv, dataprep.SealedKEKVersion(sealed))
	}
	if bytes.Contains(sealed, []byte(pan.Reveal())) {
		t.Fatal("sealed record holds the PAN in clear")
	}
	clear, err := dataprep.OpenRecord(kek, "crd_1", sealed)
	if err != nil {
		t.Fatal(err)
	}
	var got dataprep.Record
	if err := json.Unmarshal(clear, &got); err != nil {
		t.Fatal(err)
	}
	// What the terminal simulator needs to be this card.
	cvk, _ := emv.DecodeHex(cvkHex)
	cvv, _ := emv.GenerateCVV(cvk, pan.Reveal(), "2906", "201")
	icvv, _ := emv.GenerateICVV(cvk, pan.Reveal(), "2906")
	cvv2, _ := emv.GenerateCVV2(cvk, pan.Reveal(), "2906")
	imk, _ := emv.DecodeHex(imkHex)
	mk, _ := emv.DeriveICCMasterKey(imk, pan.Reveal(), "00")
	for name, c := range map[string][2]string{
		"format":      {got.Format, dataprep.RecordFormat},
		"pan":         {got.PAN, pan.Reveal()},
		"track2":      {got.Track2, "4000001234567899=290620114321" + cvv.Reveal() + "00000"},
		"track2_chip": {got.Track2Chip, "4000001234567899=290620114321" + icvv.Reveal() + "00000"},
		"cvv2":        {got.CVV2, cvv2.Reveal()},
		"pin":         {got.PIN, "1234"},
		"scheme":      {got.Scheme, "visa"},
		"cvn_code":    {got.CVNCode, "12"},
		"psn":         {got.PSN, "00"},
		"mk_ac":       {got.ICCMasterKeys.AC, emv.EncodeHex(mk)},
	} {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", name, c[0], c[1])
		}
	}
	if _, err := emv.LookupCVN(got.Scheme, got.CVN); err != nil {
		t.Errorf("the record's CVN does not resolve in the registry: %v", err)
	}
	// The wrong key, another card's id or a flipped bit do not open.
	other := append([]byte{}, kek...)
	other[0] ^= 1
	flipped := append([]byte{}, sealed...)
	flipped[len(flipped)-20] ^= 1
	for name, try := range map[string]func() ([]byte, error){
		"wrong key":   func() ([]byte, error) { return dataprep.OpenRecord(other, "crd_1", sealed) },
		"other card":  func() ([]byte, error) { return dataprep.OpenRecord(kek, "crd_2", sealed) },
		"flipped bit": func() ([]byte, error) { return dataprep.OpenRecord(kek, "crd_1", flipped) },
		"truncated":   func() ([]byte, error) { return dataprep.OpenRecord(kek, "crd_1", sealed[:20]) },
	} {
		if _, err := try(); !errors.Is(err, dataprep.ErrRecord) {
			t.Errorf("%s: err = %v, want ErrRecord", name, err)
		}
	}
}

func TestBuildRecordWithKeyBlocks(t *testing.T) {
	rec, err := dataprep.BuildRecord(dataprep.RecordInput{
		CardID: "crd_1", CardType: "PLASTIC", PAN: "5200001234567890", Expiry: "2906", ServiceCode: "201",
		CVVs: emv.CVVSet{CVV: "111", ICVV: "222", CVV2: "333"}, Network: "MASTERCARD", CVN: 17,
		ICCKeys: &emv.ICCKeys{AC: emv.ExportedKey{KeyBlock: "D0112E0TN00N0000AA", KCV: "123456"}, SMC: emv.ExportedKey{KeyBlock: "D0112E1TN00N0000BB", KCV: "654321"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rec.ICCKeyBlocks == nil || rec.ICCKeyBlocks.AC.KCV != "123456" || rec.ICCKeyBlocks.SMI != nil || rec.ICCKeyBlocks.SMC.KeyBlock != "D0112E1TN00N0000BB" {
		t.Fatalf("key blocks = %+v", rec.ICCKeyBlocks)
	}
	if rec.PIN != "" || rec.Scheme != "mastercard" || rec.Track2[17:] != "29062010000011100000" {
		t.Fatalf("record = %+v", rec)
	}
	if _, err := dataprep.BuildRecord(dataprep.RecordInput{PAN: "5200001234567890", Expiry: "2906", ServiceCode: "201",
		CVVs: emv.CVVSet{CVV: "111", ICVV: "222"}, Network: "VISA", CVN: 99}); !errors.Is(err, emv.ErrUnknownCVN) {
		t.Fatalf("unknown CVN: err = %v", err)
	}
}

// The known-answer example of docs/perso.md: a record sealed under the
// published sandbox transport key (docs/sandbox.md) with a fixed nonce.
const (
	katKEK       = "36F84D8A544BDC9CF02EBA0710E63665BC65FFE9F01DD87CB7CB139D7AA6B72A"
	katRecordKey = "AA28185CE5AD2B05C01AB6059C16B8A16D73919CB3FD6B65CBA1E81807F4E2AE"
	katCardID    = "crd_01KAT000000000000000000000"
	katPlain     = `{"format":"cardhost-perso-v1","card_id":"crd_01KAT000000000000000000000","pan":"4000001234567899"}`
	katSealed    = "0100000001000102030405060708090A0BDF0657436A113BB48358362B8BCC952CDDF80F5B73255990075936DFCC6D57EF06BFC5B0DF329A30C2B50CB3520F8E07C830094ECFACDEFD8C5432E769867DE179185D07FD72F512A47813B3CD3598A869C4B3EEACD7B1673AC9655B15FE9F896CD72DCB359D52BAC1401DEFBAEBFD0A2145"
)

// cyclic reads 00 01 ... 0B over and over (the nonce of the example).
type cyclic struct{ i byte }

func (c *cyclic) Read(p []byte) (int, error) {
	for k := range p {
		p[k] = c.i
		c.i = (c.i + 1) % 12
	}
	return len(p), nil
}

func TestSealedRecordKnownAnswer(t *testing.T) {
	kek, _ := emv.DecodeHex(katKEK)
	rk, err := dataprep.SealKey(kek)
	if err != nil || emv.EncodeHex(rk) != katRecordKey {
		t.Fatalf("record key %X (%v)", []byte(rk), err)
	}
	sealed, _ := emv.DecodeHex(katSealed)
	clear, err := dataprep.OpenRecord(kek, katCardID, sealed)
	if err != nil || string(clear) != katPlain {
		t.Fatalf("open = %q, %v", clear, err)
	}
	// The HSM, given the same nonce, seals to the same bytes.
	store := softhsm.NewMemStore()
	master := emv.Sensitive(strings.Repeat("22", 32))
	h, err := softhsm.New(softhsm.Config{MasterKeyHex: master}, store)
	if err != nil {
		t.Fatal(err)
	}
	c2 := bytes.Repeat([]byte{0xA5}, 32)
	c1 := make([]byte, 32)
	subtle.XORBytes(c1, kek, c2)
	info, err := h.ImportComponents(context.Background(), softhsm.ImportRequest{
		KeyRequest: softhsm.KeyRequest{Type: emv.KeyKEK, Spec: emv.KeySpecAES256},
		Components: []emv.SecretBytes{c1, c2}, KCV: "A25E84",
	})
	if err != nil {
		t.Fatal(err)
	}
	fixed, err := softhsm.New(softhsm.Config{MasterKeyHex: master, Rand: &cyclic{}}, store)
	if err != nil {
		t.Fatal(err)
	}
	got, kcv, err := fixed.SealRecord(context.Background(), info.Ref, []byte(katCardID), []byte(katPlain), nil)
	if err != nil || emv.EncodeHex(got) != katSealed || kcv != "A25E84" {
		t.Fatalf("HSM sealed %X kcv %s (%v)", got, kcv, err)
	}
}

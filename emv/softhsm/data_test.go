package softhsm_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/pinblock"
	"github.com/cardhost/cardhost/emv/softhsm"
)

// openSealed opens a sealed record the way docs/perso.md tells recipients
// to, with the standard library only.
func openSealed(kek []byte, aad, sealed []byte) ([]byte, int, error) {
	if len(sealed) < 33 || sealed[0] != 0x01 {
		return nil, 0, errors.New("malformed envelope")
	}
	k, err := hkdf.Key(sha256.New, kek, nil, "cardhost:perso:v1", 32)
	if err != nil {
		return nil, 0, err
	}
	blk, _ := aes.NewCipher(k)
	gcm, _ := cipher.NewGCM(blk)
	clear, err := gcm.Open(nil, sealed[5:17], sealed[17:], aad)
	return clear, int(binary.BigEndian.Uint32(sealed[1:5])), err
}

func TestSealRecord(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kekClear := unhex(t, kekHex)
	kek := f.importKey(t, emv.KeyKEK, emv.KeySpecAES256, kekClear)
	cvk := f.generate(t, emv.KeyCVK)
	record := []byte(`{"format":"cardhost-perso-v1","card_id":"crd_1","pan":"4000001234567899"}`)

	sealed, kcv, err := f.hsm.SealRecord(ctx, kek.Ref, []byte("crd_1"), record, nil)
	if err != nil {
		t.Fatal(err)
	}
	if kcv != kek.KCV {
		t.Fatalf("kcv %s, want the KEK's %s", kcv, kek.KCV)
	}
	if strings.Contains(string(sealed), "4000001234567899") {
		t.Fatal("sealed record holds the PAN in clear")
	}
	clear, v, err := openSealed(kekClear, []byte("crd_1"), sealed)
	if err != nil || string(clear) != string(record) || v != 1 {
		t.Fatalf("open = %q v%d %v", clear, v, err)
	}
	if _, _, err := openSealed(kekClear, []byte("crd_2"), sealed); err == nil {
		t.Fatal("a record sealed for one card opened for another")
	}
	again, _, err := f.hsm.SealRecord(ctx, kek.Ref, []byte("crd_1"), record, nil)
	if err != nil || string(again[5:17]) == string(sealed[5:17]) {
		t.Fatalf("two seals share a nonce (err %v)", err)
	}

	for _, tc := range []struct {
		name   string
		ref    string
		record []byte
		icc    *softhsm.ICCKeyRequest
		want   error
	}{
		{"not a KEK", cvk.Ref, record, nil, softhsm.ErrKeyUsage},
		{"unknown key", "key_00000000000000000000000000", record, nil, softhsm.ErrKeyNotFound},
		{"empty record", kek.Ref, nil, nil, softhsm.ErrInvalidInput},
		{"too large", kek.Ref, make([]byte, softhsm.MaxRecordSize+1), nil, softhsm.ErrInvalidInput},
		{"clear keys into a non-object", kek.Ref, []byte(`["x"]`), &softhsm.ICCKeyRequest{IMKAC: "key_x"}, softhsm.ErrInvalidInput},
		{"clear keys twice", kek.Ref, []byte(`{"icc_master_keys":{}}`), &softhsm.ICCKeyRequest{IMKAC: "key_x"}, softhsm.ErrInvalidInput},
		{"clear keys without IMK-AC", kek.Ref, record, &softhsm.ICCKeyRequest{}, softhsm.ErrInvalidInput},
		{"clear keys from a CVK", kek.Ref, record, &softhsm.ICCKeyRequest{IMKAC: cvk.Ref, PAN: "4000001234567899", PSN: "00"}, softhsm.ErrKeyUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := f.hsm.SealRecord(ctx, tc.ref, []byte("crd_1"), tc.record, tc.icc)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSealRecordWithClearICCKeys(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	kekClear := unhex(t, kekHex)
	kek := f.importKey(t, emv.KeyKEK, emv.KeySpecAES256, kekClear)
	imks := map[string][]byte{
		"ac":  unhex(t, imkHex),
		"smi": unhex(t, "11111111111111112222222222222222"),
		"smc": unhex(t, "33333333333333334444444444444444"),
	}
	ac := f.importKey(t, emv.KeyIMKAC, emv.KeySpecTDES2, imks["ac"])
	smi := f.importKey(t, emv.KeyIMKSMI, emv.KeySpecTDES2, imks["smi"])
	smc := f.importKey(t, emv.KeyIMKSMC, emv.KeySpecTDES2, imks["smc"])
	pan := emv.PAN("4761739001010010")

	for _, tc := range []struct {
		name   string
		record string
		req    softhsm.ICCKeyRequest
		want   []string
	}{
		{"all three keys", `{"card_id":"crd_1","psn":"01"}`, softhsm.ICCKeyRequest{IMKAC: ac.Ref, IMKSMI: smi.Ref, IMKSMC: smc.Ref, PAN: pan, PSN: "01"}, []string{"ac", "smi", "smc"}},
		{"AC only, empty record", ` {} `, softhsm.ICCKeyRequest{IMKAC: ac.Ref, PAN: pan, PSN: "01"}, []string{"ac"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sealed, _, err := f.hsm.SealRecord(ctx, kek.Ref, []byte("crd_1"), []byte(tc.record), &tc.req)
			if err != nil {
				t.Fatal(err)
			}
			clear, _, err := openSealed(kekClear, []byte("crd_1"), sealed)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]json.RawMessage
			if err := json.Unmarshal(clear, &got); err != nil {
				t.Fatalf("sealed plaintext is not JSON: %v", err)
			}
			var orig map[string]json.RawMessage
			_ = json.Unmarshal([]byte(tc.record), &orig)
			for k, v := range orig {
				if string(got[k]) != string(v) {
					t.Fatalf("member %s changed: %s", k, got[k])
				}
			}
			var keys map[string]string
			if err := json.Unmarshal(got["icc_master_keys"], &keys); err != nil {
				t.Fatal(err)
			}
			if len(keys) != 2*len(tc.want) {
				t.Fatalf("icc_master_keys has %d members, want %d", len(keys), 2*len(tc.want))
			}
			for _, name := range tc.want {
				mk, err := emv.DeriveICCMasterKey(imks[name], pan.Reveal(), "01")
				if err != nil {
					t.Fatal(err)
				}
				if keys[name] != emv.EncodeHex(mk) {
					t.Fatalf("%s: key differs from the EMV option A derivation", name)
				}
				kcv, _ := emv.KCV(emv.AlgorithmTDES, mk)
				if keys[name+"_kcv"] != emv.EncodeHex(kcv) {
					t.Fatalf("%s_kcv = %s, want %X", name, keys[name+"_kcv"], kcv)
				}
			}
		})
	}
}

func TestIsInputError(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("x: %w", softhsm.ErrPINBlock), true},
		{fmt.Errorf("x: %w", softhsm.ErrPublicKey), true},
		{fmt.Errorf("x: %w", softhsm.ErrCSR), true},
		{fmt.Errorf("x: %w", softhsm.ErrInvalidInput), true},
		{fmt.Errorf("x: %w", softhsm.ErrKeyNotFound), false},
		{fmt.Errorf("x: %w", softhsm.ErrKeyExpired), false},
		{errors.New("store down"), false},
		{nil, false},
	} {
		if got := f.hsm.IsInputError(tc.err); got != tc.want {
			t.Errorf("IsInputError(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestSetPINWithBinding(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	ecdhKey := f.generate(t, emv.KeyECDH)
	pvk := f.importKey(t, emv.KeyPVK, emv.KeySpecTDES2, unhex(t, pvkHex))
	issuerPub, key := f.pinSetAgreement(t, ecdhKey.Ref)
	card := emv.PAN("4000001234567899")
	check := softhsm.PINCheck{Method: softhsm.PINMethodPVV, PVKRef: pvk.Ref, PVKI: "1"}
	placeholder := encipherPIN(t, pinblock.Format4, key, "2580", softhsm.PINSetPlaceholderPAN.Reveal())
	req := softhsm.PINSet{ECDHRef: ecdhKey.Ref, IssuerPublicKey: issuerPub, Block: placeholder, PAN: card}

	data, err := f.hsm.SetPINWithBinding(ctx, req, softhsm.PINSetPlaceholderPAN, check)
	if err != nil {
		t.Fatal(err)
	}
	// The verification data is the card's, not the placeholder's.
	want, _ := emv.PVV(unhex(t, pvkHex), card.Reveal(), "1", "2580")
	if data.PVV != want || data.PVKI != "1" {
		t.Fatalf("PVV %s, want %s (the card PAN's)", data.PVV, want)
	}
	// The same block read as bound to the card's PAN does not decode.
	if _, err := f.hsm.SetPIN(ctx, req, check); !errors.Is(err, softhsm.ErrPINBlock) {
		t.Fatalf("SetPIN of a placeholder-bound block: %v, want ErrPINBlock", err)
	}
	// With the binding equal to the card's PAN it is SetPIN.
	bound := encipherPIN(t, pinblock.Format4, key, "2580", card.Reveal())
	req.Block = bound
	same, err := f.hsm.SetPINWithBinding(ctx, req, card, check)
	if err != nil || same.PVV != want {
		t.Fatalf("SetPINWithBinding(card PAN) = %+v, %v", same, err)
	}
	// A format 0 block chosen before the PAN exists: bound to the
	// placeholder (13 zeros for format 0), verification data for the card.
	hsmPub, err := f.hsm.ECDHPublicKey(ctx, ecdhKey.Ref)
	if err != nil {
		t.Fatal(err)
	}
	pub0, block0, err := emv.EncipherPINForSetFormat(pinblock.Format0, hsmPub.Point, emv.PINSetPlaceholderPANFormat0, []byte("2580"), rand.Reader)
	if err != nil || len(block0.Reveal()) != 16 {
		t.Fatalf("format 0 block: %v", err)
	}
	req0 := softhsm.PINSet{ECDHRef: ecdhKey.Ref, IssuerPublicKey: pub0, Block: block0, PAN: card}
	if d0, err := f.hsm.SetPINWithBinding(ctx, req0, softhsm.PINSetPlaceholderPAN, check); err != nil || d0.PVV != want {
		t.Fatalf("format 0 at creation = %+v, %v; want PVV %s", d0, err, want)
	}
	if _, err := f.hsm.SetPIN(ctx, req0, check); !errors.Is(err, softhsm.ErrPINBlock) {
		t.Fatalf("SetPIN of a placeholder-bound format 0 block: %v, want ErrPINBlock", err)
	}
	if _, err := f.hsm.SetPINWithBinding(ctx, req, card, softhsm.PINCheck{Method: softhsm.PINMethodPVV, PVKRef: ecdhKey.Ref, PVKI: "1"}); !errors.Is(err, softhsm.ErrKeyUsage) {
		t.Fatalf("PVK ref naming the ECDH key: %v, want ErrKeyUsage", err)
	}
}

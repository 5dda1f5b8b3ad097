package softhsm_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/pinblock"
	"github.com/cardhost/cardhost/emv/softhsm"
	"github.com/cardhost/cardhost/emv/tlv"
)

// Test keys (clear, known to the test acting as card, acquirer or
// embosser; the HSM only ever holds them wrapped).
const (
	imkHex = "0123456789ABCDEFFEDCBA9876543210"
	cvkHex = "0123456789ABCDEFFEDCBA9876543210" // Visa CVV test pair (CVK A || CVK B)
	pvkHex = "0123456789ABCDEFFEDCBA9876543210"
	zpkHex = "E8DD93B8AF13999C7644C0FE11F5D2A7"
	kekHex = "88E1AB2A2E3DD38C1FA039A536500CC8A87AB9D62DC92C01058FA79F44657DE6"
)

// chipData is a field 55 for cvn with the card's ARQC computed by the test
// acting as the card.
func chipData(t testing.TB, cvn emv.CVN, iccMK []byte) map[tlv.Tag][]byte {
	t.Helper()
	tags := map[tlv.Tag][]byte{
		0x9F02: unhex(t, "000000001000"),
		0x9F03: unhex(t, "000000000000"),
		0x9F1A: unhex(t, "0840"),
		0x95:   unhex(t, "0000000000"),
		0x5F2A: unhex(t, "0840"),
		0x9A:   unhex(t, "260115"),
		0x9C:   unhex(t, "00"),
		0x9F37: unhex(t, "51882371"),
		0x82:   unhex(t, "1800"),
		0x9F36: unhex(t, "0015"),
	}
	switch cvn.Scheme {
	case "visa":
		tags[0x9F10] = []byte{0x06, 0x01, cvn.Code, 0x03, 0xA0, 0x00, 0x00}
	default:
		tags[0x9F10] = append([]byte{0x01, cvn.Code, 0xA0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, make([]byte, 8)...)
	}
	ac, err := emv.GenerateAC(cvn, iccMK, tags)
	if err != nil {
		t.Fatalf("card: generating AC for %v: %v", cvn, err)
	}
	tags[0x9F26] = ac
	return tags
}

func TestARQCAndARPC(t *testing.T) {
	ctx := context.Background()
	pan := emv.PAN("4761739001010010")
	imk := unhex(t, imkHex)
	cases := []struct {
		scheme string
		n      int
	}{{"visa", 10}, {"visa", 18}, {"visa", 22}, {"mastercard", 16}, {"mastercard", 17}, {"mastercard", 20}, {"mastercard", 21}}
	for _, tc := range cases {
		cvn, err := emv.LookupCVN(tc.scheme, tc.n)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(cvn.String(), func(t *testing.T) {
			f := newFixture(t)
			info := f.importKey(t, emv.KeyIMKAC, emv.KeySpecTDES2, imk)
			iccMK, err := emv.DeriveICCMasterKeyWith(mustTDES(t, imk), cvn.MKD, pan.Reveal(), "01")
			if err != nil {
				t.Fatal(err)
			}
			tags := chipData(t, cvn, iccMK)
			req := softhsm.ARQC{IMKRef: info.Ref, CVN: cvn, PAN: pan, PSN: "001", ICC: tags}
			res, err := f.hsm.VerifyARQC(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Valid || res.KeyVersion != 1 {
				t.Fatalf("VerifyARQC = %+v, want valid with v1", res)
			}
			for _, rc := range []string{"00", "51"} {
				iad, err := f.hsm.GenerateARPC(ctx, req, res.KeyVersion, rc)
				if err != nil {
					t.Fatal(err)
				}
				in := emv.ARPCInput{ARC: emv.ARC(rc), CSU: emv.CSU(rc == "00")}
				arpc, err := emv.GenerateARPC(cvn, iccMK, tags, in)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := emv.IssuerAuthenticationData(cvn, arpc, in)
				if !bytes.Equal(iad, want) {
					t.Fatalf("rc %s: tag 91 = %X, want %X", rc, iad, want)
				}
				if _, err := tlv.ResponseICC(iad); err != nil {
					t.Fatalf("tag 91 value does not fit field 55: %v", err)
				}
			}
			// A changed amount, another PSN or a wrong ARQC do not verify.
			bad := map[string]softhsm.ARQC{}
			amt := cloneTags(tags)
			amt[0x9F02] = unhex(t, "000000009999")
			bad["amount"] = softhsm.ARQC{IMKRef: info.Ref, CVN: cvn, PAN: pan, PSN: "01", ICC: amt}
			bad["psn"] = softhsm.ARQC{IMKRef: info.Ref, CVN: cvn, PAN: pan, PSN: "02", ICC: tags}
			ac := cloneTags(tags)
			ac[0x9F26] = append([]byte{ac[0x9F26][0] ^ 1}, ac[0x9F26][1:]...)
			bad["arqc"] = softhsm.ARQC{IMKRef: info.Ref, CVN: cvn, PAN: pan, PSN: "01", ICC: ac}
			for name, r := range bad {
				res, err := f.hsm.VerifyARQC(ctx, r)
				if err != nil || res.Valid {
					t.Fatalf("%s: VerifyARQC = %+v, %v; want invalid, nil", name, res, err)
				}
			}
			missing := cloneTags(tags)
			delete(missing, 0x9F36)
			if _, err := f.hsm.VerifyARQC(ctx, softhsm.ARQC{IMKRef: info.Ref, CVN: cvn, PAN: pan, ICC: missing}); err == nil {
				t.Fatal("missing ATC: want an error")
			}
		})
	}
}

func cloneTags(m map[tlv.Tag][]byte) map[tlv.Tag][]byte {
	out := make(map[tlv.Tag][]byte, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func mustTDES(t testing.TB, key []byte) interface {
	BlockSize() int
	Encrypt(dst, src []byte)
	Decrypt(dst, src []byte)
} {
	t.Helper()
	c, err := emv.NewTDES(key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCVVAndRotation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cvk := unhex(t, cvkHex)
	info := f.importKey(t, emv.KeyCVK, emv.KeySpecTDES2, cvk)
	pan := emv.PAN("4123456789012345")
	set, err := f.hsm.GenerateCVVSet(ctx, info.Ref, pan, "8701", "101")
	if err != nil {
		t.Fatal(err)
	}
	// Same results as the emv package with the clear CVK.
	for name, pair := range map[string][2]emv.CVV{
		"cvv":  {set.CVV, must(emv.GenerateCVV(cvk, pan.Reveal(), "8701", "101"))},
		"icvv": {set.ICVV, must(emv.GenerateICVV(cvk, pan.Reveal(), "8701"))},
		"cvv2": {set.CVV2, must(emv.GenerateCVV2(cvk, pan.Reveal(), "8701"))},
	} {
		if pair[0].Reveal() != pair[1].Reveal() || len(pair[0].Reveal()) != 3 {
			t.Fatalf("%s mismatch", name)
		}
	}
	check := func(label string, want bool) {
		t.Helper()
		for name, fn := range map[string]func() (bool, error){
			"cvv":  func() (bool, error) { return f.hsm.VerifyCVV(ctx, info.Ref, pan, "8701", "101", set.CVV) },
			"icvv": func() (bool, error) { return f.hsm.VerifyICVV(ctx, info.Ref, pan, "8701", set.ICVV) },
			"cvv2": func() (bool, error) { return f.hsm.VerifyCVV2(ctx, info.Ref, pan, "8701", set.CVV2) },
		} {
			ok, err := fn()
			if err != nil || ok != want {
				t.Fatalf("%s: %s = %v, %v; want %v", label, name, ok, err, want)
			}
		}
	}
	check("fresh", true)
	wrong := emv.CVV(string('0'+(set.CVV2.Reveal()[0]-'0'+1)%10) + set.CVV2.Reveal()[1:])
	if ok, err := f.hsm.VerifyCVV2(ctx, info.Ref, pan, "8701", wrong); ok || err != nil {
		t.Fatalf("wrong CVV2 = %v, %v", ok, err)
	}
	if ok, err := f.hsm.VerifyCVV2(ctx, info.Ref, pan, "8702", set.CVV2); ok || err != nil {
		t.Fatalf("wrong expiry = %v, %v", ok, err)
	}
	if _, err := f.hsm.VerifyCVV2(ctx, info.Ref, "41234X", "8701", set.CVV2); !errors.Is(err, softhsm.ErrInvalidInput) {
		t.Fatalf("bad PAN: %v, want ErrInvalidInput", err)
	}

	// Rotate: v1 keeps verifying until its UsableUntil, v2 makes new sets.
	until := f.clock.Now().Add(30 * 24 * time.Hour)
	v2, err := f.hsm.Rotate(ctx, info.Ref, until)
	if err != nil || v2.Version != 2 || v2.Ref != info.Ref {
		t.Fatalf("Rotate = %+v, %v", v2, err)
	}
	check("after rotation", true)
	set2, _ := f.hsm.GenerateCVVSet(ctx, info.Ref, pan, "8701", "101")
	if set2.KeyVersion != 2 {
		t.Fatalf("new set made with v%d", set2.KeyVersion)
	}
	old, err := f.hsm.RevealCVV2(ctx, info.Ref, 1, pan, "8701")
	if err != nil || old.Reveal() != set.CVV2.Reveal() {
		t.Fatalf("RevealCVV2 v1 = %v", err)
	}
	list, _ := f.hsm.ListKeys(ctx, emv.KeyFilter{Ref: info.Ref})
	if len(list) != 2 || list[0].Status != emv.KeyRetired || !list[0].UsableUntil.Equal(until) || list[1].Status != emv.KeyActive {
		t.Fatalf("versions after rotation: %+v", list)
	}
	f.clock.Add(31 * 24 * time.Hour)
	f.hsm.Purge()
	if set.CVV2.Reveal() != set2.CVV2.Reveal() { // v1's value no longer verifies
		if ok, _ := f.hsm.VerifyCVV2(ctx, info.Ref, pan, "8701", set.CVV2); ok {
			t.Fatal("retired version verified past UsableUntil")
		}
	}
	if _, err := f.hsm.RevealCVV2(ctx, info.Ref, 1, pan, "8701"); !errors.Is(err, softhsm.ErrKeyExpired) {
		t.Fatalf("reveal with expired v1: %v, want ErrKeyExpired", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestDeriveICCKeysAndExport(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	imk := unhex(t, imkHex)
	kek := unhex(t, kekHex)
	ac := f.importKey(t, emv.KeyIMKAC, emv.KeySpecTDES2, imk)
	smi := f.generate(t, emv.KeyIMKSMI)
	kekInfo := f.importKey(t, emv.KeyKEK, emv.KeySpecAES256, kek)
	pan := emv.PAN("4761739001010010")
	keys, err := f.hsm.DeriveICCKeys(ctx, softhsm.ICCKeyRequest{IMKAC: ac.Ref, IMKSMI: smi.Ref, PAN: pan, PSN: "00", KEKRef: kekInfo.Ref})
	if err != nil {
		t.Fatal(err)
	}
	if keys.SMC.KeyBlock != "" || keys.SMI.KeyBlock == "" {
		t.Fatalf("SMI/SMC presence wrong: %+v", keys)
	}
	h, clear, err := softhsm.UnwrapTR31(kek, keys.AC.KeyBlock)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := emv.DeriveICCMasterKey(imk, pan.Reveal(), "00")
	if !bytes.Equal(clear, want) || h.Usage != "E0" || h.Exportability != 'N' {
		t.Fatalf("exported ICC MK-AC differs (usage %s)", h.Usage)
	}
	kcv, _ := emv.KCV(emv.AlgorithmTDES, want)
	if keys.AC.KCV != emv.EncodeHex(kcv) {
		t.Fatalf("KCV %s", keys.AC.KCV)
	}

	cvk := f.importKey(t, emv.KeyCVK, emv.KeySpecTDES2, unhex(t, cvkHex))
	exp, err := f.hsm.ExportKey(ctx, cvk.Ref, kekInfo.Ref)
	if err != nil {
		t.Fatal(err)
	}
	h, clear, err = softhsm.UnwrapTR31(kek, exp.KeyBlock)
	if err != nil || !bytes.Equal(clear, unhex(t, cvkHex)) || h.Usage != "C0" || h.Algorithm != 'T' || exp.KCV != cvk.KCV {
		t.Fatalf("exported CVK: %+v %v", h, err)
	}
}

func TestPINTranslateAndVerify(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	zpkA := unhex(t, zpkHex)
	zpkB := unhex(t, "0123456789ABCDEFFEDCBA9876543210")
	aesZPK := unhex(t, "C1D0F8FB4958670DBA40AB1F3752EF0D")
	a := f.importKey(t, emv.KeyZPK, emv.KeySpecTDES2, zpkA)
	b := f.importKey(t, emv.KeyZPK, emv.KeySpecTDES2, zpkB)
	c := f.importKey(t, emv.KeyZPK, emv.KeySpecAES128, aesZPK)
	pvk := f.importKey(t, emv.KeyPVK, emv.KeySpecTDES2, unhex(t, pvkHex))
	pan := emv.PAN("4123456789012345")

	// Published devindtools vector: PIN 123456 under zpkA, format 0.
	pub := emv.PINBlock("ABC5E23474210DAC")
	pubPAN := emv.PAN("4451234567890129")
	out, err := f.hsm.TranslatePIN(ctx, softhsm.EncryptedPIN{ZPKRef: a.Ref, Format: pinblock.Format0, Block: pub}, pubPAN, b.Ref, pinblock.Format0)
	if err != nil {
		t.Fatal(err)
	}
	if out != encipherPIN(t, pinblock.Format0, zpkB, "123456", pubPAN.Reveal()) {
		t.Fatal("translated block differs from the block built under the new key")
	}
	// To format 4 under an AES ZPK and back.
	f4, err := f.hsm.TranslatePIN(ctx, softhsm.EncryptedPIN{ZPKRef: a.Ref, Format: pinblock.Format0, Block: pub}, pubPAN, c.Ref, pinblock.Format4)
	if err != nil || len(f4.Reveal()) != 32 {
		t.Fatalf("to format 4: %v", err)
	}
	pin, err := pinblock.Decipher(pinblock.Format4, must(aesNew(aesZPK)), unhex(t, f4.Reveal()), pubPAN.Reveal())
	if err != nil || string(pin) != "123456" {
		t.Fatalf("format 4 result: %v", err)
	}
	if _, err := f.hsm.TranslatePIN(ctx, softhsm.EncryptedPIN{ZPKRef: a.Ref, Format: pinblock.Format0, Block: pub}, pubPAN, a.Ref, pinblock.Format4); !errors.Is(err, softhsm.ErrInvalidInput) {
		t.Fatalf("format 4 under TDES: %v, want ErrInvalidInput", err)
	}
	if _, err := f.hsm.TranslatePIN(ctx, softhsm.EncryptedPIN{ZPKRef: b.Ref, Format: pinblock.Format0, Block: pub}, pubPAN, a.Ref, 0); !errors.Is(err, softhsm.ErrPINBlock) {
		t.Fatalf("under the wrong ZPK: %v, want ErrPINBlock", err)
	}

	// PIN set from a ZPK block, then verification by PVV and IBM 3624.
	for _, method := range []softhsm.PINMethod{softhsm.PINMethodPVV, softhsm.PINMethodIBM3624} {
		t.Run(string(method), func(t *testing.T) {
			blk := encipherPIN(t, pinblock.Format0, zpkA, "4321", pan.Reveal())
			data, err := f.hsm.DerivePINVerification(ctx, softhsm.EncryptedPIN{ZPKRef: a.Ref, Format: 0, Block: blk}, pan,
				softhsm.PINCheck{Method: method, PVKRef: pvk.Ref, PVKI: "1"})
			if err != nil {
				t.Fatal(err)
			}
			chk := softhsm.PINCheck{Method: method, PVKRef: pvk.Ref, PVKI: data.PVKI, PVV: data.PVV, Offset: data.Offset}
			if method == softhsm.PINMethodPVV {
				want, _ := emv.PVV(unhex(t, pvkHex), pan.Reveal(), "1", "4321")
				if data.PVV != want {
					t.Fatalf("PVV %s, want %s", data.PVV, want)
				}
			} else if len(data.Offset) != 4 {
				t.Fatalf("offset %q", data.Offset)
			}
			for pinTry, want := range map[string]bool{"4321": true, "4322": false} {
				// The acquirer sends format 3 this time.
				try := encipherPIN(t, pinblock.Format3, zpkA, pinTry, pan.Reveal())
				ok, err := f.hsm.VerifyPIN(ctx, softhsm.EncryptedPIN{ZPKRef: a.Ref, Format: pinblock.Format3, Block: try}, pan, chk)
				if err != nil || ok != want {
					t.Fatalf("VerifyPIN(%s) = %v, %v; want %v", pinTry, ok, err, want)
				}
			}
			// Field 52 from an acquirer accepting formats 0 and 3: format 3
			// verifies, format 1 (not bound to the PAN) is refused unread.
			bound := []pinblock.Format{pinblock.Format0, pinblock.Format3}
			for pf, want := range map[pinblock.Format]error{pinblock.Format3: nil, pinblock.Format1: pinblock.ErrNotAccepted} {
				try := encipherPIN(t, pf, zpkA, "4321", pan.Reveal())
				ok, err := f.hsm.VerifyPIN(ctx, softhsm.EncryptedPIN{ZPKRef: a.Ref, Format: pinblock.FormatAny, Block: try, Accept: bound}, pan, chk)
				if want == nil && (err != nil || !ok) || want != nil && (!errors.Is(err, want) || errors.Is(err, softhsm.ErrPINBlock) || ok) {
					t.Fatalf("VerifyPIN(%s, accepting 0 and 3) = %v, %v; want %v", pf, ok, err, want)
				}
			}
		})
	}
}

func TestKDFVectors(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "vectors", "kdf_sp800_56c_onestep_sha256.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []struct {
			Name      string `json:"name"`
			Z         string `json:"z"`
			OtherInfo string `json:"other_info"`
			OKM       string `json:"okm"`
			Length    int    `json:"length"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &file); err != nil || len(file.Vectors) == 0 {
		t.Fatalf("vectors: %v", err)
	}
	for _, v := range file.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			got := emv.KDFOneStepSHA256(unhex(t, v.Z), unhex(t, v.OtherInfo), v.Length)
			if !bytes.Equal(got, unhex(t, v.OKM)) {
				t.Fatalf("OKM = %X, want %s", got, v.OKM)
			}
		})
	}
}

// TestPINSetECDH plays the issuer: it agrees the key with the HSM's ECDH
// public key (imported from the NIST CAVS vector, so Z is known), builds the
// format 4 block and sends it.
func TestPINSetECDH(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "vectors", "ecdh_p256_cavs.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []struct {
			Name string `json:"name"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &file); err != nil || len(file.Vectors) == 0 {
		t.Fatalf("vectors: %v", err)
	}
	ctx := context.Background()
	pan := emv.PAN("4123456789012345")
	for _, v := range file.Vectors {
		v := v
		t.Run(v.Name, func(t *testing.T) {
			f := newFixture(t)
			ecdhKey := f.importKey(t, emv.KeyECDH, emv.KeySpecECP256, unhex(t, jsonField(t, raw, v.Name, "d_iut")))
			pvk := f.importKey(t, emv.KeyPVK, emv.KeySpecTDES2, unhex(t, pvkHex))
			pub, err := f.hsm.ECDHPublicKey(ctx, ecdhKey.Ref)
			if err != nil {
				t.Fatal(err)
			}
			qiut := unhex(t, jsonField(t, raw, v.Name, "q_iut"))
			if !bytes.Equal(pub.Point, qiut) {
				t.Fatalf("public point differs from Q_IUT")
			}
			var jwk map[string]string
			if err := json.Unmarshal(pub.JWK, &jwk); err != nil || jwk["crv"] != "P-256" || jwk["kid"] != pub.Fingerprint || len(pub.Fingerprint) != 43 {
				t.Fatalf("JWK %s fingerprint %s", pub.JWK, pub.Fingerprint)
			}
			// Issuer side: Z is the published shared secret.
			qcavs := unhex(t, jsonField(t, raw, v.Name, "q_cavs"))
			z := unhex(t, jsonField(t, raw, v.Name, "z"))
			key := emv.KDFOneStepSHA256(z, emv.PINSetFixedInfo(qcavs, pub.Point), 32)
			block := encipherPIN(t, pinblock.Format4, key, "2580", pan.Reveal())
			data, err := f.hsm.SetPIN(ctx, softhsm.PINSet{ECDHRef: ecdhKey.Ref, IssuerPublicKey: qcavs, Block: block, PAN: pan},
				softhsm.PINCheck{Method: softhsm.PINMethodPVV, PVKRef: pvk.Ref, PVKI: "1"})
			if err != nil {
				t.Fatal(err)
			}
			want, _ := emv.PVV(unhex(t, pvkHex), pan.Reveal(), "1", "2580")
			if data.PVV != want || data.PVKVersion != 1 {
				t.Fatalf("PVV %s, want %s", data.PVV, want)
			}
			// The same block for another PAN, or from another issuer key, fails.
			if _, err := f.hsm.SetPIN(ctx, softhsm.PINSet{ECDHRef: ecdhKey.Ref, IssuerPublicKey: qcavs, Block: block, PAN: "4123456789012346"},
				softhsm.PINCheck{Method: softhsm.PINMethodPVV, PVKRef: pvk.Ref, PVKI: "1"}); !errors.Is(err, softhsm.ErrPINBlock) {
				t.Fatalf("other PAN: %v, want ErrPINBlock", err)
			}
			// QPay's 16-hex format 0 block: a TDES key from the same Z
			// under the format 0 AlgorithmID; the format 4 key does not
			// decipher it.
			key0 := emv.KDFOneStepSHA256(z, emv.PINSetFixedInfoFormat0(qcavs, pub.Point), 24)
			block0 := encipherPIN(t, pinblock.Format0, key0, "2580", pan.Reveal())
			if len(block0.Reveal()) != 16 {
				t.Fatalf("format 0 block of %d hex characters", len(block0.Reveal()))
			}
			data0, err := f.hsm.SetPIN(ctx, softhsm.PINSet{ECDHRef: ecdhKey.Ref, IssuerPublicKey: qcavs, Block: block0, PAN: pan},
				softhsm.PINCheck{Method: softhsm.PINMethodPVV, PVKRef: pvk.Ref, PVKI: "1"})
			if err != nil || data0.PVV != want {
				t.Fatalf("format 0 SetPIN = %+v, %v; want PVV %s", data0, err, want)
			}
			wrong0 := encipherPIN(t, pinblock.Format0, key[:24], "2580", pan.Reveal())
			if _, err := f.hsm.SetPIN(ctx, softhsm.PINSet{ECDHRef: ecdhKey.Ref, IssuerPublicKey: qcavs, Block: wrong0, PAN: pan},
				softhsm.PINCheck{Method: softhsm.PINMethodPVV, PVKRef: pvk.Ref, PVKI: "1"}); !errors.Is(err, softhsm.ErrPINBlock) {
				t.Fatalf("format 0 block under the format 4 key: %v, want ErrPINBlock", err)
			}
			otherIssuer, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			otherPoint := must(otherIssuer.PublicKey.Bytes())
			if _, err := f.hsm.SetPIN(ctx, softhsm.PINSet{ECDHRef: ecdhKey.Ref, IssuerPublicKey: otherPoint, Block: block, PAN: pan},
				softhsm.PINCheck{Method: softhsm.PINMethodPVV, PVKRef: pvk.Ref, PVKI: "1"}); !errors.Is(err, softhsm.ErrPINBlock) {
				t.Fatalf("other issuer key: %v, want ErrPINBlock", err)
			}
			if _, err := f.hsm.SetPIN(ctx, softhsm.PINSet{ECDHRef: ecdhKey.Ref, IssuerPublicKey: []byte("junk"), Block: block, PAN: pan},
				softhsm.PINCheck{Method: softhsm.PINMethodPVV, PVKRef: pvk.Ref, PVKI: "1"}); !errors.Is(err, softhsm.ErrPublicKey) {
				t.Fatalf("junk key: %v, want ErrPublicKey", err)
			}
		})
	}
	t.Run("real agreement", func(t *testing.T) {
		f := newFixture(t)
		ecdhKey := f.generate(t, emv.KeyECDH)
		pvk := f.importKey(t, emv.KeyPVK, emv.KeySpecTDES2, unhex(t, pvkHex))
		issuerPub, key := f.pinSetAgreement(t, ecdhKey.Ref)
		block := encipherPIN(t, pinblock.Format4, key, "908172", pan.Reveal())
		data, err := f.hsm.SetPIN(ctx, softhsm.PINSet{ECDHRef: ecdhKey.Ref, IssuerPublicKey: issuerPub, Block: block, PAN: pan},
			softhsm.PINCheck{Method: softhsm.PINMethodIBM3624, PVKRef: pvk.Ref})
		if err != nil || len(data.Offset) != 6 {
			t.Fatalf("SetPIN = %+v, %v", data, err)
		}
	})
}

func jsonField(t testing.TB, raw []byte, name, field string) string {
	t.Helper()
	var file struct {
		Vectors []map[string]string `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	for _, v := range file.Vectors {
		if v["name"] == name {
			return v[field]
		}
	}
	t.Fatalf("no %s in %s", field, name)
	return ""
}

func TestMAC(t *testing.T) {
	f := newFixture(t)
	zak := unhex(t, "0123456789ABCDEFFEDCBA9876543210")
	info := f.importKey(t, emv.KeyZAK, emv.KeySpecTDES2, zak)
	data := []byte("0200 message body")
	got, err := f.hsm.GenerateMAC(context.Background(), info.Ref, 0, data)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := emv.MACAlgorithm3(zak, data, emv.PaddingMethod2)
	if !bytes.Equal(got, want) {
		t.Fatalf("MAC %X, want %X", got, want)
	}
}

// TestVerifyMACAcrossRotation: VerifyMAC names the ZAK version that
// verified; after a rotation a MAC under the retired version verifies
// until its UsableUntil (the acquirer changes keys on its own schedule),
// and the answer can be MACed under that version.
func TestVerifyMACAcrossRotation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	zak := unhex(t, "0123456789ABCDEFFEDCBA9876543210")
	info := f.importKey(t, emv.KeyZAK, emv.KeySpecTDES2, zak)
	data := []byte("01007220000000000000")
	old, _ := emv.MACAlgorithm3(zak, data, emv.PaddingMethod2)
	if v, err := f.hsm.VerifyMAC(ctx, info.Ref, data, old); v != 1 || err != nil {
		t.Fatalf("VerifyMAC = %d, %v; want version 1", v, err)
	}
	wrong := append([]byte(nil), old...)
	wrong[7] ^= 1
	if v, err := f.hsm.VerifyMAC(ctx, info.Ref, data, wrong); v != 0 || err != nil {
		t.Fatalf("wrong MAC: %d, %v; want 0, nil", v, err)
	}
	if _, err := f.hsm.VerifyMAC(ctx, info.Ref, data, old[:4]); !errors.Is(err, softhsm.ErrInvalidInput) {
		t.Fatalf("4-byte MAC: %v, want ErrInvalidInput", err)
	}
	until := f.clock.Now().Add(24 * time.Hour)
	if _, err := f.hsm.Rotate(ctx, info.Ref, until); err != nil {
		t.Fatal(err)
	}
	if v, err := f.hsm.VerifyMAC(ctx, info.Ref, data, old); v != 1 || err != nil {
		t.Fatalf("after rotation: VerifyMAC = %d, %v; want version 1", v, err)
	}
	if got, err := f.hsm.GenerateMAC(ctx, info.Ref, 1, data); err != nil || !bytes.Equal(got, old) {
		t.Fatalf("GenerateMAC v1 = %X, %v; want %X", got, err, old)
	}
	fresh, err := f.hsm.GenerateMAC(ctx, info.Ref, 0, data)
	if err != nil || bytes.Equal(fresh, old) {
		t.Fatalf("GenerateMAC active = %X, %v (v1's MAC %X)", fresh, err, old)
	}
	if v, err := f.hsm.VerifyMAC(ctx, info.Ref, data, fresh); v != 2 || err != nil {
		t.Fatalf("VerifyMAC new = %d, %v; want version 2", v, err)
	}
	f.clock.Add(25 * time.Hour)
	f.hsm.Purge()
	if v, err := f.hsm.VerifyMAC(ctx, info.Ref, data, old); v != 0 || err != nil {
		t.Fatalf("past UsableUntil: VerifyMAC = %d, %v; want 0", v, err)
	}
}

// TestARPCFromSessionEqualsDerived: the ARPC answered with the session of
// VerifyARQC is the one derived from scratch, for every CVN.
func TestARPCFromSessionEqualsDerived(t *testing.T) {
	for _, c := range emv.CVNs() {
		t.Run(c.String(), func(t *testing.T) {
			f := newFixture(t)
			imk := unhex(t, imkHex)
			info := f.importKey(t, emv.KeyIMKAC, emv.KeySpecTDES2, imk)
			pan := emv.PAN("4761739001010010")
			mk, err := emv.DeriveICCMasterKeyWith(mustTDES(t, imk), c.MKD, pan.Reveal(), "01")
			if err != nil {
				t.Fatal(err)
			}
			tc := struct {
				hsm *softhsm.HSM
				req softhsm.ARQC
			}{f.hsm, softhsm.ARQC{IMKRef: info.Ref, CVN: c, PAN: pan, PSN: "01", ICC: chipData(t, c, mk)}}
			res, err := tc.hsm.VerifyARQC(context.Background(), tc.req)
			if err != nil || !res.Valid || res.Session == nil {
				t.Fatalf("VerifyARQC: %+v %v", res, err)
			}
			for _, rc := range []string{"00", "51"} {
				derived, err := tc.hsm.GenerateARPC(context.Background(), tc.req, res.KeyVersion, rc)
				if err != nil {
					t.Fatal(err)
				}
				withSession := tc.req
				withSession.Session = res.Session
				fromSession, err := tc.hsm.GenerateARPC(context.Background(), withSession, res.KeyVersion, rc)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(derived, fromSession) {
					t.Fatalf("%s: ARPC from the session %X, derived %X", rc, fromSession, derived)
				}
			}
		})
	}
}

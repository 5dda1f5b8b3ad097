package softhsm_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/pinblock"
	"github.com/cardhost/cardhost/emv/softhsm"
)

const testMasterHex = "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	hsm   *softhsm.HSM
	store *softhsm.MemStore
	clock *clock
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{store: softhsm.NewMemStore(), clock: &clock{t: time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)}}
	h, err := softhsm.New(softhsm.Config{MasterKeyHex: testMasterHex, Now: f.clock.Now}, f.store)
	if err != nil {
		t.Fatal(err)
	}
	f.hsm = h
	return f
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := emv.DecodeHex(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// importKey stores a key with known clear material, entered as two
// components (or one for EC/HMAC keys) with a correct combined KCV.
func (f *fixture) importKey(t testing.TB, typ emv.KeyType, spec emv.KeySpec, clear []byte) softhsm.KeyInfo {
	t.Helper()
	var comps []emv.SecretBytes
	if spec == emv.KeySpecECP256 || spec == emv.KeySpecHMACSHA256 {
		comps = []emv.SecretBytes{append(emv.SecretBytes{}, clear...)}
	} else {
		c2 := bytes.Repeat([]byte{0x5A}, len(clear))
		c1 := make(emv.SecretBytes, len(clear))
		subtle.XORBytes(c1, clear, c2)
		comps = []emv.SecretBytes{c1, c2}
	}
	info, err := f.hsm.ImportComponents(context.Background(), softhsm.ImportRequest{
		KeyRequest: softhsm.KeyRequest{Type: typ, Spec: spec},
		Components: comps,
		KCV:        kcvOf(t, spec, clear),
	})
	if err != nil {
		t.Fatalf("importing %s: %v", typ, err)
	}
	return info
}

func kcvOf(t testing.TB, spec emv.KeySpec, clear []byte) string {
	t.Helper()
	switch spec {
	case emv.KeySpecTDES2, emv.KeySpecTDES3:
		k, err := emv.KCV(emv.AlgorithmTDES, clear)
		if err != nil {
			t.Fatal(err)
		}
		return emv.EncodeHex(k)
	case emv.KeySpecAES128, emv.KeySpecAES256:
		k, err := emv.KCV(emv.AlgorithmAES, clear)
		if err != nil {
			t.Fatal(err)
		}
		return emv.EncodeHex(k)
	case emv.KeySpecECP256:
		priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), clear)
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := priv.PublicKey.Bytes()
		sum := sha256.Sum256(pub)
		return emv.EncodeHex(sum[:3])
	}
	t.Fatalf("no KCV rule for %s", spec)
	return ""
}

func (f *fixture) generate(t testing.TB, typ emv.KeyType) softhsm.KeyInfo {
	t.Helper()
	info, err := f.hsm.GenerateKey(context.Background(), softhsm.KeyRequest{Type: typ})
	if err != nil {
		t.Fatalf("generating %s: %v", typ, err)
	}
	return info
}

// pinSetAgreement plays the issuer of a PIN set against the HSM's ECDH key
// ecdhRef: a fresh P-256 key, ECDH and the one-step KDF. It returns the
// issuer's public point and the agreed AES-256 key.
func (f *fixture) pinSetAgreement(t testing.TB, ecdhRef string) (issuerPub, key []byte) {
	t.Helper()
	pub, _ := f.hsm.ECDHPublicKey(context.Background(), ecdhRef)
	hsmPub, err := softhsm.ParsePublicKey([]byte(pub.PEM))
	if err != nil {
		t.Fatal(err)
	}
	issuer, _ := ecdh.P256().GenerateKey(rand.Reader)
	z, _ := issuer.ECDH(hsmPub)
	return issuer.PublicKey().Bytes(), emv.KDFOneStepSHA256(z, emv.PINSetFixedInfo(issuer.PublicKey().Bytes(), hsmPub.Bytes()), 32)
}

func TestMasterKeyConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "master.key")
	kcv, err := softhsm.GenerateMasterKeyFile(good, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(good)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %o, want 0600", st.Mode().Perm())
	}
	if _, err := softhsm.GenerateMasterKeyFile(good, nil); !errors.Is(err, os.ErrExist) {
		t.Fatalf("overwrite: error = %v, want ErrExist", err)
	}
	h, err := softhsm.New(softhsm.Config{MasterKeyFile: good}, softhsm.NewMemStore())
	if err != nil {
		t.Fatal(err)
	}
	if h.MasterKCV() != kcv || len(kcv) != 6 {
		t.Fatalf("MasterKCV = %s, file KCV %s", h.MasterKCV(), kcv)
	}

	raw := filepath.Join(dir, "raw.key")
	os.WriteFile(raw, bytes.Repeat([]byte{7}, 32), 0o600)
	open := filepath.Join(dir, "open.key")
	os.WriteFile(open, []byte(testMasterHex), 0o644)
	short := filepath.Join(dir, "short.key")
	os.WriteFile(short, []byte("0011"), 0o600)

	tests := []struct {
		name string
		cfg  softhsm.Config
		want error
	}{
		{"raw 32 bytes", softhsm.Config{MasterKeyFile: raw}, nil},
		{"hex value", softhsm.Config{MasterKeyHex: testMasterHex}, nil},
		{"hex value with spaces", softhsm.Config{MasterKeyHex: " " + testMasterHex + "\n"}, nil},
		{"none", softhsm.Config{}, softhsm.ErrNoMasterKey},
		{"missing file", softhsm.Config{MasterKeyFile: filepath.Join(dir, "nope")}, softhsm.ErrNoMasterKey},
		{"world readable", softhsm.Config{MasterKeyFile: open}, softhsm.ErrMasterKey},
		{"short", softhsm.Config{MasterKeyFile: short}, softhsm.ErrMasterKey},
		{"bad hex", softhsm.Config{MasterKeyHex: emv.Sensitive(strings.Repeat("zz", 32))}, softhsm.ErrMasterKey},
		{"both", softhsm.Config{MasterKeyFile: raw, MasterKeyHex: testMasterHex}, softhsm.ErrMasterKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := softhsm.New(tc.cfg, softhsm.NewMemStore())
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("New error = %v, want %v", err, tc.want)
			}
			if err != nil && strings.Contains(strings.ToUpper(err.Error()), testMasterHex[:16]) {
				t.Fatalf("error leaks the key: %v", err)
			}
		})
	}
}

func TestGenerateAndList(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	types := []emv.KeyType{emv.KeyIMKAC, emv.KeyIMKSMI, emv.KeyIMKSMC, emv.KeyCVK, emv.KeyPVK, emv.KeyZPK,
		emv.KeyZAK, emv.KeyKEK, emv.KeyCA, emv.KeyECDH, emv.KeyPANDEK, emv.KeyPANIDX}
	refs := map[string]bool{}
	for _, typ := range types {
		info := f.generate(t, typ)
		if !strings.HasPrefix(info.Ref, "key_") || refs[info.Ref] {
			t.Fatalf("bad or duplicate ref %q", info.Ref)
		}
		refs[info.Ref] = true
		if len(info.KCV) != 6 || info.Version != 1 || info.Status != emv.KeyActive || info.Usage == "" {
			t.Fatalf("%s: info %+v", typ, info)
		}
	}
	list, err := f.hsm.ListKeys(ctx, emv.KeyFilter{})
	if err != nil || len(list) != len(types) {
		t.Fatalf("ListKeys = %d keys, %v", len(list), err)
	}
	js, _ := json.Marshal(list)
	if strings.Contains(string(js), "rapped") {
		t.Fatalf("listing exposes wrapped material: %s", js)
	}
	if _, err := f.hsm.GenerateKey(ctx, softhsm.KeyRequest{Type: emv.KeyPANDEK, Spec: emv.KeySpecTDES2}); !errors.Is(err, softhsm.ErrKeySpec) {
		t.Fatalf("PAN-DEK as TDES: %v, want ErrKeySpec", err)
	}
	if _, err := f.hsm.GenerateKey(ctx, softhsm.KeyRequest{Type: "BOGUS"}); !errors.Is(err, softhsm.ErrKeySpec) {
		t.Fatalf("unknown type: %v, want ErrKeySpec", err)
	}
}

// Published KCVs: the TDES test key 0123456789ABCDEF FEDCBA9876543210 has
// KCV 08D7B4 (encrypt-zeros; e.g. EFTlab BP-Tools, Thales test LMK
// documentation); the TR-31:2018 A.7.4 AES-128 key has CMAC KCV 08793E.
func TestImportComponentsKCV(t *testing.T) {
	ctx := context.Background()
	tdes := unhex(t, "0123456789ABCDEFFEDCBA9876543210")
	tdesC2 := unhex(t, "1111111111111111EEEEEEEEEEEEEEEE")
	tdesC1 := make([]byte, 16)
	subtle.XORBytes(tdesC1, tdes, tdesC2)
	// A single-length DES key written as a TDES key: halves equal (for
	// three-key TDES, the second and third thirds equal).
	single := unhex(t, "0123456789ABCDEF0123456789ABCDEF")
	singleC1 := make([]byte, 16)
	subtle.XORBytes(singleC1, single, tdesC2)
	singleKCV, _ := emv.KCV(emv.AlgorithmTDES, single)
	single3 := unhex(t, "FEDCBA98765432100123456789ABCDEF0123456789ABCDEF")
	single3C2 := bytes.Repeat([]byte{0x5D}, 24)
	single3C1 := make([]byte, 24)
	subtle.XORBytes(single3C1, single3, single3C2)
	single3KCV, _ := emv.KCV(emv.AlgorithmTDES, single3)
	aesKey := unhex(t, "3F419E1CB7079442AA37474C2EFBF8B8")
	aesC2 := bytes.Repeat([]byte{0xA5}, 16)
	aesC1 := make([]byte, 16)
	subtle.XORBytes(aesC1, aesKey, aesC2)

	tests := []struct {
		name    string
		typ     emv.KeyType
		spec    emv.KeySpec
		comps   [][]byte
		compKCV []string
		kcv     string
		want    error
	}{
		{"tdes published 08D7B4", emv.KeyZPK, emv.KeySpecTDES2, [][]byte{tdesC1, tdesC2}, nil, "08D7B4", nil},
		{"tdes lower case, 4 digits", emv.KeyCVK, emv.KeySpecTDES2, [][]byte{tdesC1, tdesC2}, nil, "08d7", nil},
		{"aes published 08793E", emv.KeyKEK, emv.KeySpecAES128, [][]byte{aesC1, aesC2}, nil, "08793E", nil},
		{"tdes wrong KCV", emv.KeyZPK, emv.KeySpecTDES2, [][]byte{tdesC1, tdesC2}, nil, "08D7B5", softhsm.ErrKCVMismatch},
		{"component KCV wrong", emv.KeyZPK, emv.KeySpecTDES2, [][]byte{tdesC1, tdesC2}, []string{"000000", "000000"}, "08D7B4", softhsm.ErrKCVMismatch},
		{"one component", emv.KeyZPK, emv.KeySpecTDES2, [][]byte{tdes}, nil, "08D7B4", softhsm.ErrInvalidInput},
		{"no combined KCV", emv.KeyZPK, emv.KeySpecTDES2, [][]byte{tdesC1, tdesC2}, nil, "", softhsm.ErrInvalidInput},
		{"component length", emv.KeyZPK, emv.KeySpecTDES2, [][]byte{tdesC1[:8], tdesC2[:8]}, nil, "08D7B4", softhsm.ErrKeySpec},
		{"KCV too short", emv.KeyZPK, emv.KeySpecTDES2, [][]byte{tdesC1, tdesC2}, nil, "08", softhsm.ErrKCVMismatch},
		{"tdes halves equal", emv.KeyZPK, emv.KeySpecTDES2, [][]byte{singleC1, tdesC2}, nil, emv.EncodeHex(singleKCV), softhsm.ErrWeakKey},
		{"tdes3 second and third equal", emv.KeyZPK, emv.KeySpecTDES3, [][]byte{single3C1, single3C2}, nil, emv.EncodeHex(single3KCV), softhsm.ErrWeakKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			var comps []emv.SecretBytes
			for _, c := range tc.comps {
				comps = append(comps, append(emv.SecretBytes{}, c...))
			}
			compKCVs := tc.compKCV
			info, err := f.hsm.ImportComponents(ctx, softhsm.ImportRequest{
				KeyRequest: softhsm.KeyRequest{Type: tc.typ, Spec: tc.spec}, Components: comps, ComponentKCVs: compKCVs, KCV: tc.kcv,
			})
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
			list, _ := f.hsm.ListKeys(ctx, emv.KeyFilter{})
			if tc.want != nil {
				if len(list) != 0 {
					t.Fatalf("a rejected import stored %d keys", len(list))
				}
				return
			}
			if !strings.HasPrefix(info.KCV, strings.ToUpper(tc.kcv)) || len(list) != 1 {
				t.Fatalf("KCV %s, %d keys", info.KCV, len(list))
			}
			for _, c := range comps {
				if !bytes.Equal(c, make([]byte, len(c))) {
					t.Fatal("components not wiped")
				}
			}
		})
	}
	t.Run("component KCVs right", func(t *testing.T) {
		f := newFixture(t)
		k1, _ := emv.KCV(emv.AlgorithmTDES, tdesC1)
		k2, _ := emv.KCV(emv.AlgorithmTDES, tdesC2)
		_, err := f.hsm.ImportComponents(ctx, softhsm.ImportRequest{
			KeyRequest:    softhsm.KeyRequest{Type: emv.KeyZPK},
			Components:    []emv.SecretBytes{append(emv.SecretBytes{}, tdesC1...), append(emv.SecretBytes{}, tdesC2...)},
			ComponentKCVs: []string{emv.EncodeHex(k1), emv.EncodeHex(k2)},
			KCV:           "08D7B4",
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestTamperedRecordsFailAuthentication(t *testing.T) {
	ctx := context.Background()
	cvk := unhex(t, "0123456789ABCDEFFEDCBA9876543210")
	useAsCVK := func(h *softhsm.HSM, ref string) error {
		_, err := h.GenerateCVVSet(ctx, ref, "4123456789012345", "8701", "101")
		return err
	}
	tests := []struct {
		name   string
		tamper func(*emv.KeyRecord)
		use    func(h *softhsm.HSM, ref string) error
	}{
		{"usage", func(r *emv.KeyRecord) { r.Usage = "V2" }, nil},
		{"kcv", func(r *emv.KeyRecord) { r.KCV = "000000" }, nil},
		{"tenant", func(r *emv.KeyRecord) { r.Tenant = "other" }, nil},
		{"spec", func(r *emv.KeyRecord) { r.Spec = emv.KeySpecAES128 }, nil},
		{"expiry", func(r *emv.KeyRecord) { r.Expires = r.Created.Add(time.Hour) }, nil},
		{"activation", func(r *emv.KeyRecord) { r.Activated = r.Created.Add(-time.Hour) }, nil},
		{"wrapped byte", func(r *emv.KeyRecord) { r.Wrapped[20] ^= 1 }, nil},
		{"wrapped truncated", func(r *emv.KeyRecord) { r.Wrapped = r.Wrapped[:10] }, nil},
		{"master kcv", func(r *emv.KeyRecord) { r.MasterKCV = "ABCDEF" }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			info := f.importKey(t, emv.KeyCVK, emv.KeySpecTDES2, cvk)
			if !f.store.Tamper(info.Ref, 1, tc.tamper) {
				t.Fatal("record not found")
			}
			f.hsm.Purge()
			use := tc.use
			if use == nil {
				use = useAsCVK
			}
			if err := use(f.hsm, info.Ref); !errors.Is(err, softhsm.ErrKeyBlockAuth) {
				t.Fatalf("error = %v, want ErrKeyBlockAuth", err)
			}
		})
	}
	t.Run("CVK relabelled as PVK", func(t *testing.T) {
		f := newFixture(t)
		info := f.importKey(t, emv.KeyCVK, emv.KeySpecTDES2, cvk)
		zpkClear := unhex(t, "E8DD93B8AF13999C7644C0FE11F5D2A7")
		zpk := f.importKey(t, emv.KeyZPK, emv.KeySpecTDES2, zpkClear)
		f.store.Tamper(info.Ref, 1, func(r *emv.KeyRecord) { r.Type = emv.KeyPVK; r.Usage = "V2" })
		f.hsm.Purge()
		block := encipherPIN(t, 0, zpkClear, "1234", "4123456789012345")
		_, err := f.hsm.DerivePINVerification(ctx, softhsm.EncryptedPIN{ZPKRef: zpk.Ref, Format: 0, Block: block}, "4123456789012345",
			softhsm.PINCheck{Method: softhsm.PINMethodPVV, PVKRef: info.Ref, PVKI: "1"})
		if !errors.Is(err, softhsm.ErrKeyBlockAuth) {
			t.Fatalf("error = %v, want ErrKeyBlockAuth", err)
		}
	})
	t.Run("record replayed as another version", func(t *testing.T) {
		f := newFixture(t)
		info := f.importKey(t, emv.KeyCVK, emv.KeySpecTDES2, cvk)
		rec, err := f.store.GetKey(ctx, info.Ref, 1)
		if err != nil {
			t.Fatal(err)
		}
		rec.Version = 2
		if err := f.store.PutKey(ctx, rec); err != nil {
			t.Fatal(err)
		}
		f.hsm.Purge()
		if err := useAsCVK(f.hsm, info.Ref); !errors.Is(err, softhsm.ErrKeyBlockAuth) {
			t.Fatalf("error = %v, want ErrKeyBlockAuth", err)
		}
	})
	t.Run("other master key", func(t *testing.T) {
		f := newFixture(t)
		info := f.importKey(t, emv.KeyCVK, emv.KeySpecTDES2, cvk)
		other, err := softhsm.New(softhsm.Config{MasterKeyHex: emv.Sensitive(strings.Repeat("11", 32))}, f.store)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := other.GenerateCVVSet(ctx, info.Ref, "4123456789012345", "8701", "101"); !errors.Is(err, softhsm.ErrKeyBlockAuth) {
			t.Fatalf("error = %v, want ErrKeyBlockAuth", err)
		}
	})
	t.Run("status is not bound", func(t *testing.T) {
		f := newFixture(t)
		info := f.importKey(t, emv.KeyCVK, emv.KeySpecTDES2, cvk)
		f.store.Tamper(info.Ref, 1, func(r *emv.KeyRecord) { r.UsableUntil = r.Created.Add(time.Hour) })
		f.hsm.Purge()
		if _, err := f.hsm.GenerateCVVSet(ctx, info.Ref, "4123456789012345", "8701", "101"); err != nil {
			t.Fatalf("changing UsableUntil of an active key: %v", err)
		}
	})
}

func TestKeyUsageEnforced(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	keys := map[emv.KeyType]string{}
	for _, typ := range []emv.KeyType{emv.KeyIMKAC, emv.KeyCVK, emv.KeyPVK, emv.KeyZPK, emv.KeyKEK, emv.KeyCA, emv.KeyECDH, emv.KeyPANDEK, emv.KeyPANIDX, emv.KeyZAK} {
		keys[typ] = f.generate(t, typ).Ref
	}
	pan := emv.PAN("4123456789012345")
	cvn, err := emv.LookupCVN("visa", 18)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"IMK-AC cannot verify a PIN", func() error {
			_, err := f.hsm.VerifyPIN(ctx, softhsm.EncryptedPIN{ZPKRef: keys[emv.KeyZPK], Format: 0, Block: "0000000000000000"}, pan,
				softhsm.PINCheck{Method: softhsm.PINMethodPVV, PVKRef: keys[emv.KeyIMKAC], PVKI: "1", PVV: "1234"})
			return err
		}},
		{"IMK-AC cannot decipher a PIN block", func() error {
			_, err := f.hsm.TranslatePIN(ctx, softhsm.EncryptedPIN{ZPKRef: keys[emv.KeyIMKAC], Format: 0, Block: "0000000000000000"}, pan, keys[emv.KeyZPK], 0)
			return err
		}},
		{"ZPK cannot make a CVV", func() error {
			_, err := f.hsm.GenerateCVVSet(ctx, keys[emv.KeyZPK], pan, "2912", "201")
			return err
		}},
		{"ZPK cannot verify a CVV2", func() error {
			_, err := f.hsm.VerifyCVV2(ctx, keys[emv.KeyZPK], pan, "2912", "123")
			return err
		}},
		{"CVK cannot verify an ARQC", func() error {
			_, err := f.hsm.VerifyARQC(ctx, softhsm.ARQC{IMKRef: keys[emv.KeyCVK], CVN: cvn, PAN: pan})
			return err
		}},
		{"CVK cannot derive ICC keys", func() error {
			_, err := f.hsm.DeriveICCKeys(ctx, softhsm.ICCKeyRequest{IMKAC: keys[emv.KeyCVK], PAN: pan, KEKRef: keys[emv.KeyKEK]})
			return err
		}},
		{"ZPK is not a transport key", func() error {
			_, err := f.hsm.ExportKey(ctx, keys[emv.KeyCVK], keys[emv.KeyZPK])
			return err
		}},
		{"ECDH key cannot sign certificates", func() error {
			_, err := f.hsm.SignCSR(ctx, keys[emv.KeyECDH], newCSR(t, elliptic.P256()))
			return err
		}},
		{"CA key cannot agree PIN keys", func() error {
			_, err := f.hsm.ECDHPublicKey(ctx, keys[emv.KeyCA])
			return err
		}},
		{"PAN-IDX cannot seal", func() error {
			_, err := f.hsm.SealPAN(ctx, keys[emv.KeyPANIDX], "t1", "card_1", pan)
			return err
		}},
		{"PAN-DEK cannot index", func() error {
			_, err := f.hsm.IndexPAN(ctx, keys[emv.KeyPANDEK], pan)
			return err
		}},
		{"PVK cannot MAC", func() error {
			_, err := f.hsm.GenerateMAC(ctx, keys[emv.KeyPVK], 0, []byte("data"))
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, softhsm.ErrKeyUsage) {
				t.Fatalf("error = %v, want ErrKeyUsage", err)
			}
		})
	}
	for _, typ := range []emv.KeyType{emv.KeyCA, emv.KeyECDH, emv.KeyPANDEK, emv.KeyPANIDX, emv.KeyKEK} {
		if _, err := f.hsm.ExportKey(ctx, keys[typ], keys[emv.KeyKEK]); !errors.Is(err, softhsm.ErrNotExportable) {
			t.Fatalf("export %s: %v, want ErrNotExportable", typ, err)
		}
	}
	if _, err := f.hsm.ExportKey(ctx, "key_missing", keys[emv.KeyKEK]); !errors.Is(err, softhsm.ErrKeyNotFound) {
		t.Fatalf("missing key: %v, want ErrKeyNotFound", err)
	}
}

func TestTenantScope(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	info, err := f.hsm.GenerateKey(ctx, softhsm.KeyRequest{Type: emv.KeyPANIDX, Tenant: "ten_a"})
	if err != nil {
		t.Fatal(err)
	}
	shared := f.generate(t, emv.KeyPANIDX)
	pan := emv.PAN("4123456789012345")
	if _, err := f.hsm.IndexPAN(softhsm.WithTenant(ctx, "ten_a"), info.Ref, pan); err != nil {
		t.Fatalf("own tenant: %v", err)
	}
	if _, err := f.hsm.IndexPAN(softhsm.WithTenant(ctx, "ten_b"), info.Ref, pan); !errors.Is(err, softhsm.ErrKeyNotFound) {
		t.Fatalf("other tenant: %v, want ErrKeyNotFound", err)
	}
	if _, err := f.hsm.IndexPAN(softhsm.WithTenant(ctx, "ten_b"), shared.Ref, pan); err != nil {
		t.Fatalf("shared key: %v", err)
	}
	list, _ := f.hsm.ListKeys(softhsm.WithTenant(ctx, "ten_b"), emv.KeyFilter{})
	if len(list) != 1 || list[0].Ref != shared.Ref {
		t.Fatalf("tenant b sees %+v", list)
	}
}

// encipherPIN builds a PIN block the way an acquirer would, with a clear
// key the test knows (TDES for formats 0-3, AES for format 4).
func encipherPIN(t testing.TB, format pinblock.Format, key []byte, pin, pan string) emv.PINBlock {
	t.Helper()
	var c cipher.Block
	var err error
	if format == pinblock.Format4 {
		c, err = aes.NewCipher(key)
	} else {
		c, err = emv.NewTDES(key)
	}
	if err != nil {
		t.Fatal(err)
	}
	b, err := pinblock.Encipher(format, c, []byte(pin), pan, nil)
	if err != nil {
		t.Fatal(err)
	}
	return emv.PINBlock(emv.EncodeHex(b))
}

func newCSR(t testing.TB, curve elliptic.Curve) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "My Issuer", Organization: []string{"My Organization"}, Country: []string{"BR"}}}, k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func TestSignCSR(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ca := f.generate(t, emv.KeyCA)

	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaCSR, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "rsa"}}, rsaKey)
	good := newCSR(t, elliptic.P256())
	blk, _ := pem.Decode(good)
	badSig := append([]byte{}, blk.Bytes...)
	badSig[len(badSig)-3] ^= 0x01

	tests := []struct {
		name string
		csr  []byte
		want error
	}{
		{"p256 pem", good, nil},
		{"p256 der", blk.Bytes, nil},
		{"rsa", rsaCSR, softhsm.ErrCSR},
		{"p384", newCSR(t, elliptic.P384()), softhsm.ErrCSR},
		{"bad signature", badSig, softhsm.ErrCSR},
		{"garbage", []byte("not a csr"), softhsm.ErrCSR},
		{"wrong pem type", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: blk.Bytes}), softhsm.ErrCSR},
	}
	caCert, err := f.hsm.CACertificate(ctx, ca.Ref)
	if err != nil {
		t.Fatal(err)
	}
	root, err := x509.ParseCertificate(caCert.DER)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cert, err := f.hsm.SignCSR(ctx, ca.Ref, tc.csr)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
			if err != nil {
				return
			}
			c, err := x509.ParseCertificate(cert.DER)
			if err != nil {
				t.Fatal(err)
			}
			if c.Subject.CommonName != "My Issuer" || c.SignatureAlgorithm != x509.ECDSAWithSHA256 {
				t.Fatalf("subject %v alg %v", c.Subject, c.SignatureAlgorithm)
			}
			if got := c.NotAfter.Sub(f.clock.Now()); got != 90*24*time.Hour {
				t.Fatalf("validity %v, want 90 days", got)
			}
			if _, err := c.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: f.clock.Now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
				t.Fatalf("certificate does not chain to the CA: %v", err)
			}
		})
	}
}

func TestSealOpenIndexPAN(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	dek := f.generate(t, emv.KeyPANDEK)
	idx := f.generate(t, emv.KeyPANIDX)
	pan := emv.PAN("4761739001010010")
	sealed, err := f.hsm.SealPAN(ctx, dek.Ref, "ten_a", "card_1", pan)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("4761739001010010")) {
		t.Fatal("sealed data contains the PAN")
	}
	got, err := f.hsm.OpenPAN(ctx, dek.Ref, "ten_a", "card_1", sealed)
	if err != nil || got != pan {
		t.Fatalf("OpenPAN = %v, %v", got, err)
	}
	again, _ := f.hsm.SealPAN(ctx, dek.Ref, "ten_a", "card_1", pan)
	if bytes.Equal(again, sealed) {
		t.Fatal("sealing is deterministic")
	}
	flip := append([]byte{}, sealed...)
	flip[len(flip)-1] ^= 1
	for name, tc := range map[string]struct {
		tenant, card string
		data         []byte
	}{
		"other card":   {"ten_a", "card_2", sealed},
		"other tenant": {"ten_b", "card_1", sealed},
		"flipped":      {"ten_a", "card_1", flip},
		"short":        {"ten_a", "card_1", sealed[:10]},
	} {
		if _, err := f.hsm.OpenPAN(ctx, dek.Ref, tc.tenant, tc.card, tc.data); !errors.Is(err, softhsm.ErrSealed) {
			t.Fatalf("%s: %v, want ErrSealed", name, err)
		}
	}
	i1, _ := f.hsm.IndexPAN(ctx, idx.Ref, pan)
	i2, _ := f.hsm.IndexPAN(ctx, idx.Ref, pan)
	i3, _ := f.hsm.IndexPAN(ctx, idx.Ref, "4761739001010028")
	if len(i1) != 32 || !bytes.Equal(i1, i2) || bytes.Equal(i1, i3) {
		t.Fatal("index not deterministic per PAN")
	}
	other := f.generate(t, emv.KeyPANIDX)
	i4, _ := f.hsm.IndexPAN(ctx, other.Ref, pan)
	if bytes.Equal(i1, i4) {
		t.Fatal("index does not depend on the key")
	}

	// Rotation: old data still opens; new data uses v2; the index list
	// carries both versions.
	if _, err := f.hsm.Rotate(ctx, dek.Ref, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got, err := f.hsm.OpenPAN(ctx, dek.Ref, "ten_a", "card_1", sealed); err != nil || got != pan {
		t.Fatalf("open after rotation = %v, %v", got, err)
	}
	s2, _ := f.hsm.SealPAN(ctx, dek.Ref, "ten_a", "card_1", pan)
	if s2[4] != 2 {
		t.Fatalf("sealed under version %d, want 2", s2[4])
	}
	if _, err := f.hsm.Rotate(ctx, idx.Ref, time.Time{}); err != nil {
		t.Fatal(err)
	}
	// The index to store stays under version 1 until every instance knows
	// version 2 (two cache lifetimes), then moves to version 2.
	all, err := f.hsm.IndexPANAll(ctx, idx.Ref, pan)
	if err != nil || len(all) != 2 || !bytes.Equal(all[0], i1) || bytes.Equal(all[1], i1) {
		t.Fatalf("IndexPANAll right after the rotation = %d entries, %v", len(all), err)
	}
	f.clock.Add(2*softhsm.DefaultCacheTTL + time.Second)
	all, err = f.hsm.IndexPANAll(ctx, idx.Ref, pan)
	if err != nil || len(all) != 2 || !bytes.Equal(all[1], i1) || bytes.Equal(all[0], i1) {
		t.Fatalf("IndexPANAll once version 2 settled = %d entries, %v", len(all), err)
	}
	f.clock.Add(91 * 24 * time.Hour) // past the default overlap
	if _, err := f.hsm.OpenPAN(ctx, dek.Ref, "ten_a", "card_1", sealed); !errors.Is(err, softhsm.ErrKeyExpired) {
		t.Fatalf("open under an expired retired key: %v, want ErrKeyExpired", err)
	}
}

func TestConcurrentUseAndPurge(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	idx := f.generate(t, emv.KeyPANIDX)
	want, _ := f.hsm.IndexPAN(ctx, idx.Ref, "4761739001010010")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				got, err := f.hsm.IndexPAN(ctx, idx.Ref, "4761739001010010")
				if err != nil || !bytes.Equal(got, want) {
					errs <- fmt.Errorf("iteration %d: %v", i, err)
					return
				}
				if i%50 == 0 {
					f.hsm.Purge()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestNoCache(t *testing.T) {
	store := softhsm.NewMemStore()
	h, err := softhsm.New(softhsm.Config{MasterKeyHex: testMasterHex, CacheTTL: -1}, store)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	info, _ := h.GenerateKey(ctx, softhsm.KeyRequest{Type: emv.KeyPANIDX})
	a, err := h.IndexPAN(ctx, info.Ref, "4761739001010010")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := h.IndexPAN(ctx, info.Ref, "4761739001010010")
	if !bytes.Equal(a, b) {
		t.Fatal("uncached results differ")
	}
	// With no cache a status change is seen at once.
	if err := h.Retire(ctx, info.Ref, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.IndexPAN(ctx, info.Ref, "4761739001010010"); !errors.Is(err, softhsm.ErrKeyExpired) {
		t.Fatalf("after retire: %v, want ErrKeyExpired", err)
	}
}

// TestSealOpenPIN: the sandbox PIN is sealed and opened as its own type;
// PINs sealed before (through SealPAN, as a PAN) still open.
func TestSealOpenPIN(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	dek := f.generate(t, emv.KeyPANDEK)
	sealed, err := f.hsm.SealPIN(ctx, dek.Ref, "ten_a", "card_1/sandbox-pin", emv.PIN("864213"))
	if err != nil {
		t.Fatal(err)
	}
	if pin, err := f.hsm.OpenPIN(ctx, dek.Ref, "ten_a", "card_1/sandbox-pin", sealed); err != nil || pin.Reveal() != "864213" {
		t.Fatalf("OpenPIN: %v", err)
	}
	if _, err := f.hsm.OpenPIN(ctx, dek.Ref, "ten_a", "card_1", sealed); !errors.Is(err, softhsm.ErrSealed) {
		t.Fatalf("a PIN opened under the card's own binding: %v", err)
	}
	old, _ := f.hsm.SealPAN(ctx, dek.Ref, "ten_a", "card_1/sandbox-pin", emv.PAN("1234"))
	if pin, err := f.hsm.OpenPIN(ctx, dek.Ref, "ten_a", "card_1/sandbox-pin", old); err != nil || pin.Reveal() != "1234" {
		t.Fatalf("a PIN sealed as a PAN does not open: %v", err)
	}
}

// TestSealOpenSecret: a webhook secret opens only for its tenant and
// binding, never as a PAN of that binding, and the sealed form does not
// hold it.
func TestSealOpenSecret(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	dek := f.generate(t, emv.KeyPANDEK)
	secret := []byte("0123456789abcdef0123456789abcdef")
	sealed, err := f.hsm.SealSecret(ctx, dek.Ref, "ten_a", "whe_1", secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) {
		t.Fatal("the sealed secret holds the secret")
	}
	if got, err := f.hsm.OpenSecret(ctx, dek.Ref, "ten_a", "whe_1", sealed); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("OpenSecret: %v", err)
	}
	for name, open := range map[string]func() error{
		"another tenant":  func() error { _, err := f.hsm.OpenSecret(ctx, dek.Ref, "ten_b", "whe_1", sealed); return err },
		"another binding": func() error { _, err := f.hsm.OpenSecret(ctx, dek.Ref, "ten_a", "whe_2", sealed); return err },
		"as a PAN":        func() error { _, err := f.hsm.OpenPAN(ctx, dek.Ref, "ten_a", "whe_1", sealed); return err },
	} {
		if err := open(); !errors.Is(err, softhsm.ErrSealed) {
			t.Errorf("opened under %s: %v", name, err)
		}
	}
}

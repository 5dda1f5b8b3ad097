package rest_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"github.com/cardhost/cardhost/issuance/ca"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/issuance/httpsig"
)

func publicPEM(t *testing.T, k crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// signedDo sends a request signed with key (nil: unsigned) at time at;
// tamper, when set, changes the request after signing.
func (e *env) signedDo(method, path string, body []byte, keyID string, key crypto.Signer, at time.Time, tamper func(*http.Request), headers ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if key != nil {
		if err := httpsig.Sign(req, body, keyID, key, at); err != nil {
			e.t.Fatal(err)
		}
	}
	if tamper != nil {
		tamper(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// sigRejected asserts a 401 signature_invalid whose detail says why.
func sigRejected(t *testing.T, r response, why string) {
	t.Helper()
	if r.Status != 401 {
		t.Fatalf("status %d, want 401: %s", r.Status, r.Body)
	}
	p := r.problem(t)
	if p.Slug != "signature_invalid" || !strings.Contains(p.Detail, why) {
		t.Fatalf("problem %+v, want signature_invalid saying %q", p, why)
	}
	if !strings.Contains(r.Header.Get("Accept-Signature"), `"@method" "@path" "content-digest"`) {
		t.Fatalf("Accept-Signature %q", r.Header.Get("Accept-Signature"))
	}
}

func TestRequestSigningEndToEnd(t *testing.T) {
	e := newEnv(t, withCatalog(t))
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now()

	// Registering needs only the API key while no key exists.
	var reg struct {
		KeyID       string `json:"key_id"`
		Algorithm   string `json:"algorithm"`
		Fingerprint string `json:"fingerprint"`
	}
	mustStatus(t, e.do("PUT", "/v1/tenant/signing-key", map[string]any{"public_key_pem": publicPEM(t, edKey), "key_id": "issuer-ed-1"}), 200).JSON(t, &reg)
	if reg.Algorithm != "ed25519" || reg.KeyID != "issuer-ed-1" || reg.Fingerprint == "" {
		t.Fatalf("registered: %+v", reg)
	}
	var tenant struct {
		Signing bool `json:"request_signing"`
	}

	// From now on: unsigned requests fail, signed ones pass.
	sigRejected(t, e.do("GET", "/v1/tenant", nil), "missing Signature-Input")
	mustStatus(t, e.signedDo("GET", "/v1/tenant", nil, "issuer-ed-1", edKey, now, nil), 200).JSON(t, &tenant)
	if !tenant.Signing {
		t.Fatal("tenant does not report request_signing")
	}
	body := []byte(`{"layout":"signed-v1"}`)
	first := mustStatus(t, e.signedDo("POST", "/v1/card-layouts", body, "issuer-ed-1", edKey, now, nil, "Idempotency-Key", "signed-1"), 201)
	again := mustStatus(t, e.signedDo("POST", "/v1/card-layouts", body, "issuer-ed-1", edKey, now, nil, "Idempotency-Key", "signed-1"), 201)
	if string(first.Body) != string(again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("signed idempotent replay differs")
	}

	for _, tc := range []struct {
		name    string
		method  string
		path    string
		body    []byte
		keyID   string
		key     crypto.Signer
		at      time.Time
		tamper  func(*http.Request)
		headers []string
		why     string
	}{
		{"wrong keyid", "GET", "/v1/tenant", nil, "someone-else", edKey, now, nil, nil, "unknown keyid"},
		{"other key", "GET", "/v1/tenant", nil, "issuer-ed-1", func() crypto.Signer { _, k, _ := ed25519.GenerateKey(rand.Reader); return k }(), now, nil, nil, "bad signature"},
		{"stale", "GET", "/v1/tenant", nil, "issuer-ed-1", edKey, now.Add(-6 * time.Minute), nil, nil, "signature expired"},
		{"future", "GET", "/v1/tenant", nil, "issuer-ed-1", edKey, now.Add(6 * time.Minute), nil, nil, "in the future"},
		{"body changed after signing", "POST", "/v1/card-layouts", body, "issuer-ed-1", edKey, now, func(r *http.Request) {
			b := []byte(`{"layout":"evil-v1!"}`)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		}, nil, "bad digest"},
		{"digest removed", "POST", "/v1/card-layouts", body, "issuer-ed-1", edKey, now, func(r *http.Request) { r.Header.Del("Content-Digest") }, nil, "missing Content-Digest"},
		{"path changed", "GET", "/v1/tenant", nil, "issuer-ed-1", edKey, now, func(r *http.Request) { r.URL.Path = "/v1/api-keys" }, nil, "bad signature"},
		{"idempotency key changed", "POST", "/v1/card-layouts", body, "issuer-ed-1", edKey, now, func(r *http.Request) { r.Header.Set("Idempotency-Key", "other") }, []string{"Idempotency-Key", "signed-2"}, "bad signature"},
		{"idempotency key added", "POST", "/v1/card-layouts", body, "issuer-ed-1", edKey, now, func(r *http.Request) { r.Header.Set("Idempotency-Key", "late") }, nil, "covered components missing: idempotency-key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sigRejected(t, e.signedDo(tc.method, tc.path, tc.body, tc.keyID, tc.key, tc.at, tc.tamper, tc.headers...), tc.why)
		})
	}
	// The rejected POSTs created nothing: one layout.
	var list struct{ Data []json.RawMessage }
	mustStatus(t, e.signedDo("GET", "/v1/card-layouts", nil, "issuer-ed-1", edKey, now, nil), 200).JSON(t, &list)
	if len(list.Data) != 1 {
		t.Fatalf("%d layouts, want 1", len(list.Data))
	}

	// Replacing the key needs a request signed with the current one.
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	put := []byte(`{"public_key_pem":` + jsonString(publicPEM(t, p256)) + `,"key_id":"issuer-p256"}`)
	sigRejected(t, e.do("PUT", "/v1/tenant/signing-key", put), "missing Signature-Input")
	mustStatus(t, e.signedDo("PUT", "/v1/tenant/signing-key", put, "issuer-ed-1", edKey, now, nil), 200)
	sigRejected(t, e.signedDo("GET", "/v1/tenant", nil, "issuer-ed-1", edKey, now, nil), "unknown keyid")
	mustStatus(t, e.signedDo("GET", "/v1/tenant", nil, "issuer-p256", p256, now, nil), 200)

	// ECDSA P-384 too.
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	put = []byte(`{"public_key_pem":` + jsonString(publicPEM(t, p384)) + `,"key_id":"issuer-p384"}`)
	mustStatus(t, e.signedDo("PUT", "/v1/tenant/signing-key", put, "issuer-p256", p256, now, nil), 200)
	var got struct {
		KeyID     string `json:"key_id"`
		Algorithm string `json:"algorithm"`
	}
	mustStatus(t, e.signedDo("GET", "/v1/tenant/signing-key", nil, "issuer-p384", p384, now, nil), 200).JSON(t, &got)
	if got.KeyID != "issuer-p384" || got.Algorithm != "ecdsa-p384-sha384" {
		t.Fatalf("signing key: %+v", got)
	}

	// Deleting it (signed) turns signatures off.
	mustStatus(t, e.signedDo("DELETE", "/v1/tenant/signing-key", nil, "issuer-p384", p384, now, nil), 204)
	mustStatus(t, e.do("GET", "/v1/tenant", nil), 200)
	if r := e.do("GET", "/v1/tenant/signing-key", nil); r.Status != 404 || r.problem(t).Slug != "signing_key_not_found" {
		t.Fatalf("no key: %d %s", r.Status, r.Body)
	}
	if r := e.do("DELETE", "/v1/tenant/signing-key", nil); r.Status != 404 {
		t.Fatalf("deleting no key: %d", r.Status)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestSigningKeyValidation(t *testing.T) {
	e := newEnv(t)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	privDER, _ := x509.MarshalPKCS8PrivateKey(ed)
	for _, tc := range []struct {
		name, pem, keyID, field, code string
	}{
		{"RSA", publicPEM(t, rsaKey), "k", "public_key_pem", "unsupported_key"},
		{"P-224", publicPEM(t, p224), "k", "public_key_pem", "unsupported_key"},
		{"private key", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})), "k", "public_key_pem", "invalid"},
		{"not PEM", "ssh-ed25519 AAAA", "k", "public_key_pem", "invalid"},
		{"key id with a quote", publicPEM(t, ed), `a"b`, "key_id", "invalid"},
		{"empty key id", publicPEM(t, ed), "", "key_id", "invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fieldError(t, e.do("PUT", "/v1/tenant/signing-key", map[string]any{"public_key_pem": tc.pem, "key_id": tc.keyID}), tc.field, tc.code)
		})
	}
	// None of them took effect: unsigned requests still pass.
	mustStatus(t, e.do("GET", "/v1/tenant", nil), 200)
}

// TestSigningAlgorithmsMatchHTTPSig keeps issuance's algorithm names equal
// to httpsig's, and checks that the test keys of RFC 9421 (B.1.3
// test-key-ecc-p256, B.1.4 test-key-ed25519) parse to their algorithms.
func TestSigningAlgorithmsMatchHTTPSig(t *testing.T) {
	for _, tc := range []struct {
		name, key string
		alg       ca.SigningAlgorithm
		want      httpsig.Algorithm
	}{
		{"B.1.3 test-key-ecc-p256", `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lf
w0EkjqF7xB4FivAxzic30tMM4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==
-----END PUBLIC KEY-----`, ca.SigningECDSAP256, httpsig.ECDSAP256SHA256},
		{"P-384", "", ca.SigningECDSAP384, httpsig.ECDSAP384SHA384},
		{"B.1.4 test-key-ed25519", `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----`, ca.SigningEd25519, httpsig.Ed25519},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if string(tc.alg) != string(tc.want) {
				t.Fatalf("issuance names %q, httpsig %q", tc.alg, tc.want)
			}
			if tc.key == "" {
				return
			}
			if _, alg, err := ca.ParseSigningKey(tc.key); err != nil || alg != tc.alg {
				t.Fatalf("ParseSigningKey: %s, %v; want %s", alg, err, tc.alg)
			}
		})
	}
}

package rest_test

import (
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/softhsm"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/ca"
	"github.com/cardhost/cardhost/issuance/postgres"
)

// csrFor returns a DER CSR for key, signed by it.
func csrFor(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "My Issuer", Organization: []string{"My Organization"}, Country: []string{"BR"}},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func pemCSR(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

type certOut struct {
	ID              string    `json:"certificate_id"`
	HSMKeyReference string    `json:"hsm_key_reference"`
	PEMBase64       string    `json:"certificate_pem_base64"`
	NotBefore       time.Time `json:"not_before"`
	NotAfter        time.Time `json:"not_after"`
	Fingerprint     string    `json:"fingerprint"`
	PublicKeyPEM    string    `json:"public_key_pem"`
	Serial          string    `json:"serial_number"`
	Status          string    `json:"status"`
	Subject         string    `json:"subject"`
}

// outboxEvents returns (type, subject) of the outbox rows, in order.
func outboxEvents(t *testing.T, db *postgres.DB, typ string) []string {
	t.Helper()
	rows, err := db.Pool().Query(context.Background(), `SELECT subject, data::text FROM outbox WHERE type = $1 ORDER BY seq`, typ)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var subject, data string
		if err := rows.Scan(&subject, &data); err != nil {
			t.Fatal(err)
		}
		var d struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(data), &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, subject+"/"+d.ID)
	}
	return out
}

func TestCertificates(t *testing.T) {
	e := newEnv(t, withCatalog(t))
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der := csrFor(t, key)

	var c certOut
	mustStatus(t, e.do("POST", "/v1/certificates", map[string]any{"certificate_request_pem": base64.StdEncoding.EncodeToString(pemCSR(der))}, "Idempotency-Key", "cert-1"), 201).JSON(t, &c)
	if c.ID == "" || c.HSMKeyReference == "" || c.Status != "ACTIVE" || c.Subject == "" {
		t.Fatalf("certificate: %+v", c)
	}
	if d := c.NotAfter.Sub(c.NotBefore); d < 90*24*time.Hour-2*time.Minute || d > 90*24*time.Hour+2*time.Minute {
		t.Fatalf("validity %s, want 90 days", d)
	}
	certPEM, err := base64.StdEncoding.DecodeString(c.PEMBase64)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(cert.Raw)
	if hex.EncodeToString(sum[:]) != c.Fingerprint || !cert.PublicKey.(*ecdsa.PublicKey).Equal(&key.PublicKey) {
		t.Fatal("certificate fingerprint or key does not match")
	}
	// Signed by the platform CA.
	ca, err := e.hsm.CACertificate(context.Background(), envCA(t, e))
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(ca.DER)
	if err := cert.CheckSignatureFrom(caCert); err != nil {
		t.Fatalf("not signed by the CA: %v", err)
	}

	// The card domain finds the key by its reference, for this tenant only.
	ctx := context.Background()
	pub, notAfter, err := e.db.IssuerPublicKey(ctx, e.tenant.ID, c.HSMKeyReference)
	if err != nil || !notAfter.Equal(c.NotAfter) {
		t.Fatalf("IssuerPublicKey: %v %v", notAfter, err)
	}
	if p, err := softhsm.ParsePublicKey(pub); err != nil || !sameECDH(t, p, &key.PublicKey) {
		t.Fatalf("IssuerPublicKey returned another key (%v)", err)
	}
	if _, _, err := e.db.IssuerPublicKey(ctx, "ten_other", c.HSMKeyReference); !errors.Is(err, issuance.ErrNotFound) {
		t.Fatalf("another tenant's reference: %v", err)
	}
	if _, _, err := e.db.IssuerPublicKey(ctx, e.tenant.ID, "ipk_unknown"); !errors.Is(err, issuance.ErrNotFound) {
		t.Fatalf("unknown reference: %v", err)
	}

	// Idempotent replay creates nothing; renewal of the same key (here as
	// base64 DER) keeps the reference; a new key gets a new one.
	mustStatus(t, e.do("POST", "/v1/certificates", map[string]any{"certificate_request_pem": base64.StdEncoding.EncodeToString(pemCSR(der))}, "Idempotency-Key", "cert-1"), 201)
	var renewed, rotated certOut
	mustStatus(t, e.do("POST", "/v1/certificates", map[string]any{"certificate_request_pem": base64.StdEncoding.EncodeToString(csrFor(t, key))}), 201).JSON(t, &renewed)
	key2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	mustStatus(t, e.do("POST", "/v1/certificates", map[string]any{"certificate_request_pem": string(pemCSR(csrFor(t, key2)))}), 201).JSON(t, &rotated)
	if renewed.ID == c.ID || renewed.HSMKeyReference != c.HSMKeyReference {
		t.Fatalf("renewal: id %s ref %s; want a new id and ref %s", renewed.ID, renewed.HSMKeyReference, c.HSMKeyReference)
	}
	if rotated.HSMKeyReference == c.HSMKeyReference {
		t.Fatal("a new key reuses the old reference")
	}

	var list struct {
		Data    []certOut `json:"data"`
		HasMore bool      `json:"has_more"`
	}
	mustStatus(t, e.do("GET", "/v1/certificates", nil), 200).JSON(t, &list)
	if len(list.Data) != 3 || list.Data[0].ID != rotated.ID || list.Data[2].ID != c.ID {
		t.Fatalf("list: %+v", list)
	}
	var got certOut
	mustStatus(t, e.do("GET", "/v1/certificates/"+c.ID, nil), 200).JSON(t, &got)
	if got.Fingerprint != c.Fingerprint || got.PEMBase64 != c.PEMBase64 {
		t.Fatalf("get: %+v", got)
	}
	_, bKey := newTenantKey(t, e, "Other")
	if r := e.doKey(bKey, "GET", "/v1/certificates/"+c.ID, nil); r.Status != 404 {
		t.Fatalf("another tenant's certificate: %d", r.Status)
	}

	// One certificate.created per certificate, subject = tenant.
	evs := outboxEvents(t, e.db, "certificate.created")
	want := []string{e.tenant.ID + "/" + c.ID, e.tenant.ID + "/" + renewed.ID, e.tenant.ID + "/" + rotated.ID}
	if len(evs) != 3 || evs[0] != want[0] || evs[1] != want[1] || evs[2] != want[2] {
		t.Fatalf("events %v, want %v", evs, want)
	}
}

// envCA returns the CA reference wired by withCatalog.
func envCA(t *testing.T, e *env) string {
	t.Helper()
	keys, err := e.hsm.ListKeys(context.Background(), emv.KeyFilter{Type: emv.KeyCA})
	if err != nil || len(keys) != 1 {
		t.Fatalf("CA keys: %d %v", len(keys), err)
	}
	return keys[0].Ref
}

func sameECDH(t *testing.T, p *ecdh.PublicKey, k *ecdsa.PublicKey) bool {
	t.Helper()
	want, err := k.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	return p.Equal(want)
}

func TestCertificateRequestRejections(t *testing.T) {
	e := newEnv(t, withCatalog(t))
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tampered := csrFor(t, p256)
	tampered[len(tampered)-3] ^= 0xFF // inside the signature
	certBlock := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}})
	b64 := base64.StdEncoding.EncodeToString
	for _, tc := range []struct {
		name, csr, code string
	}{
		{"empty", "", "required"},
		{"not base64", "%%%not-base64%%%", "invalid"},
		{"not a CSR", b64([]byte("hello world")), "invalid"},
		{"a certificate PEM", b64(certBlock), "invalid"},
		{"RSA key", b64(pemCSR(csrFor(t, rsaKey))), "unsupported_key"},
		{"P-384 key", b64(pemCSR(csrFor(t, p384))), "unsupported_key"},
		{"Ed25519 key", b64(pemCSR(csrFor(t, edKey))), "unsupported_key"},
		{"bad signature", b64(tampered), "bad_signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fieldError(t, e.do("POST", "/v1/certificates", map[string]any{"certificate_request_pem": tc.csr}), "certificate_request_pem", tc.code)
		})
	}
	if evs := outboxEvents(t, e.db, "certificate.created"); len(evs) != 0 {
		t.Fatalf("rejected requests wrote events: %v", evs)
	}
	// Without a CA key assigned the request cannot be served.
	e2 := newEnv(t)
	r := e2.do("POST", "/v1/certificates", map[string]any{"certificate_request_pem": b64(pemCSR(csrFor(t, p256)))})
	if r.Status != 503 || r.problem(t).Slug != "key_not_configured" {
		t.Fatalf("no CA: %d %s", r.Status, r.Body)
	}
}

func TestCertificateExpiringOncePerCertificate(t *testing.T) {
	e := newEnv(t, withCatalog(t))
	var ids []string
	for range 3 {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		var c certOut
		mustStatus(t, e.do("POST", "/v1/certificates", map[string]any{"certificate_request_pem": base64.StdEncoding.EncodeToString(csrFor(t, k))}), 201).JSON(t, &c)
		ids = append(ids, c.ID)
	}
	ctx := context.Background()
	// Today nothing expires within 14 days.
	if n, err := e.ca.NotifyExpiringCertificates(ctx); err != nil || n != 0 {
		t.Fatalf("today: %d %v", n, err)
	}
	// 80 days on, all three expire within 14 days: several instances
	// announce each exactly once.
	later := ca.New(issuance.Deps{Tenants: e.db, Now: func() time.Time { return time.Now().Add(80 * 24 * time.Hour) }}, e.db)
	var wg sync.WaitGroup
	counts := make([]int, 4)
	for i := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := later.NotifyExpiringCertificates(ctx)
			if err != nil {
				t.Error(err)
			}
			counts[i] = n
		}()
	}
	wg.Wait()
	total := 0
	for _, n := range counts {
		total += n
	}
	if total != 3 {
		t.Fatalf("announced %d (%v), want 3", total, counts)
	}
	if n, _ := later.NotifyExpiringCertificates(ctx); n != 0 {
		t.Fatalf("second pass announced %d", n)
	}
	evs := outboxEvents(t, e.db, "certificate.expiring")
	if len(evs) != 3 {
		t.Fatalf("expiring events %v", evs)
	}
	seen := map[string]bool{}
	for _, ev := range evs {
		seen[ev] = true
	}
	for _, id := range ids {
		if !seen[e.tenant.ID+"/"+id] {
			t.Fatalf("no certificate.expiring for %s in %v", id, evs)
		}
	}
}

func TestHSMPublicKey(t *testing.T) {
	e := newEnv(t, withCatalog(t))
	var pk struct {
		Ref         string          `json:"hsm_key_reference"`
		Version     int             `json:"version"`
		PEM         string          `json:"public_key_pem"`
		JWK         json.RawMessage `json:"jwk"`
		Fingerprint string          `json:"fingerprint"`
		Algorithm   string          `json:"algorithm"`
		KDF         string          `json:"kdf"`
	}
	mustStatus(t, e.do("GET", "/v1/hsm/public-key", nil), 200).JSON(t, &pk)
	if pk.Algorithm != "ECDH-P256" || pk.KDF != "NIST SP 800-56C one-step SHA-256" || pk.Version != 1 || pk.Ref == "" {
		t.Fatalf("public key: %+v", pk)
	}
	p, err := softhsm.ParsePublicKey([]byte(pk.PEM))
	if err != nil || p.Curve() != ecdh.P256() {
		t.Fatalf("PEM: %v", err)
	}
	var jwk struct{ Kty, Crv, X, Y, Kid string }
	if err := json.Unmarshal(pk.JWK, &jwk); err != nil {
		t.Fatal(err)
	}
	b := p.Bytes()
	enc := base64.RawURLEncoding.EncodeToString
	if jwk.Kty != "EC" || jwk.Crv != "P-256" || jwk.X != enc(b[1:33]) || jwk.Y != enc(b[33:]) || jwk.Kid != pk.Fingerprint {
		t.Fatalf("JWK %+v does not match the PEM key", jwk)
	}
	thumb := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + jwk.X + `","y":"` + jwk.Y + `"}`))
	if enc(thumb[:]) != pk.Fingerprint {
		t.Fatal("fingerprint is not the RFC 7638 thumbprint")
	}
	e2 := newEnv(t)
	if r := e2.do("GET", "/v1/hsm/public-key", nil); r.Status != 503 || r.problem(t).Slug != "key_not_configured" {
		t.Fatalf("no ECDH key: %d %s", r.Status, r.Body)
	}
}

package ca

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"

	"github.com/cardhost/cardhost/issuance"
)

// Request signing (DESIGN.md "REST API"): a tenant may register a public
// key; from then on every request must carry an RFC 9421 HTTP message
// signature made with it. The REST adapter verifies signatures; this file
// holds the key registration rules.

// SigningAlgorithm is an RFC 9421 signature algorithm name (HTTP Signature
// Algorithms registry).
type SigningAlgorithm string

// Accepted request-signing algorithms.
const (
	SigningECDSAP256 SigningAlgorithm = "ecdsa-p256-sha256" // RFC 9421 §3.3.4
	SigningECDSAP384 SigningAlgorithm = "ecdsa-p384-sha384" // RFC 9421 §3.3.5
	SigningEd25519   SigningAlgorithm = "ed25519"           // RFC 9421 §3.3.6
)

// SigningKey is a tenant's registered request-signing key (public half).
type SigningKey struct {
	KeyID     string           `json:"key_id"`
	Algorithm SigningAlgorithm `json:"algorithm" enum:"ecdsa-p256-sha256,ecdsa-p384-sha384,ed25519"`
	// Fingerprint is the RFC 7638-style SHA-256 of the SubjectPublicKeyInfo,
	// base64url, to compare with the key the client holds.
	Fingerprint  string `json:"fingerprint" doc:"SHA-256 of the SubjectPublicKeyInfo (DER), base64url without padding"`
	PublicKeyPEM string `json:"public_key_pem"`
}

// ParseSigningKey reads a PEM "PUBLIC KEY" (SubjectPublicKeyInfo) and
// returns the key and its algorithm: ECDSA P-256, ECDSA P-384 or Ed25519.
// Anything else (RSA, other curves, private keys, certificates) is
// rejected as a validation_failed error on public_key_pem.
func ParseSigningKey(pemText string) (crypto.PublicKey, SigningAlgorithm, error) {
	fail := func(code, msg string) (crypto.PublicKey, SigningAlgorithm, error) {
		return nil, "", &issuance.Error{Slug: issuance.SlugValidationFailed, Message: "the signing key was rejected",
			Fields: []issuance.FieldError{{Field: "public_key_pem", Code: code, Message: msg}}}
	}
	blk, rest := pem.Decode([]byte(strings.TrimSpace(pemText)))
	switch {
	case blk == nil:
		return fail("invalid", "a PEM-encoded public key (-----BEGIN PUBLIC KEY-----)")
	case strings.Contains(blk.Type, "PRIVATE"):
		return fail("invalid", "this is a private key: send only the public key, and keep the private key secret")
	case blk.Type != "PUBLIC KEY":
		return fail("invalid", "the PEM block must be a PUBLIC KEY (SubjectPublicKeyInfo)")
	case len(strings.TrimSpace(string(rest))) > 0:
		return fail("invalid", "exactly one PEM block")
	}
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return fail("invalid", "not a valid SubjectPublicKeyInfo")
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return k, SigningECDSAP256, nil
		case elliptic.P384():
			return k, SigningECDSAP384, nil
		}
	case ed25519.PublicKey:
		return k, SigningEd25519, nil
	}
	return fail("unsupported_key", "an ECDSA P-256, ECDSA P-384 or Ed25519 key is required")
}

// validSigningKeyID: 1-100 visible characters without quotes or
// backslashes (it travels as an RFC 8941 string in Signature-Input).
func validSigningKeyID(s string) bool {
	if len(s) == 0 || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// signingKeyOf describes a parsed key.
func signingKeyOf(keyID string, pub crypto.PublicKey, alg SigningAlgorithm) SigningKey {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	sum := sha256.Sum256(der)
	return SigningKey{
		KeyID: keyID, Algorithm: alg,
		Fingerprint:  base64.RawURLEncoding.EncodeToString(sum[:]),
		PublicKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
	}
}

// SetSigningKey registers (or replaces) a tenant's request-signing key.
// From the next request on, every request of the tenant must be signed with
// it; replacing a key requires a request signed with the current one (the
// REST adapter checks signatures before any handler runs).
func (s *Service) SetSigningKey(ctx context.Context, tenantID, pemText, keyID string) (SigningKey, error) {
	keyID = strings.TrimSpace(keyID)
	pub, alg, err := ParseSigningKey(pemText)
	if err != nil {
		var e *issuance.Error
		if errors.As(err, &e) && !validSigningKeyID(keyID) {
			e.Fields = append(e.Fields, issuance.FieldError{Field: "key_id", Code: "invalid", Message: "1 to 100 visible ASCII characters, no quotes or backslashes"})
		}
		return SigningKey{}, err
	}
	if !validSigningKeyID(keyID) {
		return SigningKey{}, &issuance.Error{Slug: issuance.SlugValidationFailed, Message: "the request has invalid fields",
			Fields: []issuance.FieldError{{Field: "key_id", Code: "invalid", Message: "1 to 100 visible ASCII characters, no quotes or backslashes"}}}
	}
	k := signingKeyOf(keyID, pub, alg)
	if err := s.d.Tenants.SetSigningKey(ctx, tenantID, k.PublicKeyPEM, k.KeyID, string(k.Algorithm)); err != nil {
		return SigningKey{}, err
	}
	s.d.Logger.Info("request signing key registered", "tenant_id", tenantID, "key_id", keyID, "algorithm", alg)
	return k, nil
}

// SigningKeyOf returns the tenant's registered signing key;
// signing_key_not_found when it has none.
func SigningKeyOf(t issuance.Tenant) (SigningKey, error) {
	if t.SigningKeyPEM == "" {
		return SigningKey{}, issuance.Errorf(issuance.SlugSigningKeyNotFound, "this tenant has no request-signing key")
	}
	pub, alg, err := ParseSigningKey(t.SigningKeyPEM)
	if err != nil {
		return SigningKey{}, err
	}
	return signingKeyOf(t.SigningKeyID, pub, alg), nil
}

// DeleteSigningKey removes a tenant's signing key: requests need no
// signature afterwards. signing_key_not_found when it has none.
func (s *Service) DeleteSigningKey(ctx context.Context, t issuance.Tenant) error {
	if t.SigningKeyPEM == "" {
		return issuance.Errorf(issuance.SlugSigningKeyNotFound, "this tenant has no request-signing key")
	}
	if err := s.d.Tenants.SetSigningKey(ctx, t.ID, "", "", ""); err != nil {
		return err
	}
	s.d.Logger.Info("request signing key removed", "tenant_id", t.ID)
	return nil
}

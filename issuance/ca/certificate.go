package ca

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"strconv"
	"strings"
	"time"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/kafka"
)

// Issuer certificates (QPay's "import a certificate" step): the issuer sends
// a CSR for an ECC P-256 key it holds in its own HSM; cardhost's CA key
// signs a certificate valid 90 days, and the key becomes known to cardhost
// under an hsm_key_reference. The issuer later names that reference as
// incoming_pek.key_reference when it sends a PIN block enciphered under the
// key agreed between that key and cardhost's ECDH key (PIN set).
//
// Rotation: a new CSR creates a new certificate; older ones stay valid until
// their not_after. A CSR for a key cardhost already knows (renewal of the
// same key) keeps that key's hsm_key_reference, so the issuer's systems need
// no change; a new key gets a new reference.

// Validity is how long issued certificates are valid (the HSM's
// default, softhsm.DefaultCertValidity).
const Validity = 90 * 24 * time.Hour

// ExpiryNotice is how long before its not_after a certificate's
// certificate.expiring event is published.
const ExpiryNotice = 14 * 24 * time.Hour

// maxCSRLength bounds the certificate_request_pem field (a P-256 CSR is
// well under 1 KiB).
const maxCSRLength = 16 << 10

// Status is an issuer certificate's state.
type Status string

// Certificate statuses. EXPIRED is computed from not_after when read.
const (
	Active  Status = "ACTIVE"
	Expired Status = "EXPIRED"
)

// Certificate is an issuer certificate issued by cardhost's CA from the
// issuer's CSR.
type Certificate struct {
	ID       string `json:"certificate_id"`
	TenantID string `json:"-"`
	// HSMKeyReference names the issuer's public key for PIN set
	// (incoming_pek.key_reference). Certificates of the same key share it.
	HSMKeyReference string `json:"hsm_key_reference"`
	Serial          string `json:"serial_number" doc:"hex"`
	Subject         string `json:"subject"`
	// Fingerprint is the SHA-256 of the DER certificate, hex.
	Fingerprint string `json:"fingerprint" doc:"SHA-256 of the DER certificate, hex"`
	// PublicKeyFingerprint is the SHA-256 of the key's SubjectPublicKeyInfo.
	PublicKeyFingerprint string `json:"public_key_fingerprint" doc:"SHA-256 of the certified key's SubjectPublicKeyInfo (DER), hex"`
	PublicKeyPEM         string `json:"public_key_pem"`
	// CertificatePEM is the issued certificate.
	CertificatePEM string    `json:"-"`
	NotBefore      time.Time `json:"not_before"`
	NotAfter       time.Time `json:"not_after"`
	Status         Status    `json:"status" enum:"ACTIVE,EXPIRED"`
	CreatedAt      time.Time `json:"created_at"`
}

// withStatusAt sets the computed status at time now.
func (c Certificate) withStatusAt(now time.Time) Certificate {
	if c.Status == Active && !now.Before(c.NotAfter) {
		c.Status = Expired
	}
	return c
}

// Store persists issuer certificates. Implementations must be safe for
// concurrent use (issuance/postgres).
type Store interface {
	// CreateCertificate stores c with its events, atomically. When the
	// tenant already has a certificate for the same public key
	// (PublicKeyFingerprint), c takes that key's HSMKeyReference; the
	// stored certificate is returned.
	CreateCertificate(ctx context.Context, c Certificate, events []kafka.Event) (Certificate, error)
	// Certificate returns one of a tenant's certificates; issuance.ErrNotFound
	// otherwise.
	Certificate(ctx context.Context, tenantID, id string) (Certificate, error)
	// Certificates lists a tenant's certificates, newest first.
	Certificates(ctx context.Context, tenantID string, p issuance.PageRequest) ([]Certificate, bool, error)
	// MarkExpiringCertificates finds up to limit unexpired certificates
	// whose not_after is before `before` and whose expiry was not yet
	// announced, marks them announced and writes events(c) for each, in one
	// transaction that skips rows other instances hold (FOR UPDATE SKIP
	// LOCKED). It returns how many it marked.
	MarkExpiringCertificates(ctx context.Context, before time.Time, limit int, events func(Certificate) ([]kafka.Event, error)) (int, error)
}

// csrField is the request field errors name.
const csrField = "certificate_request_pem"

// csrError is a validation_failed rejection of the CSR field.
func csrError(code, msg string) error {
	return &issuance.Error{Slug: issuance.SlugValidationFailed, Message: "the certificate request was rejected", Fields: []issuance.FieldError{{Field: csrField, Code: code, Message: msg}}}
}

// decodeCSR reads a CSR given as base64 of a PEM or DER request (QPay's
// `base64 -w 0 issuer.csr`) or as PEM text, and checks it: a PKCS #10
// request whose signature verifies, for an ECDSA P-256 key. Rejections are
// validation_failed errors naming certificate_request_pem.
func decodeCSR(s string) (*x509.CertificateRequest, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, csrError("required", "a CSR, base64-encoded (PEM or DER)")
	}
	if len(s) > maxCSRLength {
		return nil, csrError("too_long", "at most "+strconv.Itoa(maxCSRLength)+" characters")
	}
	raw := []byte(s)
	if !strings.HasPrefix(s, "-----BEGIN") {
		compact := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
				return -1
			}
			return r
		}, s)
		var err error
		raw = nil
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if raw, err = enc.DecodeString(compact); err == nil {
				break
			}
		}
		if err != nil {
			return nil, csrError("invalid", "not base64 (encode the PEM or DER CSR, e.g. base64 -w 0 issuer.csr)")
		}
	}
	der := raw
	if strings.HasPrefix(strings.TrimSpace(string(raw)), "-----BEGIN") {
		blk, _ := pem.Decode(raw)
		switch {
		case blk == nil:
			return nil, csrError("invalid", "malformed PEM")
		case blk.Type != "CERTIFICATE REQUEST" && blk.Type != "NEW CERTIFICATE REQUEST":
			return nil, csrError("invalid", "the PEM block is a "+strconv.Quote(blk.Type)+", not a CERTIFICATE REQUEST")
		}
		der = blk.Bytes
	}
	req, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, csrError("invalid", "not a PKCS #10 certificate signing request")
	}
	if err := req.CheckSignature(); err != nil {
		return nil, csrError("bad_signature", "the request's signature does not verify with its public key")
	}
	switch k := req.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, csrError("unsupported_key", "the key is on curve "+k.Curve.Params().Name+"; an ECC P-256 (prime256v1) key is required")
		}
	case *rsa.PublicKey:
		return nil, csrError("unsupported_key", "RSA keys are not accepted; an ECC P-256 (prime256v1) key is required")
	case ed25519.PublicKey:
		return nil, csrError("unsupported_key", "Ed25519 keys are not accepted; an ECC P-256 (prime256v1) key is required")
	default:
		return nil, csrError("unsupported_key", "an ECC P-256 (prime256v1) key is required")
	}
	return req, nil
}

// CreateCertificate checks the issuer's CSR, has the HSM's CA key sign a
// certificate for its key and stores it with a certificate.created event.
// Rejections: validation_failed on certificate_request_pem (not base64 or
// PEM, not a CSR, bad signature, a key other than ECC P-256);
// key_not_configured when no CA key is assigned.
func (s *Service) CreateCertificate(ctx context.Context, tenantID, csr string) (Certificate, error) {
	req, err := decodeCSR(csr)
	if err != nil {
		return Certificate{}, err
	}
	if s.d.Keys.CA == "" {
		return Certificate{}, issuance.Errorf(issuance.SlugKeyNotConfigured, "no CA key is assigned (cardhost keys assign --role ca)")
	}
	spki, err := x509.MarshalPKIXPublicKey(req.PublicKey)
	if err != nil {
		return Certificate{}, csrError("unsupported_key", "the public key cannot be encoded")
	}
	cert, err := s.d.Vault.SignCSR(ctx, s.d.Keys.CA, req.Raw)
	if err != nil {
		return Certificate{}, err
	}
	now := s.now()
	sum := sha256.Sum256(spki)
	c := Certificate{
		ID: issuance.NewID(issuance.CertificateIDPrefix, now), TenantID: tenantID,
		HSMKeyReference:      issuance.NewID("ipk", now),
		Serial:               cert.Serial,
		Subject:              req.Subject.String(),
		Fingerprint:          cert.Fingerprint,
		PublicKeyFingerprint: hex.EncodeToString(sum[:]),
		PublicKeyPEM:         string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki})),
		CertificatePEM:       cert.PEM,
		NotBefore:            cert.NotBefore.UTC(),
		NotAfter:             cert.NotAfter.UTC(),
		Status:               Active,
		CreatedAt:            now,
	}
	ev, err := kafka.NewEvent(kafka.TypeCertificateCreated, tenantID, tenantID, kafka.CertificateData{ID: c.ID, TenantID: tenantID, NotAfter: c.NotAfter}, now)
	if err != nil {
		return Certificate{}, err
	}
	c, err = s.certs.CreateCertificate(ctx, c, []kafka.Event{ev})
	if err != nil {
		return Certificate{}, err
	}
	s.d.Logger.Info("certificate issued", "tenant_id", tenantID, "certificate_id", c.ID, "hsm_key_reference", c.HSMKeyReference, "not_after", c.NotAfter)
	return c.withStatusAt(now), nil
}

// Certificate returns one of a tenant's certificates (issuance.ErrNotFound otherwise).
func (s *Service) Certificate(ctx context.Context, tenantID, id string) (Certificate, error) {
	if !issuance.ValidID(issuance.CertificateIDPrefix, id) {
		return Certificate{}, issuance.ErrNotFound
	}
	c, err := s.certs.Certificate(ctx, tenantID, id)
	if err != nil {
		return Certificate{}, err
	}
	return c.withStatusAt(s.now()), nil
}

// Certificates lists a tenant's certificates, newest first.
func (s *Service) Certificates(ctx context.Context, tenantID string, p issuance.PageRequest) ([]Certificate, bool, error) {
	var v issuance.Validator
	issuance.ValidatePage(&v, p, issuance.CertificateIDPrefix)
	if err := v.Err(); err != nil {
		return nil, false, err
	}
	cs, more, err := s.certs.Certificates(ctx, tenantID, p)
	now := s.now()
	for i := range cs {
		cs[i] = cs[i].withStatusAt(now)
	}
	return cs, more, err
}

// NotifyExpiringCertificates publishes certificate.expiring once for every
// certificate that expires within ExpiryNotice, and returns how
// many it announced. Several instances may run it at once: each
// certificate is announced by exactly one.
func (s *Service) NotifyExpiringCertificates(ctx context.Context) (int, error) {
	const batch = 100
	total := 0
	for {
		now := s.now()
		n, err := s.certs.MarkExpiringCertificates(ctx, now.Add(ExpiryNotice), batch, func(c Certificate) ([]kafka.Event, error) {
			ev, err := kafka.NewEvent(kafka.TypeCertificateExpiring, c.TenantID, c.TenantID, kafka.CertificateData{ID: c.ID, TenantID: c.TenantID, NotAfter: c.NotAfter}, now)
			if err != nil {
				return nil, err
			}
			return []kafka.Event{ev}, nil
		})
		total += n
		if err != nil {
			return total, err
		}
		if n < batch {
			return total, nil
		}
	}
}

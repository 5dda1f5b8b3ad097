package softhsm

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/cardhost/cardhost/emv"
)

// Certificate is an alias of [emv.Certificate], so that consumers can name it without importing this package.
type Certificate = emv.Certificate

// SignCSR checks a PKCS #10 certificate request (PEM or DER) and issues an
// issuer certificate for its key, signed by the CA key: ECDSA P-256 with
// SHA-256, valid Config.CertValidity (90 days by default) from now, key
// usage digital signature and key agreement, subject from the request. A
// request with a bad signature or a key other than ECDSA P-256 (RSA, other
// curves) gives ErrCSR.
func (h *HSM) SignCSR(ctx context.Context, caRef string, csr []byte) (Certificate, error) {
	if blk, _ := pem.Decode(csr); blk != nil {
		if blk.Type != "CERTIFICATE REQUEST" && blk.Type != "NEW CERTIFICATE REQUEST" {
			return Certificate{}, fmt.Errorf("reading CSR: PEM type %q: %w", blk.Type, ErrCSR)
		}
		csr = blk.Bytes
	}
	req, err := x509.ParseCertificateRequest(csr)
	if err != nil {
		return Certificate{}, fmt.Errorf("reading CSR: %w", ErrCSR)
	}
	if err := req.CheckSignature(); err != nil {
		return Certificate{}, fmt.Errorf("checking CSR signature: %w", ErrCSR)
	}
	pub, ok := req.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return Certificate{}, fmt.Errorf("reading CSR: key is not ECDSA P-256: %w", ErrCSR)
	}
	var out Certificate
	err = h.withActive(ctx, caRef, opSign, func(k *key) error {
		ca, err := h.caTemplate(k)
		if err != nil {
			return err
		}
		serial, err := h.serial()
		if err != nil {
			return err
		}
		now := h.clock().Truncate(time.Second)
		tpl := &x509.Certificate{
			SerialNumber:          serial,
			Subject:               req.Subject,
			NotBefore:             now.Add(-time.Minute),
			NotAfter:              now.Add(h.validity),
			KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyAgreement,
			BasicConstraintsValid: true,
			AuthorityKeyId:        ca.SubjectKeyId,
			SubjectKeyId:          keyID(pub),
		}
		der, err := x509.CreateCertificate(h.rand, tpl, ca, pub, k.ec)
		if err != nil {
			return fmt.Errorf("signing certificate: %w", err)
		}
		sum := sha256.Sum256(der)
		out = Certificate{
			DER: der, PEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
			Serial: hex.EncodeToString(serial.Bytes()), NotBefore: tpl.NotBefore, NotAfter: tpl.NotAfter,
			Fingerprint: hex.EncodeToString(sum[:]), CAKeyVersion: k.rec.Version,
		}
		return nil
	})
	return out, err
}

// CACertificate returns a self-signed certificate for the active CA key, so
// that issuers can check the certificates SignCSR issues. Its identity
// (subject, serial, validity, key) is fixed per key version; the signature
// bytes differ between calls because ECDSA signatures are randomized.
func (h *HSM) CACertificate(ctx context.Context, caRef string) (Certificate, error) {
	var out Certificate
	err := h.withActive(ctx, caRef, opSign, func(k *key) error {
		tpl, err := h.caTemplate(k)
		if err != nil {
			return err
		}
		der, err := x509.CreateCertificate(h.rand, tpl, tpl, &k.ec.PublicKey, k.ec)
		if err != nil {
			return fmt.Errorf("signing CA certificate: %w", err)
		}
		sum := sha256.Sum256(der)
		out = Certificate{
			DER: der, PEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
			Serial: hex.EncodeToString(tpl.SerialNumber.Bytes()), NotBefore: tpl.NotBefore, NotAfter: tpl.NotAfter,
			Fingerprint: hex.EncodeToString(sum[:]), CAKeyVersion: k.rec.Version,
		}
		return nil
	})
	return out, err
}

func (h *HSM) caTemplate(k *key) (*x509.Certificate, error) {
	ski := keyID(&k.ec.PublicKey)
	notAfter := k.rec.Expires
	if notAfter.IsZero() {
		notAfter = k.rec.Activated.AddDate(10, 0, 0)
	}
	return &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(ski[:8]),
		Subject:               pkix.Name{CommonName: fmt.Sprintf("cardhost issuer CA %s v%d", k.rec.Ref, k.rec.Version), Organization: []string{"cardhost"}},
		NotBefore:             k.rec.Activated.Truncate(time.Second),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		SubjectKeyId:          ski,
	}, nil
}

// keyID is the RFC 7093 method 1 key identifier: the leftmost 160 bits of
// SHA-256 of the public key point.
func keyID(pub *ecdsa.PublicKey) []byte {
	b, _ := pub.Bytes()
	sum := sha256.Sum256(b)
	return sum[:20]
}

func (h *HSM) serial() (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(h.rand, b); err != nil {
		return nil, fmt.Errorf("generating serial number: %w", err)
	}
	b[0] &= 0x7F
	b[0] |= 0x40 // positive, 127 bits, no leading zero
	return new(big.Int).SetBytes(b), nil
}

package softhsm

import (
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"

	"github.com/cardhost/cardhost/emv"
)

// PublicKey is an alias of [emv.PublicKey], so that consumers can name it without importing this package.
type PublicKey = emv.PublicKey

// ECDHPublicKey returns the active ECDH key's public half.
func (h *HSM) ECDHPublicKey(ctx context.Context, ecdhRef string) (PublicKey, error) {
	var out PublicKey
	err := h.withActive(ctx, ecdhRef, opAgree, func(k *key) error {
		var err error
		out, err = publicKeyOf(&k.ec.PublicKey)
		out.Ref, out.Version = k.rec.Ref, k.rec.Version
		return err
	})
	return out, err
}

func publicKeyOf(pub *ecdsa.PublicKey) (PublicKey, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return PublicKey{}, fmt.Errorf("encoding public key: %w", err)
	}
	point, err := pub.Bytes()
	if err != nil {
		return PublicKey{}, fmt.Errorf("encoding public key: %w", err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	x, y := b64(point[1:33]), b64(point[33:65])
	// RFC 7638: members in lexicographic order, no white space.
	thumb := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + x + `","y":"` + y + `"}`))
	fp := b64(thumb[:])
	jwk, _ := json.Marshal(map[string]string{"kty": "EC", "crv": "P-256", "x": x, "y": y, "use": "enc", "kid": fp})
	return PublicKey{
		PEM:         string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		JWK:         jwk,
		Fingerprint: fp,
		Point:       point,
	}, nil
}

// ParsePublicKey reads a P-256 public key given as PEM (PUBLIC KEY or
// CERTIFICATE), PKIX DER, or an uncompressed point. Anything else gives
// ErrPublicKey.
func ParsePublicKey(b []byte) (*ecdh.PublicKey, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
		if blk.Type == "CERTIFICATE" {
			cert, err := x509.ParseCertificate(b)
			if err != nil {
				return nil, fmt.Errorf("parsing public key: %w", ErrPublicKey)
			}
			return ecdhPublic(cert.PublicKey)
		}
	}
	if len(b) == 65 && b[0] == 4 {
		pub, err := ecdh.P256().NewPublicKey(b)
		if err != nil {
			return nil, fmt.Errorf("parsing public key: %w", ErrPublicKey)
		}
		return pub, nil
	}
	k, err := x509.ParsePKIXPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("parsing public key: %w", ErrPublicKey)
	}
	return ecdhPublic(k)
}

func ecdhPublic(k any) (*ecdh.PublicKey, error) {
	var pub *ecdh.PublicKey
	switch k := k.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("parsing public key: not P-256: %w", ErrPublicKey)
		}
		var err error
		if pub, err = k.ECDH(); err != nil {
			return nil, fmt.Errorf("parsing public key: %w", ErrPublicKey)
		}
	case *ecdh.PublicKey:
		pub = k
	default:
		return nil, fmt.Errorf("parsing public key: not EC: %w", ErrPublicKey)
	}
	if pub.Curve() != ecdh.P256() {
		return nil, fmt.Errorf("parsing public key: not P-256: %w", ErrPublicKey)
	}
	return pub, nil
}

// PINSet is an alias of [emv.PINSet], so that consumers can name it without importing this package.
type PINSet = emv.PINSet

// SetPIN agrees the PIN-encryption key (ECDH P-256 with the HSM's ECDH key,
// then emv.KDFOneStepSHA256 over emv.PINSetFixedInfo, 32 bytes: an AES-256
// key, for a 32-hex format 4 block; over emv.PINSetFixedInfoFormat0, 24
// bytes: a TDES key, for a 16-hex format 0 block), deciphers the block, and returns the verification data by the
// method in c (with the active PVK version). The PIN is never stored or
// returned. A block that does not decode gives ErrPINBlock.
func (h *HSM) SetPIN(ctx context.Context, req PINSet, c PINCheck) (PINVerificationData, error) {
	return h.SetPINWithBinding(ctx, req, req.PAN, c)
}

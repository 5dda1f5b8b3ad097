package softhsm

import (
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"fmt"

	"github.com/cardhost/cardhost/emv"
)

// PINSetAlgorithmID is the AlgorithmID of the PIN-set KDF's FixedInfo
// (docs/hsm.md, "PIN set key agreement").
const PINSetAlgorithmID = "cardhost:pin-set:iso9564-4:aes-256"

// KDFOneStepSHA256 is the NIST SP 800-56C rev. 2 section 4.1 one-step key
// derivation with H = SHA-256: the first n bytes of
// SHA-256(counter || z || fixedInfo) for counter = 1, 2, ... (32 bits,
// big-endian). It is also ANSI X9.63's and NIST SP 800-56A's concatenation
// KDF.
func KDFOneStepSHA256(z, fixedInfo []byte, n int) []byte {
	out := make([]byte, 0, n+sha256.Size)
	for counter := uint32(1); len(out) < n; counter++ {
		h := sha256.New()
		var c [4]byte
		binary.BigEndian.PutUint32(c[:], counter)
		h.Write(c[:])
		h.Write(z)
		h.Write(fixedInfo)
		out = h.Sum(out)
	}
	return out[:n]
}

// PINSetFixedInfo is the FixedInfo of the PIN-set KDF, in the SP 800-56A
// concatenation format: AlgorithmID, PartyUInfo (the issuer's public key,
// an uncompressed P-256 point) and PartyVInfo (the HSM's ECDH public key,
// uncompressed), each as a 4-byte big-endian length and the bytes, then
// SuppPubInfo, the key length in bits (256) as 4 bytes.
func PINSetFixedInfo(issuerPub, hsmPub []byte) []byte {
	var b []byte
	for _, f := range [][]byte{[]byte(PINSetAlgorithmID), issuerPub, hsmPub} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return binary.BigEndian.AppendUint32(b, 256)
}

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
// then KDFOneStepSHA256 over PINSetFixedInfo, 32 bytes: an AES-256 key),
// deciphers the format 4 block, and returns the verification data by the
// method in c (with the active PVK version). The PIN is never stored or
// returned. A block that does not decode gives ErrPINBlock.
func (h *HSM) SetPIN(ctx context.Context, req PINSet, c PINCheck) (PINVerificationData, error) {
	return h.SetPINWithBinding(ctx, req, req.PAN, c)
}

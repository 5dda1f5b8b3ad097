package rest

import (
	"encoding/base64"
	"encoding/json"
	"github.com/cardhost/cardhost/issuance/ca"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
)

// Issuer certificates (QPay's step 1): the issuer posts a CSR for an ECC
// P-256 key; cardhost's CA signs a 90-day certificate and names the key by
// hsm_key_reference for PIN set.

type certificateRequest struct {
	CSR string `json:"certificate_request_pem" required:"true" doc:"the PKCS #10 CSR of an ECC P-256 key, PEM or DER, base64-encoded (base64 -w 0 issuer.csr); PEM text is accepted too"`
}

type certificateResponse struct {
	ca.Certificate
	CertificatePEMBase64 string `json:"certificate_pem_base64" doc:"the issued certificate, PEM, base64-encoded"`
}

type certificateList page[certificateResponse]

func certificateOut(c ca.Certificate) certificateResponse {
	return certificateResponse{Certificate: c, CertificatePEMBase64: base64.StdEncoding.EncodeToString([]byte(c.CertificatePEM))}
}

func (r certificateRequest) csr() string { return r.CSR }

// The HSM public key (QPay's step 2): the ECDH P-256 key issuers agree the
// PIN-encryption key with (docs/hsm.md, "PIN set key agreement").

type hsmPublicKeyResponse struct {
	HSMKeyReference string          `json:"hsm_key_reference"`
	Version         int             `json:"version" doc:"key version; a rotation publishes a new one"`
	PublicKeyPEM    string          `json:"public_key_pem" doc:"SubjectPublicKeyInfo, PEM"`
	JWK             json.RawMessage `json:"jwk" doc:"RFC 7517 JSON Web Key (kty EC, crv P-256, use enc)"`
	Fingerprint     string          `json:"fingerprint" doc:"RFC 7638 JWK thumbprint (SHA-256, base64url)"`
	Algorithm       string          `json:"algorithm" enum:"ECDH-P256"`
	KDF             string          `json:"kdf" doc:"key derivation of the PIN-encryption key from the shared secret"`
}

func (s *Server) getHSMPublicKey(c *fiber.Ctx) error {
	pk, err := s.deps.Service.HSMPublicKey(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(hsmPublicKeyResponse{
		HSMKeyReference: pk.Ref, Version: pk.Version, PublicKeyPEM: pk.PEM, JWK: pk.JWK, Fingerprint: pk.Fingerprint,
		Algorithm: issuance.PINSetKeyAgreement, KDF: issuance.PINSetKDF,
	})
}

package rest

import (
	"encoding/base64"

	"github.com/cardhost/cardhost/issuance"
)

// Issuer certificates (QPay's step 1): the issuer posts a CSR for an ECC
// P-256 key; cardhost's CA signs a 90-day certificate and names the key by
// hsm_key_reference for PIN set.

type certificateRequest struct {
	CSR string `json:"certificate_request_pem" required:"true" doc:"the PKCS #10 CSR of an ECC P-256 key, PEM or DER, base64-encoded (base64 -w 0 issuer.csr); PEM text is accepted too"`
}

type certificateResponse struct {
	issuance.Certificate
	CertificatePEMBase64 string `json:"certificate_pem_base64" doc:"the issued certificate, PEM, base64-encoded"`
}

type certificateList page[certificateResponse]

func certificateOut(c issuance.Certificate) certificateResponse {
	return certificateResponse{Certificate: c, CertificatePEMBase64: base64.StdEncoding.EncodeToString([]byte(c.CertificatePEM))}
}

func (r certificateRequest) csr() string { return r.CSR }

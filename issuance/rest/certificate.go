package rest

import (
	"encoding/base64"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance/ca"
)

// Issuer certificates (QPay's step 1): the issuer posts a CSR for an ECC
// P-256 key; cardhost's CA signs a 90-day certificate and names the key by
// hsm_key_reference for PIN set.

func init() { extraRoutes = append(extraRoutes, (*Server).registerCertificateRoutes) }

type certificateRequest struct {
	CSR string `json:"certificate_request_pem" required:"true" doc:"the PKCS #10 CSR of an ECC P-256 key, PEM or DER, base64-encoded (base64 -w 0 issuer.csr); PEM text is accepted too"`
}

type certificateResponse struct {
	ca.Certificate
	CertificatePEMBase64 string `json:"certificate_pem_base64" doc:"the issued certificate, PEM, base64-encoded"`
}

type certificateList struct {
	Data    []certificateResponse `json:"data"`
	HasMore bool                  `json:"has_more"`
}

func certificateOut(c ca.Certificate) certificateResponse {
	return certificateResponse{Certificate: c, CertificatePEMBase64: base64.StdEncoding.EncodeToString([]byte(c.CertificatePEM))}
}

func (s *Server) registerCertificateRoutes() {
	s.handle(fiber.MethodPost, "/v1/certificates", operation{ID: "createCertificate", Summary: "Import an issuer CSR: issue an ECC P-256 certificate valid 90 days", Tag: "certificates",
		Idempotent: true, Request: certificateRequest{}, Response: certificateResponse{}},
		func(c *fiber.Ctx) error {
			var r certificateRequest
			if err := decodeJSON(c, &r); err != nil {
				return err
			}
			cert, err := s.deps.CA.CreateCertificate(c.UserContext(), tenantOf(c).ID, r.CSR)
			if err != nil {
				return err
			}
			return c.Status(fiber.StatusCreated).JSON(certificateOut(cert))
		})
	s.handle(fiber.MethodGet, "/v1/certificates", operation{ID: "listCertificates", Summary: "List the tenant's issuer certificates", Tag: "certificates",
		Response: certificateList{}, Query: pageQueryParams},
		func(c *fiber.Ctx) error {
			p, err := pageOf(c)
			if err != nil {
				return err
			}
			cs, more, err := s.deps.CA.Certificates(c.UserContext(), tenantOf(c).ID, p)
			if err != nil {
				return err
			}
			out := certificateList{Data: make([]certificateResponse, len(cs)), HasMore: more}
			for i, cert := range cs {
				out.Data[i] = certificateOut(cert)
			}
			return c.JSON(out)
		})
	s.handle(fiber.MethodGet, "/v1/certificates/:id", operation{ID: "getCertificate", Summary: "Get an issuer certificate", Tag: "certificates", Response: certificateResponse{}},
		func(c *fiber.Ctx) error {
			cert, err := s.deps.CA.Certificate(c.UserContext(), tenantOf(c).ID, c.Params("id"))
			if err != nil {
				return err
			}
			return c.JSON(certificateOut(cert))
		})
}

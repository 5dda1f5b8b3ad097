package rest

import (
	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance/ca"
)

// The tenant's request-signing key. Registering one makes signatures
// mandatory from the next request on; replacing or deleting it needs a
// request signed with the current key (the auth middleware checks
// signatures before any handler runs).

func init() { extraRoutes = append(extraRoutes, (*Server).registerSigningKeyRoutes) }

type signingKeyRequest struct {
	PublicKeyPEM string `json:"public_key_pem" required:"true" doc:"SubjectPublicKeyInfo PEM of an ECDSA P-256, ECDSA P-384 or Ed25519 key"`
	KeyID        string `json:"key_id" required:"true" doc:"the keyid the client puts in Signature-Input; 1 to 100 visible characters, no quotes"`
}

func (s *Server) registerSigningKeyRoutes() {
	s.handle(fiber.MethodPut, "/v1/tenant/signing-key", operation{ID: "putSigningKey", Summary: "Register or replace the tenant's request-signing public key (RFC 9421)", Tag: "tenant",
		Request: signingKeyRequest{}, Response: ca.SigningKey{}},
		func(c *fiber.Ctx) error {
			var r signingKeyRequest
			if err := decodeJSON(c, &r); err != nil {
				return err
			}
			k, err := s.deps.CA.SetSigningKey(c.UserContext(), tenantOf(c).ID, r.PublicKeyPEM, r.KeyID)
			if err != nil {
				return err
			}
			return c.JSON(k)
		})
	s.handle(fiber.MethodGet, "/v1/tenant/signing-key", operation{ID: "getSigningKey", Summary: "The tenant's request-signing public key", Tag: "tenant", Response: ca.SigningKey{}},
		func(c *fiber.Ctx) error {
			k, err := ca.SigningKeyOf(tenantOf(c))
			if err != nil {
				return err
			}
			return c.JSON(k)
		})
	s.handle(fiber.MethodDelete, "/v1/tenant/signing-key", operation{ID: "deleteSigningKey", Summary: "Remove the signing key: requests need no signature afterwards", Tag: "tenant", Status: fiber.StatusNoContent},
		func(c *fiber.Ctx) error {
			if err := s.deps.CA.DeleteSigningKey(c.UserContext(), tenantOf(c)); err != nil {
				return err
			}
			c.Status(fiber.StatusNoContent)
			return nil
		})
}

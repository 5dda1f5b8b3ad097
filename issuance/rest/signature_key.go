package rest

import (
	"github.com/cardhost/cardhost/issuance/ca"
	"github.com/gofiber/fiber/v2"
)

// The tenant's request-signing key. Registering one makes signatures
// mandatory from the next request on; replacing or deleting it needs a
// request signed with the current key (the auth middleware checks
// signatures before any handler runs).

type signingKeyRequest struct {
	PublicKeyPEM string `json:"public_key_pem" required:"true" doc:"SubjectPublicKeyInfo PEM of an ECDSA P-256, ECDSA P-384 or Ed25519 key"`
	KeyID        string `json:"key_id" required:"true" doc:"the keyid the client puts in Signature-Input; 1 to 100 visible characters, no quotes"`
}

func (s *Server) putSigningKey(c *fiber.Ctx) error {
	var r signingKeyRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	k, err := s.deps.CA.SetSigningKey(c.UserContext(), tenantOf(c).ID, r.PublicKeyPEM, r.KeyID)
	if err != nil {
		return err
	}
	return c.JSON(k)
}

func (s *Server) getSigningKey(c *fiber.Ctx) error {
	k, err := ca.SigningKeyOf(tenantOf(c))
	if err != nil {
		return err
	}
	return c.JSON(k)
}

func (s *Server) deleteSigningKey(c *fiber.Ctx) error {
	if err := s.deps.CA.DeleteSigningKey(c.UserContext(), tenantOf(c)); err != nil {
		return err
	}
	c.Status(fiber.StatusNoContent)
	return nil
}

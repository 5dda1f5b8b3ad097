package rest

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
)

type tenantResponse struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Sandbox   bool      `json:"sandbox"`
	CreatedAt time.Time `json:"created_at"`
	Signing   bool      `json:"request_signing" doc:"whether requests must carry an RFC 9421 signature"`
}

type apiKeyRequest struct {
	Scopes []string `json:"scopes" enum:"reveal" doc:"extra scopes; reveal allows POST /v1/cards/{id}/reveal outside sandbox"`
}

type apiKeyResponse struct {
	issuance.APIKey
	Secret string `json:"secret,omitempty" doc:"the key itself; shown only in the create response"`
}

type apiKeyList struct {
	Data []issuance.APIKey `json:"data"`
}

func (s *Server) registerTenantRoutes() {
	s.handle(fiber.MethodGet, "/v1/tenant", operation{ID: "getTenant", Summary: "The tenant the API key belongs to", Tag: "tenant", Response: tenantResponse{}},
		func(c *fiber.Ctx) error {
			t := tenantOf(c)
			return c.JSON(tenantResponse{ID: t.ID, Name: t.Name, Sandbox: t.Sandbox, CreatedAt: t.CreatedAt, Signing: t.SigningKeyPEM != ""})
		})
	s.handle(fiber.MethodGet, "/v1/api-keys", operation{ID: "listAPIKeys", Summary: "List the tenant's API keys (never their secrets)", Tag: "tenant", Response: apiKeyList{}},
		func(c *fiber.Ctx) error {
			keys, err := s.deps.Service.APIKeys(c.UserContext(), tenantOf(c).ID)
			if err != nil {
				return err
			}
			if keys == nil {
				keys = []issuance.APIKey{}
			}
			return c.JSON(apiKeyList{Data: keys})
		})
	s.handle(fiber.MethodPost, "/v1/api-keys", operation{ID: "createAPIKey", Summary: "Create another API key; the secret is shown once", Tag: "tenant", Idempotent: true, Request: apiKeyRequest{}, Response: apiKeyResponse{}},
		func(c *fiber.Ctx) error {
			var req apiKeyRequest
			if err := decodeJSON(c, &req); err != nil {
				return err
			}
			k, secret, err := s.deps.Service.CreateAPIKey(c.UserContext(), tenantOf(c).ID, req.Scopes)
			if err != nil {
				return err
			}
			return c.Status(fiber.StatusCreated).JSON(apiKeyResponse{APIKey: k, Secret: secret})
		})
	s.handle(fiber.MethodPost, "/v1/api-keys/:id/revoke", operation{ID: "revokeAPIKey", Summary: "Revoke an API key at once", Tag: "tenant", Status: fiber.StatusNoContent},
		func(c *fiber.Ctx) error {
			id := c.Params("id")
			if !issuance.ValidID("key", id) {
				return issuance.ErrNotFound
			}
			if err := s.deps.Service.RevokeAPIKey(c.UserContext(), tenantOf(c).ID, id); err != nil {
				return err
			}
			c.Status(fiber.StatusNoContent)
			return nil
		})
}

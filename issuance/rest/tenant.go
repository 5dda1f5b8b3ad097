package rest

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/bins"
	"github.com/cardhost/cardhost/issuance/catalog"
)

type tenantResponse struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Sandbox   bool      `json:"sandbox"`
	CreatedAt time.Time `json:"created_at"`
	Signing   bool      `json:"request_signing" doc:"whether requests must carry an RFC 9421 signature"`
	ParentID  string    `json:"parent_id,omitempty" doc:"the parent tenant, when this one is a sub-account"`
	issuance.TenantSettings
}

type apiKeyResponse struct {
	issuance.APIKey
	Secret string `json:"secret,omitempty" doc:"the key itself; shown only in the create response, never in a replay of it"`
}

type apiKeyList struct {
	Data []issuance.APIKey `json:"data"`
}

func (s *Server) getTenant(c *fiber.Ctx) error {
	return c.JSON(viewTenant(tenantOf(c)))
}

func viewTenant(t issuance.Tenant) tenantResponse {
	return tenantResponse{ID: t.ID, Name: t.Name, Sandbox: t.Sandbox, CreatedAt: t.CreatedAt, Signing: t.SigningKeyPEM != "", ParentID: t.ParentID, TenantSettings: t.TenantSettings}
}

// updateTenant changes the tenant's own settings (PATCH /v1/tenant).
func (s *Server) updateTenant(c *fiber.Ctx) error {
	var u catalog.TenantSettingsUpdate
	if err := decodeJSON(c, &u); err != nil {
		return err
	}
	t, err := s.deps.Catalog.UpdateTenantSettings(c.UserContext(), tenantOf(c).ID, u)
	if err != nil {
		return err
	}
	return c.JSON(viewTenant(t))
}

// binRangeList is the tenant's BIN ranges, by prefix (not paged: an
// issuer has a handful).
type binRangeList struct {
	Data []bins.Range `json:"data"`
}

func (s *Server) listBINRanges(c *fiber.Ctx) error {
	rs, err := s.deps.Catalog.BINRanges(c.UserContext(), tenantOf(c).ID)
	if err != nil {
		return err
	}
	if rs == nil {
		rs = []bins.Range{}
	}
	return c.JSON(binRangeList{Data: rs})
}

func (s *Server) listAPIKeys(c *fiber.Ctx) error {
	keys, err := s.deps.Service.APIKeys(c.UserContext(), tenantOf(c).ID)
	if err != nil {
		return err
	}
	if keys == nil {
		keys = []issuance.APIKey{}
	}
	return c.JSON(apiKeyList{Data: keys})
}

func (s *Server) createAPIKey(c *fiber.Ctx) error {
	var req issuance.KeyRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	k, secret, err := s.deps.Service.CreateAPIKey(c.UserContext(), tenantOf(c).ID, s.actorOf(c), req)
	if err != nil {
		return err
	}
	if err := keepForReplay(c, apiKeyResponse{APIKey: k}); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(apiKeyResponse{APIKey: k, Secret: secret})
}

func (s *Server) revokeAPIKey(c *fiber.Ctx) error {
	id := c.Params("id")
	if !issuance.ValidID("key", id) {
		return issuance.ErrNotFound
	}
	if err := s.deps.Service.RevokeAPIKey(c.UserContext(), tenantOf(c).ID, id); err != nil {
		return err
	}
	c.Status(fiber.StatusNoContent)
	return nil
}

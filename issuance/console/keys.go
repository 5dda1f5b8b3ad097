package console

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
)

// keysPage lists the tenant's API keys (never their secrets); after a
// creation it shows the new key's secret, once.
type keysPage struct {
	Keys      []issuance.APIKey
	Current   string // the session's key
	CanReveal bool   // whether the session's key may give the reveal scope
	Created   *issuance.APIKey
	Secret    string
	Name      string
	Errors    []issuance.FieldError
	Error     string
	Done      string
}

// ErrorsFor returns the creation form's errors on field name.
func (p keysPage) ErrorsFor(name string) []issuance.FieldError { return fieldErrors(p.Errors, name) }

func (co *Console) keys(c *fiber.Ctx) error {
	p := keysPage{}
	if c.Query("done") == "revoked" {
		p.Done = "The key is revoked."
	}
	return co.renderKeys(c, fiber.StatusOK, p)
}

func (co *Console) renderKeys(c *fiber.Ctx, status int, p keysPage) error {
	s := sessionOf(c)
	keys, err := co.deps.Service.APIKeys(c.UserContext(), s.Tenant.ID)
	if err != nil {
		return co.fail(c, err)
	}
	p.Keys, p.Current, p.CanReveal = keys, s.Key.ID, s.Key.HasScope(issuance.ScopeReveal)
	return co.render(c, status, "keys", p)
}

// createKey makes another key through the service call of POST
// /v1/api-keys: a key can only give scopes it holds. The secret is shown
// on this answer only (never stored, never cached).
func (co *Console) createKey(c *fiber.Ctx) error {
	s := sessionOf(c)
	req := issuance.KeyRequest{Name: c.FormValue("name")}
	if c.FormValue("scope_reveal") != "" {
		req.Scopes = []string{issuance.ScopeReveal}
	}
	k, secret, err := co.deps.Service.CreateAPIKey(c.UserContext(), s.Tenant.ID, co.actor(c, s), req)
	if err != nil {
		var ie *issuance.Error
		if !errors.As(err, &ie) {
			return co.fail(c, err)
		}
		return co.renderKeys(c, co.deps.API.StatusOf(err), keysPage{Name: req.Name, Errors: ie.Fields, Error: ie.Message})
	}
	co.log.Info("console: API key created", "request_id", requestID(c), "tenant_id", s.Tenant.ID, "api_key_id", k.ID, "by", s.Key.ID)
	return co.renderKeys(c, fiber.StatusCreated, keysPage{Created: &k, Secret: secret})
}

// revokeKey revokes a key at once through the service call of POST
// /v1/api-keys/{id}/revoke (revoking the session's own key ends the
// session).
func (co *Console) revokeKey(c *fiber.Ctx) error {
	s := sessionOf(c)
	id := c.Params("id")
	if !issuance.ValidID("key", id) {
		return co.fail(c, issuance.ErrNotFound)
	}
	if err := co.deps.Service.RevokeAPIKey(c.UserContext(), s.Tenant.ID, id); err != nil {
		return co.fail(c, err)
	}
	co.log.Info("console: API key revoked", "request_id", requestID(c), "tenant_id", s.Tenant.ID, "api_key_id", id, "by", s.Key.ID)
	return c.Redirect(Prefix+"/keys?done=revoked", fiber.StatusSeeOther)
}

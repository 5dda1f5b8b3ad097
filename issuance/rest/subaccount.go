package rest

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/subaccount"
)

// Sub-accounts (docs/api.md "Sub-accounts"; package issuance/subaccount):
// the routes that create and list a tenant's sub-accounts, and the
// x-on-behalf-of header that makes a request of the parent's API key act
// as one of them.

// localKeyTenant holds the API key's own tenant when the request acts for
// one of its sub-accounts (localTenant then holds the sub-account).
const localKeyTenant = "key_tenant"

// subAccountView is a sub-account as the API shows it (UQPay's connected
// account: account_id is id, account_name is name).
type subAccountView struct {
	ID        string    `json:"id" doc:"the sub-account's tenant id: the value of the x-on-behalf-of header (UQPay's account_id)"`
	Name      string    `json:"name" doc:"UQPay's account_name"`
	ParentID  string    `json:"parent_id" doc:"the tenant that owns it: the caller"`
	Sandbox   bool      `json:"sandbox" doc:"its parent's mode"`
	CreatedAt time.Time `json:"created_at"`
}

func viewSubAccount(t issuance.Tenant) subAccountView {
	return subAccountView{ID: t.ID, Name: t.Name, ParentID: t.ParentID, Sandbox: t.Sandbox, CreatedAt: t.CreatedAt}
}

type subAccountList page[subAccountView]

// subAccountRoutes are the sub-account routes, when wired.
func (s *Server) subAccountRoutes() []route {
	if s.deps.SubAccounts == nil {
		return nil
	}
	return []route{
		{post, "/v1/sub-accounts", s.createSubAccount, operation{ID: "createSubAccount", Tag: "sub-accounts", Idempotent: true,
			Summary: "Create a sub-account: a tenant of its own that this tenant acts for with x-on-behalf-of", Request: subaccount.Request{}, Response: subAccountView{}}},
		{get, "/v1/sub-accounts", s.listSubAccounts, operation{ID: "listSubAccounts", Tag: "sub-accounts",
			Summary: "List the tenant's sub-accounts, newest first", Response: subAccountList{}, Query: pageQueryParams}},
		{get, "/v1/sub-accounts/:id", s.getSubAccount, operation{ID: "getSubAccount", Tag: "sub-accounts",
			Summary: "Get one of the tenant's sub-accounts", Response: subAccountView{}}},
	}
}

func (s *Server) createSubAccount(c *fiber.Ctx) error {
	var r subaccount.Request
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	t, err := s.deps.SubAccounts.Create(c.UserContext(), tenantOf(c), s.actorOf(c), r)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(viewSubAccount(t))
}

func (s *Server) listSubAccounts(c *fiber.Ctx) error {
	p, err := pageOf(c)
	if err != nil {
		return err
	}
	ts, more, err := s.deps.SubAccounts.List(c.UserContext(), tenantOf(c), p)
	if err != nil {
		return err
	}
	out := subAccountList{Data: make([]subAccountView, len(ts)), HasMore: more}
	for i, t := range ts {
		out.Data[i] = viewSubAccount(t)
	}
	return c.JSON(out)
}

func (s *Server) getSubAccount(c *fiber.Ctx) error {
	t, err := s.deps.SubAccounts.Get(c.UserContext(), tenantOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(viewSubAccount(t))
}

// actFor applies the x-on-behalf-of header of a request authenticated
// with a key of tenant t: the request then acts as that sub-account of t
// (its objects, its idempotency keys, its rules), with the key's scopes,
// and the key's tenant is kept for the audit trail and the log. Absent or
// empty, the request acts as t (UQPay: "if omitted or empty, the request
// is executed using the master account"). Sent twice, the request is
// refused: which one was meant cannot be known.
func (s *Server) actFor(c *fiber.Ctx, t issuance.Tenant) error {
	vals := c.Request().Header.PeekAll(subaccount.Header)
	if len(vals) == 0 || len(vals) == 1 && len(vals[0]) == 0 {
		return nil
	}
	if len(vals) > 1 {
		return &issuance.Error{Slug: slugBadRequest, Message: "the x-on-behalf-of header is sent more than once"}
	}
	if s.deps.SubAccounts == nil {
		return &issuance.Error{Slug: subaccount.SlugNotFound, Message: "no such sub-account of this tenant"}
	}
	sub, err := s.deps.SubAccounts.ActFor(c.UserContext(), t, string(vals[0]))
	if err != nil {
		return err
	}
	c.Locals(localTenant, sub)
	c.Locals(localKeyTenant, t)
	s.log.Info("request on behalf of a sub-account", "request_id", requestID(c), "method", c.Method(), "route", routeOf(c),
		"tenant_id", sub.ID, "api_key_tenant_id", t.ID, "api_key_id", apiKeyOf(c).ID)
	return nil
}

// keyTenantIDOf is the id of the API key's tenant when the request acts
// for one of its sub-accounts, "" otherwise.
func keyTenantIDOf(c *fiber.Ctx) string {
	t, _ := c.Locals(localKeyTenant).(issuance.Tenant)
	return t.ID
}

package rest

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
)

// The generic handlers of the tenant's resources: create from a request
// body, list a page, get one by id. Each takes the domain service that
// holds the resource ([issuance.Service], catalog.Service, ca.Service) and
// a method expression of it (e.g. (*catalog.Service).Template), so a
// resource's route is one line of the route table.

// page is a list answer (DESIGN.md "Lists"). The named list types
// (templateList...) document it in OpenAPI; they encode alike.
type page[T any] struct {
	Data    []T  `json:"data"`
	HasMore bool `json:"has_more"`
}

// same is the view of an object the API shows as the domain holds it.
func same[T any](t T) T { return t }

// noFilter lists with the page parameters only.
func noFilter(_ *fiber.Ctx, p issuance.PageRequest) (issuance.PageRequest, error) { return p, nil }

// createHandler decodes a request body R, builds the service's input with
// build, creates the object for the tenant and answers 201 with its view.
func createHandler[S, R, In, T, V any](svc S, build func(R) In, create func(S, context.Context, string, In) (T, error), view func(T) V) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var r R
		if err := decodeJSON(c, &r); err != nil {
			return err
		}
		t, err := create(svc, c.UserContext(), tenantOf(c).ID, build(r))
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(view(t))
	}
}

// listHandler answers a page of the tenant's objects: filter reads the
// query parameters beyond the page ones.
func listHandler[S, F, T, V any](svc S, filter func(*fiber.Ctx, issuance.PageRequest) (F, error), list func(S, context.Context, string, F) ([]T, bool, error), view func(T) V) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := pageOf(c)
		if err != nil {
			return err
		}
		f, err := filter(c, p)
		if err != nil {
			return err
		}
		items, more, err := list(svc, c.UserContext(), tenantOf(c).ID, f)
		if err != nil {
			return err
		}
		out := page[V]{Data: make([]V, len(items)), HasMore: more}
		for i, it := range items {
			out.Data[i] = view(it)
		}
		return c.JSON(out)
	}
}

// getHandler answers the tenant's object named by the :id parameter.
func getHandler[S, T, V any](svc S, get func(S, context.Context, string, string) (T, error), view func(T) V) fiber.Handler {
	return func(c *fiber.Ctx) error {
		t, err := get(svc, c.UserContext(), tenantOf(c).ID, c.Params("id"))
		if err != nil {
			return err
		}
		return c.JSON(view(t))
	}
}

package console

import (
	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
)

// productsPage lists the tenant's card products and data prep templates
// (the first 100 of each, newest first).
type productsPage struct {
	Products     []issuance.Product
	MoreProducts bool
	Templates    []issuance.Template
	MoreTemplate bool
}

func (co *Console) products(c *fiber.Ctx) error {
	s := sessionOf(c)
	ctx := c.UserContext()
	var p productsPage
	var err error
	page := issuance.PageRequest{Limit: 100}
	if p.Products, p.MoreProducts, err = co.deps.Catalog.Products(ctx, s.Tenant.ID, issuance.ProductFilter{PageRequest: page}); err != nil {
		return co.fail(c, err)
	}
	if p.Templates, p.MoreTemplate, err = co.deps.Catalog.Templates(ctx, s.Tenant.ID, page); err != nil {
		return co.fail(c, err)
	}
	return co.render(c, fiber.StatusOK, "products", p)
}

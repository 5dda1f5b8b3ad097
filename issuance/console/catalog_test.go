package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestProductsPage: the products and templates page lists the session's
// tenant's products and templates by name, and none of another tenant's.
func TestProductsPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	type named struct{ product, template string }
	made := map[string]named{}
	for _, tn := range []tenant{e.a, e.b} {
		pr, err := e.cat.Product(ctx, tn.ID, tn.product)
		if err != nil {
			t.Fatal(err)
		}
		tpl, err := e.cat.Template(ctx, tn.ID, pr.TemplateID)
		if err != nil {
			t.Fatal(err)
		}
		tpl.ID, tpl.Name = "", tn.Name+" debit template"
		if tpl, err = e.cat.CreateTemplate(ctx, tn.ID, tpl); err != nil {
			t.Fatal(err)
		}
		pr.ID, pr.Name, pr.TemplateID = "", tn.Name+" gold product", tpl.ID
		if pr, err = e.cat.CreateProduct(ctx, tn.ID, pr); err != nil {
			t.Fatal(err)
		}
		made[tn.ID] = named{pr.ID, tpl.ID}
	}
	b := e.browser(e.base)
	b.signIn(e.a.key)
	p := b.get("/console/products").must(t, http.StatusOK)
	for _, want := range []string{"<td>Issuer A gold product", "<td>Issuer A debit template</td>", made[e.a.ID].product, made[e.a.ID].template, e.a.product} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("the products page lacks %q", want)
		}
	}
	for _, not := range []string{"Issuer B", made[e.b.ID].product, made[e.b.ID].template, e.b.product} {
		if strings.Contains(p.Body, not) {
			t.Errorf("the products page shows another tenant's %q", not)
		}
	}
}

package rest_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/catalog"
	"github.com/cardhost/cardhost/issuance/dataprep"
)

// sameProblem fails unless two answers are the same problem: status, slug,
// detail and field errors (their request ids differ).
func sameProblem(t *testing.T, what string, got, want response) {
	t.Helper()
	g, w := got.problem(t), want.problem(t)
	if got.Status != want.Status || g.Slug != w.Slug || g.Detail != w.Detail || !reflect.DeepEqual(g.Errors, w.Errors) {
		t.Errorf("%s: answered %d %s, but %d %s: the answer tells them apart", what, got.Status, got.Body, want.Status, want.Body)
	}
}

// binRanges lists a tenant's ranges over the API.
func binRanges(t *testing.T, e *env, key string) []string {
	t.Helper()
	var l struct {
		Data []struct {
			Prefix string `json:"prefix"`
		} `json:"data"`
	}
	mustStatus(t, e.doKey(key, "GET", "/v1/bin-ranges", nil), 200).JSON(t, &l)
	var out []string
	for _, r := range l.Data {
		out = append(out, r.Prefix)
	}
	return out
}

func newPAN(t *testing.T, prefix string) string {
	t.Helper()
	p, err := dataprep.GeneratePAN(prefix, 16, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p.Reveal()
}

// TestImportOutsideBINRanges: a tenant imports PANs only in its own BIN
// ranges. Another tenant's card, a PAN of another tenant's range that is
// no card, and a PAN of no tenant's range all get the same 422
// pan_outside_bin_ranges, so the answer says nothing about what exists
// elsewhere; inside its ranges, 409 pan_taken is about its own card only.
// Nothing is stored for a refused import.
func TestImportOutsideBINRanges(t *testing.T) {
	a := newCardEnv(t)
	bTenant, bKey := newTenantKey(t, a.env, "Tenant B")
	b := setUpCards(t, a.env, bKey, bTenant.ID)
	if got := binRanges(t, a.env, a.apiKey); !reflect.DeepEqual(got, []string{"222100", "400000", "520000"}) {
		t.Fatalf("A's BIN ranges %v", got)
	}
	if got := binRanges(t, a.env, bKey); !reflect.DeepEqual(got, []string{"222101", "400001", "520001"}) {
		t.Fatalf("B's BIN ranges %v (A's must not show)", got)
	}
	imp := func(ce *cardEnv, pan, ref string) response {
		return ce.do("POST", "/v1/cards/import", map[string]any{"pan": pan, "expiry": "3012", "network": "MASTERCARD", "cvn": 17,
			"imk_ac_key_reference": ce.keys.imkAC, "cvk_key_reference": ce.keys.cvk, "product_id": ce.cat.product, "reference_id": ref})
	}
	aPAN := newPAN(t, a.keys.bins.mastercard)
	mustStatus(t, imp(a, aPAN, "A-1"), 201)

	// B probes A's card, a free PAN of A's range and a PAN nobody's range holds.
	taken := imp(b, aPAN, "B-1")
	if taken.Status != 422 || taken.problem(t).Slug != "pan_outside_bin_ranges" {
		t.Fatalf("B importing A's PAN: %d %s, want 422 pan_outside_bin_ranges", taken.Status, taken.Body)
	}
	sameProblem(t, "B importing A's card and a free PAN of A's range", taken, imp(b, newPAN(t, a.keys.bins.mastercard), "B-1"))
	sameProblem(t, "B importing A's card and a PAN of no tenant's range", taken, imp(b, newPAN(t, "55550000"), "B-1"))

	// Inside its own ranges: its own card is pan_taken, a new one is imported.
	bPAN := newPAN(t, b.keys.bins.mastercard)
	mustStatus(t, imp(b, bPAN, "B-1"), 201)
	if r := imp(b, bPAN, "B-2"); r.Status != 409 || r.problem(t).Slug != "pan_taken" {
		t.Fatalf("B importing its own card again: %d %s, want 409 pan_taken", r.Status, r.Body)
	}
	sameProblem(t, "A importing B's card and a PAN of no tenant's range", imp(a, bPAN, "A-2"), imp(a, newPAN(t, "55550000"), "A-2"))

	// Only the two imports that succeeded made cards.
	for _, ce := range []*cardEnv{a, b} {
		var l struct{ Data []cardOut }
		mustStatus(t, ce.do("GET", "/v1/cards?limit=100", nil), 200).JSON(t, &l)
		n := 0
		for _, c := range l.Data {
			if c.Imported {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("tenant has %d imported cards, want 1", n)
		}
	}
}

// TestTemplateIINInOwnBINRanges: a data prep template's IIN (and so every
// product and PAN made from it) must lie in one of the tenant's BIN
// ranges; another tenant's IIN is refused exactly as an IIN nobody holds,
// and an IIN shorter than the tenant's 8-digit range is outside it.
func TestTemplateIINInOwnBINRanges(t *testing.T) {
	e := newEnv(t, withCatalog(t))
	k := newCatalogKeys(t, e, e.tenant.ID)
	b, _ := newTenantKey(t, e, "Tenant B")
	bk := newCatalogKeys(t, e, b.ID)
	if _, err := catalog.New(issuance.Deps{Catalog: e.db}).AssignBINRange(context.Background(), e.tenant.ID, "45000018"); err != nil {
		t.Fatal(err)
	}
	with := func(iin string) map[string]any { return withFields(templateBody(k), "iin", iin) }
	outside := e.do("POST", "/v1/data-prep-templates", with("49999918"))
	if outside.Status != 422 || outside.problem(t).Slug != "iin_outside_bin_ranges" || firstCode(t, outside, "iin") != "outside_bin_ranges" {
		t.Fatalf("an IIN of no range: %d %s", outside.Status, outside.Body)
	}
	sameProblem(t, "another tenant's IIN and one nobody holds", e.do("POST", "/v1/data-prep-templates", with(bk.bins.visaIIN())), outside)
	sameProblem(t, "an IIN shorter than the tenant's range and one nobody holds", e.do("POST", "/v1/data-prep-templates", with("450000")), outside)
	// Field validation still comes first.
	fieldError(t, e.do("POST", "/v1/data-prep-templates", with("4999A918")), "iin", "invalid")

	mustStatus(t, e.do("POST", "/v1/data-prep-templates", with("45000018")), 201)
	mustStatus(t, e.do("POST", "/v1/data-prep-templates", with(k.bins.visaIIN())), 201)
	var list struct{ Data []issuance.Template }
	e.do("GET", "/v1/data-prep-templates", nil).JSON(t, &list)
	if len(list.Data) != 2 {
		t.Fatalf("%d templates, want the 2 inside the ranges", len(list.Data))
	}
}

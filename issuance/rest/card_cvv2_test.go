package rest_test

import (
	"context"
	"slices"
	"testing"

	"github.com/cardhost/cardhost/issuance/cvv2"
)

// cvv2Rules is what a product or a card shows of its CVV2 rules.
type cvv2Rules struct {
	Policy   string `json:"cvv2_policy"`
	MaxTries int    `json:"cvv2_max_tries"`
}

// TestProductCVV2Rules: a product's cvv2_policy and cvv2_max_tries default
// to REQUIRED and 5, are kept as given, change by PATCH (checked as at
// creation), and are copied to the cards made from the product then.
func TestProductCVV2Rules(t *testing.T) {
	ce := newCardEnv(t)
	var def cvv2Rules
	mustStatus(t, ce.do("GET", "/v1/card-products/"+ce.cat.product, nil), 200).JSON(t, &def)
	if def != (cvv2Rules{"REQUIRED", 5}) {
		t.Fatalf("default product rules %+v, want REQUIRED and 5", def)
	}
	var prd struct {
		ID string `json:"product_id"`
		cvv2Rules
	}
	mustStatus(t, ce.do("POST", "/v1/card-products", map[string]any{"name": "Lenient", "layout_id": ce.cat.layout, "data_prep_template_id": ce.cat.template,
		"default_embosser_id": ce.cat.embosser, "currency": "USD", "card_type": "VIRTUAL", "cvv2_policy": "IF_PRESENT", "cvv2_max_tries": 3}), 201).JSON(t, &prd)
	if prd.cvv2Rules != (cvv2Rules{"IF_PRESENT", 3}) {
		t.Fatalf("created product rules %+v", prd.cvv2Rules)
	}
	var before cvv2Rules
	mustStatus(t, ce.do("POST", "/v1/cards", cardBody(prd.ID, nil)), 201).JSON(t, &before)
	if before != prd.cvv2Rules {
		t.Fatalf("card rules %+v, want the product's %+v", before, prd.cvv2Rules)
	}
	fieldError(t, ce.do("PATCH", "/v1/card-products/"+prd.ID, map[string]any{"cvv2_policy": "NEVER"}), "cvv2_policy", "invalid")
	fieldError(t, ce.do("PATCH", "/v1/card-products/"+prd.ID, map[string]any{"cvv2_max_tries": 0}), "cvv2_max_tries", "out_of_range")
	var patched cvv2Rules
	mustStatus(t, ce.do("PATCH", "/v1/card-products/"+prd.ID, map[string]any{"cvv2_policy": "REQUIRED", "cvv2_max_tries": 7}), 200).JSON(t, &patched)
	if patched != (cvv2Rules{"REQUIRED", 7}) {
		t.Fatalf("patched product rules %+v", patched)
	}
	var after cvv2Rules
	mustStatus(t, ce.do("POST", "/v1/cards", cardBody(prd.ID, nil)), 201).JSON(t, &after)
	if after != patched {
		t.Fatalf("new card rules %+v, want the patched product's %+v", after, patched)
	}
}

// TestResetCVV2TriesOverTheAPI: POST /v1/cards/{id}/cvv2-tries/reset sets
// the stored count to 0, changes the card's version (what makes every
// host instance read it again), is audited and published in the same
// transaction, replays its first answer for the same Idempotency-Key, and
// refuses closed cards and other tenants' cards.
func TestResetCVV2TriesOverTheAPI(t *testing.T) {
	ce := newCardEnv(t)
	ctx := context.Background()
	c := ce.createCard(t, ce.cat.product, nil)
	path := "/v1/cards/" + c.CardID + "/cvv2-tries/reset"
	// The host counted five wrong CVV2s (its commit path writes the column).
	if _, err := ce.db.Pool().Exec(ctx, `UPDATE cards SET cvv2_tries = 5 WHERE id = $1`, c.CardID); err != nil {
		t.Fatal(err)
	}
	state := func() (tries int, version int64) {
		t.Helper()
		if err := ce.db.Pool().QueryRow(ctx, `SELECT cvv2_tries, version FROM cards WHERE id = $1`, c.CardID).Scan(&tries, &version); err != nil {
			t.Fatal(err)
		}
		return
	}
	_, v0 := state()
	r := ce.do("POST", path, nil, "Idempotency-Key", "reset-1", "X-Request-Id", "req-reset-1")
	var got cardOut
	mustStatus(t, r, 200).JSON(t, &got)
	if got.CardID != c.CardID || got.Status != "ACTIVE" {
		t.Fatalf("answer %s", r.Body)
	}
	if tries, v1 := state(); tries != 0 || v1 <= v0 {
		t.Fatalf("after the reset: %d tries, version %d -> %d", tries, v0, v1)
	}
	if evs := cardEvents(t, ce.db, c.CardID); evs[len(evs)-1] != "card.cvv2_tries_reset" {
		t.Fatalf("events %v, want card.cvv2_tries_reset last", evs)
	}
	trail, err := ce.db.AuditTrail(ctx, ce.tenantID, c.CardID)
	if err != nil || len(trail) != 1 || trail[0].Action != cvv2.AuditTriesReset || trail[0].RequestID != "req-reset-1" || trail[0].APIKeyID == "" {
		t.Fatalf("audit trail %+v (%v)", trail, err)
	}
	var overAPI struct{ Data []struct{ Action string } }
	mustStatus(t, ce.do("GET", "/v1/cards/"+c.CardID+"/audit-trail", nil), 200).JSON(t, &overAPI)
	if len(overAPI.Data) != 1 || overAPI.Data[0].Action != "card.cvv2_tries_reset" {
		t.Fatalf("audit trail over the API %+v", overAPI)
	}
	// The same request again: the first answer, nothing new.
	events := cardEvents(t, ce.db, c.CardID)
	if again := ce.do("POST", path, nil, "Idempotency-Key", "reset-1"); again.Status != 200 || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s", again.Status, again.Header.Get("Idempotent-Replayed"))
	}
	if trail, _ := ce.db.AuditTrail(ctx, ce.tenantID, c.CardID); len(trail) != 1 || !slices.Equal(cardEvents(t, ce.db, c.CardID), events) {
		t.Fatalf("a replay audited or published again: %d audit entries", len(trail))
	}
	// Another reset is another audited, published reset (the count is 0).
	mustStatus(t, ce.do("POST", path, nil, "Idempotency-Key", "reset-2"), 200)
	if trail, _ := ce.db.AuditTrail(ctx, ce.tenantID, c.CardID); len(trail) != 2 || len(cardEvents(t, ce.db, c.CardID)) != len(events)+1 {
		t.Fatalf("second reset: %d audit entries", len(trail))
	}
	// Another tenant's card, and an unknown one, are not found.
	_, otherKey := newTenantKey(t, ce.env, "Other Issuer")
	if r := ce.doKey(otherKey, "POST", path, nil, "Idempotency-Key", "reset-x"); r.Status != 404 || r.problem(t).Slug != "not_found" {
		t.Fatalf("another tenant's reset: %d %s", r.Status, r.Body)
	}
	if r := ce.do("POST", "/v1/cards/crd_nope/cvv2-tries/reset", nil, "Idempotency-Key", "reset-y"); r.Status != 404 {
		t.Fatalf("unknown card: %d %s", r.Status, r.Body)
	}
	// A closed card has nothing to reset.
	mustStatus(t, ce.do("POST", "/v1/cards/"+c.CardID+"/cancel", nil, "Idempotency-Key", "cancel-1"), 200)
	if r := ce.do("POST", path, nil, "Idempotency-Key", "reset-3"); r.Status != 409 || r.problem(t).Slug != "card_closed" {
		t.Fatalf("reset of a canceled card: %d %s", r.Status, r.Body)
	}
}

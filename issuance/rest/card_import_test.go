package rest_test

import (
	"context"
	"slices"
	"testing"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/issuance/dataprep"
)

func TestCardImport(t *testing.T) {
	ce := newCardEnv(t)
	ctx := context.Background()
	pan, err := dataprep.GeneratePAN("52000000", 16, nil)
	if err != nil {
		t.Fatal(err)
	}
	body := func(extra map[string]any) map[string]any {
		b := map[string]any{
			"pan": pan.Reveal(), "expiry": "3012", "psn": "01", "network": "MASTERCARD", "cvn": 17,
			"imk_ac_key_reference": ce.keys.imkAC, "cvk_key_reference": ce.keys.cvk, "pvk_key_reference": ce.keys.pvk,
			"pin_method": "PVV", "pvki": "1", "pvv": "4821", "product_id": ce.cat.product, "printed_name": "Maria Lopes",
			"reference_id": "LEGACY-1",
		}
		for k, v := range extra {
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		return b
	}
	var c cardOut
	mustStatus(t, ce.do("POST", "/v1/cards/import", body(nil), "Idempotency-Key", "import-1"), 201).JSON(t, &c)
	if !c.Imported || c.Status != "ACTIVE" || c.EmbossingStatus != "NOT_REQUIRED" || c.Expiry != "3012" || !c.PINSet ||
		c.Last4 != pan.Last4() || c.PrintedName != "MARIA LOPES" || c.Currency != "USD" {
		t.Fatalf("imported card %+v", c)
	}
	if ev := cardEvents(t, ce.db, c.CardID); !slices.Equal(ev, []string{"card.created", "order.completed"}) {
		t.Fatalf("events %v", ev)
	}
	var o orderOut
	mustStatus(t, ce.do("GET", "/v1/orders/"+c.OrderID, nil), 200).JSON(t, &o)
	if o.OrderType != "card_import" || o.Status != "completed" || o.IssueStatus != "imported" {
		t.Fatalf("order %+v", o)
	}
	// The card keeps its PAN, and its CVV2 is the old processor's (same CVK).
	got, cvv2, _ := ce.reveal(t, c.CardID)
	if got != pan.Reveal() {
		t.Fatal("revealed PAN differs from the imported one")
	}
	if ok, err := ce.hsm.VerifyCVV2(ctx, ce.keys.cvk, pan, "3012", emv.CVV(cvv2)); err != nil || !ok {
		t.Fatalf("CVV2 does not verify (%v)", err)
	}
	stored, err := ce.db.Card(ctx, ce.tenantID, c.CardID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.PSN != "01" || stored.CVN != 17 || stored.Network != "MASTERCARD" || stored.IMKACRef != ce.keys.imkAC || stored.PINVerify != "4821" || stored.TemplateID != "" {
		t.Fatalf("stored card data %+v", stored)
	}
	if n := ce.emboss(t); n != 0 {
		t.Fatal("an imported card was queued for embossing")
	}
	frozen, _ := dataprep.GeneratePAN("52000000", 16, nil)
	mustStatus(t, ce.do("POST", "/v1/cards/import", body(map[string]any{"pan": frozen.Reveal(), "status": "FROZEN", "reference_id": "LEGACY-2",
		"pin_method": nil, "pvki": nil, "pvv": nil}), "Idempotency-Key", "import-2"), 201).JSON(t, &c)
	if c.Status != "FROZEN" || c.PINSet {
		t.Fatalf("frozen import %+v", c)
	}

	badLuhn := pan.Reveal()[:15] + string('0'+(pan.Reveal()[15]-'0'+1)%10)
	fresh, _ := dataprep.GeneratePAN("52000000", 16, nil)
	for _, tc := range []struct {
		name   string
		body   map[string]any
		status int
		slug   string
		field  string
	}{
		{"same PAN again", body(map[string]any{"reference_id": "OTHER"}), 409, "pan_taken", ""},
		{"bad Luhn", body(map[string]any{"pan": badLuhn}), 422, "validation_failed", "pan"},
		{"expired", body(map[string]any{"pan": fresh.Reveal(), "expiry": "2001"}), 422, "validation_failed", "expiry"},
		{"bad expiry", body(map[string]any{"pan": fresh.Reveal(), "expiry": "3013"}), 422, "validation_failed", "expiry"},
		{"CVN of the other network", body(map[string]any{"pan": fresh.Reveal(), "cvn": 18}), 422, "validation_failed", "cvn"},
		{"CVK reference naming an IMK", body(map[string]any{"pan": fresh.Reveal(), "cvk_key_reference": ce.keys.imkAC}), 422, "validation_failed", "cvk_key_reference"},
		{"unknown IMK", body(map[string]any{"pan": fresh.Reveal(), "imk_ac_key_reference": "key_00000000000000000000000000"}), 422, "validation_failed", "imk_ac_key_reference"},
		{"PVV without PVKI", body(map[string]any{"pan": fresh.Reveal(), "pvki": nil}), 422, "validation_failed", "pvki"},
		{"PVV without method", body(map[string]any{"pan": fresh.Reveal(), "pin_method": nil}), 422, "validation_failed", "pin_method"},
		{"blocked without reason", body(map[string]any{"pan": fresh.Reveal(), "status": "BLOCKED"}), 422, "validation_failed", "status_reason"},
		{"provisioned", body(map[string]any{"pan": fresh.Reveal(), "status": "PROVISIONED"}), 422, "validation_failed", "status"},
		{"reference_id taken", body(map[string]any{"pan": fresh.Reveal()}), 409, "reference_id_taken", ""},
		{"unknown product", body(map[string]any{"pan": fresh.Reveal(), "reference_id": "X", "product_id": "prd_01HZZZZZZZZZZZZZZZZZZZZZZZ"}), 404, "product_not_found", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ce.do("POST", "/v1/cards/import", tc.body)
			if tc.field != "" {
				fieldError(t, r, tc.field, firstCode(t, r, tc.field))
				return
			}
			if r.Status != tc.status || r.problem(t).Slug != tc.slug {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		})
	}
	// Another tenant cannot import a card that exists here either.
	other, otherKey := newTenantKey(t, ce.env, "Other")
	oe := setUpCards(t, ce.env, otherKey, other.ID)
	r := oe.do("POST", "/v1/cards/import", map[string]any{"pan": pan.Reveal(), "expiry": "3012", "network": "MASTERCARD", "cvn": 17,
		"imk_ac_key_reference": oe.keys.imkAC, "cvk_key_reference": oe.keys.cvk, "product_id": oe.cat.product})
	if r.Status != 409 || r.problem(t).Slug != "pan_taken" {
		t.Fatalf("import of a PAN another tenant holds: %d %s", r.Status, r.Body)
	}
	// ... nor use this tenant's keys.
	r = oe.do("POST", "/v1/cards/import", map[string]any{"pan": fresh.Reveal(), "expiry": "3012", "network": "MASTERCARD", "cvn": 17,
		"imk_ac_key_reference": ce.keys.imkAC, "cvk_key_reference": ce.keys.cvk, "product_id": oe.cat.product})
	fieldError(t, r, "imk_ac_key_reference", "invalid")
}

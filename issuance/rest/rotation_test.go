package rest_test

import (
	"context"
	"testing"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/issuance/dataprep"
)

// TestPANStaysUniqueAcrossPANIndexRotation: a PAN imported before a
// rotation of the PAN-index key cannot be imported again after it (the new
// card's index, under the new version, differs from the stored one), and
// the card made before the rotation still reads (issue 12, point 6).
func TestPANStaysUniqueAcrossPANIndexRotation(t *testing.T) {
	ce := newCardEnv(t)
	ctx := context.Background()
	pan, err := dataprep.GeneratePAN("52000000", 16, nil)
	if err != nil {
		t.Fatal(err)
	}
	body := func(ref string) map[string]any {
		return map[string]any{"pan": pan.Reveal(), "expiry": "3012", "network": "MASTERCARD", "cvn": 17,
			"imk_ac_key_reference": ce.keys.imkAC, "cvk_key_reference": ce.keys.cvk, "product_id": ce.cat.product, "reference_id": ref}
	}
	var c cardOut
	mustStatus(t, ce.do("POST", "/v1/cards/import", body("BEFORE")), 201).JSON(t, &c)
	idx, err := ce.hsm.ListKeys(ctx, emv.KeyFilter{Type: emv.KeyPANIDX})
	if err != nil || len(idx) != 1 {
		t.Fatalf("PAN-IDX keys: %d, %v", len(idx), err)
	}
	if _, err := ce.hsm.Rotate(ctx, idx[0].Ref, time.Time{}); err != nil {
		t.Fatal(err)
	}
	r := ce.do("POST", "/v1/cards/import", body("AFTER"))
	if r.Status != 409 || r.problem(t).Slug != "pan_taken" {
		t.Fatalf("the same PAN after a PAN-index rotation answered %d, want 409 pan_taken", r.Status)
	}
	got, _, _ := ce.reveal(t, c.CardID)
	if got != pan.Reveal() {
		t.Fatal("the card imported before the rotation does not reveal its PAN")
	}
}

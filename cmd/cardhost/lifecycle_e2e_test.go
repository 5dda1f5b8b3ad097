package main

import (
	"context"
	"testing"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/issuance/lifecycle"
)

// lifeAuth is the part of a simulated authorization the lifecycle tests read.
type lifeAuth struct {
	Code   string `json:"response_code"`
	Reason string `json:"reason"`
}

func simulateAuth(t *testing.T, api *apiClient, body map[string]any) lifeAuth {
	t.Helper()
	var a lifeAuth
	api.do("POST", "/v1/simulator/authorizations", body).must(t, 201).decode(t, &a)
	return a
}

// TestLifecycleOnTheHost runs the issue 15 lifecycle through the real app
// (REST, ISO 8583 host, PostgreSQL): a card whose validity ran out is
// declined before and after the scheduler makes it INOPERATIVE; a dynamic
// CVV2 verifies as revealed, the previous one only within its grace, the
// printed one not at all; a renewal that keeps the PAN is found by the
// host at once, even by an instance that cached the old card.
func TestLifecycleOnTheHost(t *testing.T) {
	app := startApp(t, testEnv(t))
	api := newAPIClient(t, app.base(), app.SandboxKey)
	product := virtualProduct(t, api)
	ctx := context.Background()
	pool := app.db.Pool()
	var card struct {
		ID         string     `json:"card_id"`
		Status     string     `json:"status"`
		ValidUntil *time.Time `json:"valid_until"`
		CVV2Policy string     `json:"cvv2_policy"`
		Replaces   string     `json:"replaces"`
	}
	reveal := func(id string) (pan, cvv2, expiry string) {
		t.Helper()
		var r struct{ PAN, CVV2, Expiry string }
		api.do("POST", "/v1/cards/"+id+"/reveal", nil).must(t, 200).decode(t, &r)
		return r.PAN, r.CVV2, r.Expiry
	}

	// Validity: approved while valid; once valid_until passed (moved into
	// the past here, as time would) declined 54 before the scheduler ran,
	// and after it, INOPERATIVE.
	api.do("POST", "/v1/cards", map[string]any{"product_id": product, "card_holder_name": "ADA LOVELACE", "type": "TEMPORARY"}).must(t, 201).decode(t, &card)
	if card.ValidUntil == nil {
		t.Fatal("a TEMPORARY card without valid_until")
	}
	if a := simulateAuth(t, api, map[string]any{"card_id": card.ID, "amount": 100}); a.Code != "00" {
		t.Fatalf("temporary card within its validity: %+v", a)
	}
	past := time.Now().UTC().Add(-time.Minute)
	if _, err := pool.Exec(ctx, `UPDATE cards SET expiry_at = $2, lifecycle = jsonb_set(lifecycle, '{valid_until}', to_jsonb($2::timestamptz)),
		version = version + 1 WHERE id = $1`, card.ID, past); err != nil {
		t.Fatal(err)
	}
	if a := simulateAuth(t, api, map[string]any{"card_id": card.ID, "amount": 100}); a.Code != "54" || a.Reason != "card_expired" {
		t.Fatalf("temporary card past its validity, before the scheduler: %+v", a)
	}
	if n, err := app.svc.ExpireCards(ctx, 100); err != nil || n != 1 {
		t.Fatalf("scheduler closed %d (%v)", n, err)
	}
	api.do("GET", "/v1/cards/"+card.ID, nil).must(t, 200).decode(t, &card)
	if card.Status != "INOPERATIVE" {
		t.Fatalf("status %s", card.Status)
	}
	if a := simulateAuth(t, api, map[string]any{"card_id": card.ID, "amount": 100}); a.Code != "54" || a.Reason != "card_expired" {
		t.Fatalf("INOPERATIVE card: %+v", a)
	}

	// Dynamic CVV2.
	api.do("POST", "/v1/cards", map[string]any{"product_id": product, "card_holder_name": "ADA LOVELACE", "cvv_rotation_interval_hours": 24}).must(t, 201).decode(t, &card)
	if card.CVV2Policy != "DYNAMIC" {
		t.Fatalf("cvv2_policy %s", card.CVV2Policy)
	}
	pan, first, expiry := reveal(card.ID)
	printed, err := app.hsm.RevealCVV2(ctx, cvkOf(t, app, card.ID), 0, emv.PAN(pan), expiry)
	if err != nil {
		t.Fatal(err)
	}
	auth := func(cvv2 string) lifeAuth {
		t.Helper()
		return simulateAuth(t, api, map[string]any{"card_id": card.ID, "amount": 100, "cvv2": cvv2})
	}
	if a := auth(first); a.Code != "00" {
		t.Fatalf("revealed dynamic CVV2: %+v", a)
	}
	if a := simulateAuth(t, api, map[string]any{"card_id": card.ID, "amount": 100}); a.Code != "00" {
		t.Fatalf("the simulator's own (dynamic) CVV2: %+v", a)
	}
	if printed.Reveal() != first {
		if a := auth(printed.Reveal()); a.Code != "82" || a.Reason != "cvv2_invalid" {
			t.Fatalf("printed CVV2 of a dynamic card: %+v", a)
		}
	}
	api.do("POST", "/v1/cards/"+card.ID+"/cvv2/rotate", nil).must(t, 200)
	_, second, _ := reveal(card.ID)
	if a := auth(second); a.Code != "00" {
		t.Fatalf("rotated CVV2: %+v", a)
	}
	if a := auth(first); a.Code != "00" {
		t.Fatalf("previous CVV2 within the grace: %+v", a)
	}
	// Past the grace (the rotation moved into the past) only the current one verifies.
	if _, err := pool.Exec(ctx, `UPDATE cards SET lifecycle = jsonb_set(lifecycle, '{cvv_rotated_at}', to_jsonb($2::timestamptz)),
		version = version + 1 WHERE id = $1`, card.ID, time.Now().UTC().Add(-lifecycle.CVVGrace-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if first != second {
		if a := auth(first); a.Code != "82" || a.Reason != "cvv2_invalid" {
			t.Fatalf("previous CVV2 after the grace: %+v", a)
		}
	}
	if a := auth(second); a.Code != "00" {
		t.Fatalf("current CVV2 after the grace: %+v", a)
	}

	// A renewal keeps the PAN: the host, which cached the old card with
	// the approvals above, finds the new card by the PAN at once.
	old := card.ID
	api.do("POST", "/v1/cards/"+old+"/reissue", map[string]any{"keep_pan": true}).must(t, 201).decode(t, &card)
	if card.Replaces != old {
		t.Fatalf("replaces %q", card.Replaces)
	}
	if p, _, _ := reveal(card.ID); p != pan {
		t.Fatal("the renewal has another PAN")
	}
	if a := simulateAuth(t, api, map[string]any{"card_id": card.ID, "amount": 100}); a.Code != "00" {
		t.Fatalf("renewed card: %+v", a)
	}
	var holder string
	if err := pool.QueryRow(ctx, `SELECT card_id FROM authorizations WHERE card_id IN ($1, $2) ORDER BY id DESC LIMIT 1`, old, card.ID).Scan(&holder); err != nil || holder != card.ID {
		t.Fatalf("last authorization on %s (%v), want the new card %s", holder, err, card.ID)
	}
}

// cvkOf is a card's CVK reference.
func cvkOf(t *testing.T, app *testApp, cardID string) string {
	t.Helper()
	var ref string
	if err := app.db.Pool().QueryRow(context.Background(), `SELECT cvk_ref FROM cards WHERE id = $1`, cardID).Scan(&ref); err != nil {
		t.Fatal(err)
	}
	return ref
}

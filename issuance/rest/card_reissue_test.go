package rest_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/issuance/dataprep"
	"github.com/cardhost/cardhost/issuance/ledger"
	"github.com/cardhost/cardhost/issuance/lifecycle"
)

// A replacement (new PAN) carries the card's settings to a new card and
// closes the old one; a second reissue of the old card is refused, and a
// retried request with its Idempotency-Key answers the first new card.
func TestReissueReplacement(t *testing.T) {
	ce := newCardEnv(t)
	limit := int64(50000)
	old := ce.createCard(t, ce.cat.product, map[string]any{
		"card_limit": limit, "metadata": map[string]any{"team": "sales"}, "reference_id": "emp-7",
		"spending_controls": []map[string]any{{"amount": 10000, "interval": "DAILY"}},
		"risk_controls":     map[string]any{"blocked_mcc": []string{"7995"}, "allowed_countries": []string{"BR", "PT"}},
	})
	oldPAN, _, _ := ce.reveal(t, old.CardID)

	var n lifecycleOut
	r := mustStatus(t, ce.do("POST", "/v1/cards/"+old.CardID+"/reissue", map[string]any{}, "Idempotency-Key", "reissue-1"), 201)
	r.JSON(t, &n)
	if n.CardID == old.CardID || n.Replaces != old.CardID || n.Status != "ACTIVE" || n.ReferenceID != "" {
		t.Fatalf("new card %+v", n)
	}
	if *n.CardLimit != limit || !reflect.DeepEqual(n.SpendingControls, old.SpendingControls) || !reflect.DeepEqual(n.RiskControls, old.RiskControls) ||
		n.Metadata["team"] != "sales" || n.PrintedName != old.PrintedName || n.ProductID != old.ProductID || n.Type != old.Type {
		t.Fatalf("settings not carried: %+v, old %+v", n.cardOut, old)
	}
	newPAN, _, _ := ce.reveal(t, n.CardID)
	if newPAN == oldPAN || newPAN[:8] != oldPAN[:8] {
		t.Fatalf("replacement PAN %s…, old %s…", newPAN[:8], oldPAN[:8])
	}
	o := ce.lifecycleCard(t, old.CardID)
	if o.Status != "CANCELED" || o.StatusReason != "reissued" || o.ReplacedBy != n.CardID {
		t.Fatalf("old card %s %s replaced_by %q", o.Status, o.StatusReason, o.ReplacedBy)
	}
	if ev := cardEvents(t, ce.db, old.CardID); !slices.Equal(ev[len(ev)-2:], []string{"card.canceled ACTIVE reissued", "card.reissued reissued"}) {
		t.Fatalf("old card events %v", ev)
	}
	if ev := cardEvents(t, ce.db, n.CardID); !slices.Contains(ev, "card.created") || ev[len(ev)-1] != "card.reissued" {
		t.Fatalf("new card events %v", ev)
	}
	var orders struct {
		Data []struct {
			Type   string `json:"order_type"`
			Status string `json:"status"`
		} `json:"data"`
	}
	mustStatus(t, ce.do("GET", "/v1/orders?card_id="+n.CardID, nil), 200).JSON(t, &orders)
	if len(orders.Data) != 1 || orders.Data[0].Type != "card_reissue" || orders.Data[0].Status != "completed" {
		t.Fatalf("orders %+v", orders)
	}

	// The retried request replays; another reissue of the old card is refused.
	replay := ce.do("POST", "/v1/cards/"+old.CardID+"/reissue", map[string]any{}, "Idempotency-Key", "reissue-1")
	if replay.Status != 201 || replay.Header.Get("Idempotent-Replayed") != "true" || string(replay.Body) != string(r.Body) {
		t.Fatalf("replay %d %s", replay.Status, replay.Header)
	}
	if p := mustStatus(t, ce.do("POST", "/v1/cards/"+old.CardID+"/reissue", nil), 409).problem(t); p.Slug != "card_already_reissued" {
		t.Fatalf("second reissue: %s", p.Slug)
	}
	var list struct{ Data []cardOut }
	mustStatus(t, ce.do("GET", "/v1/cards?product_id="+ce.cat.product, nil), 200).JSON(t, &list)
	if len(list.Data) != 2 {
		t.Fatalf("%d cards after the retries, want 2", len(list.Data))
	}
}

// A renewal keeps the PAN with a new expiry; a card blocked as lost must
// get a new PAN; bad requests change nothing.
func TestReissueRenewalAndRules(t *testing.T) {
	ce := newCardEnv(t)
	now := time.Now().UTC()
	old := ce.createCard(t, ce.cat.product, nil)
	oldPAN, _, oldExpiry := ce.reveal(t, old.CardID)
	want, _ := dataprep.Expiry(now, 24)
	var n lifecycleOut
	mustStatus(t, ce.do("POST", "/v1/cards/"+old.CardID+"/reissue", map[string]any{"keep_pan": true, "expiration_date": want}), 201).JSON(t, &n)
	pan, _, exp := ce.reveal(t, n.CardID)
	if pan != oldPAN || exp != want || exp == oldExpiry {
		t.Fatalf("renewal: same PAN %v, expiry %s (old %s, want %s)", pan == oldPAN, exp, oldExpiry, want)
	}
	// The old card still reveals its own data (its PAN index is released).
	if p, _, e := ce.reveal(t, old.CardID); p != oldPAN || e != oldExpiry {
		t.Fatal("old card's data changed")
	}
	// Renewing the renewal works (the PAN moves on again).
	var n2 lifecycleOut
	mustStatus(t, ce.do("POST", "/v1/cards/"+n.CardID+"/reissue", map[string]any{"keep_pan": true}), 201).JSON(t, &n2)
	if p, _, _ := ce.reveal(t, n2.CardID); p != oldPAN {
		t.Fatal("second renewal lost the PAN")
	}

	lost := ce.createCard(t, ce.cat.product, nil)
	mustStatus(t, ce.do("POST", "/v1/cards/"+lost.CardID+"/block", map[string]any{"reason": "lost"}), 200)
	fieldError(t, ce.do("POST", "/v1/cards/"+lost.CardID+"/reissue", map[string]any{"keep_pan": true}), "keep_pan", "not_allowed")
	var repl lifecycleOut
	mustStatus(t, ce.do("POST", "/v1/cards/"+lost.CardID+"/reissue", nil), 201).JSON(t, &repl)
	if o := ce.lifecycleCard(t, lost.CardID); o.Status != "BLOCKED" || o.StatusReason != "lost" || o.ReplacedBy != repl.CardID {
		t.Fatalf("lost card after its replacement: %s %s %q", o.Status, o.StatusReason, o.ReplacedBy)
	}

	beyond, _ := dataprep.Expiry(now, 120)
	fresh := ce.createCard(t, ce.cat.product, nil)
	plastic := ce.createCard(t, ce.manualProd, map[string]any{"shipping_address": shipping})
	canceled := ce.createCard(t, ce.cat.product, nil)
	mustStatus(t, ce.do("POST", "/v1/cards/"+canceled.CardID+"/cancel", nil), 200)
	fieldError(t, ce.do("POST", "/v1/cards/"+fresh.CardID+"/reissue", map[string]any{"expiration_date": beyond}), "expiration_date", "out_of_range")
	fieldError(t, ce.do("POST", "/v1/cards/"+fresh.CardID+"/reissue", map[string]any{"expiration_date": "3013"}), "expiration_date", "invalid")
	fieldError(t, ce.do("POST", "/v1/cards/"+fresh.CardID+"/reissue", map[string]any{"new_pan": true}), "new_pan", "unknown")
	for _, id := range []string{plastic.CardID, canceled.CardID} {
		if p := mustStatus(t, ce.do("POST", "/v1/cards/"+id+"/reissue", nil), 409).problem(t); p.Slug != "card_not_reissuable" {
			t.Fatalf("reissue of %s: %s", id, p.Slug)
		}
	}
	mustStatus(t, ce.do("POST", "/v1/cards/crd_nosuchcard000000000000/reissue", nil), 404)
	if got := ce.getCard(t, fresh.CardID); got.Status != "ACTIVE" {
		t.Fatalf("refused reissues changed the card: %s", got.Status)
	}
}

// A PREPAID card's balance moves to its new card through the ledger.
func TestReissueCarriesPrepaidBalance(t *testing.T) {
	ce := newCardEnv(t)
	prepaid := fundedProduct(t, ce, "PREPAID", 0)
	mustStatus(t, ce.do("POST", "/v1/simulator/deposits", map[string]any{"currency": "EUR", "amount": 10000}, "Idempotency-Key", "dep"), 201)
	old := ce.card(t, prepaid)
	mustStatus(t, ce.do("POST", "/v1/cards/"+old+"/recharge", map[string]any{"amount": 2500}), 200)
	var n lifecycleOut
	mustStatus(t, ce.do("POST", "/v1/cards/"+old+"/reissue", nil), 201).JSON(t, &n)
	var ob, nb ledger.CardBalance
	mustStatus(t, ce.do("GET", "/v1/cards/"+old+"/balance", nil), 200).JSON(t, &ob)
	mustStatus(t, ce.do("GET", "/v1/cards/"+n.CardID+"/balance", nil), 200).JSON(t, &nb)
	if ob.Available != 0 || nb.Available != 2500 {
		t.Fatalf("balances after reissue: old %d, new %d", ob.Available, nb.Available)
	}
	var transfers struct {
		Data []struct {
			Kind   string `json:"kind"`
			Amount int64  `json:"amount"`
			Debit  string `json:"debit_account"`
			Credit string `json:"credit_account"`
		} `json:"data"`
	}
	mustStatus(t, ce.do("GET", "/v1/ledger/transfers?kind=reissue", nil), 200).JSON(t, &transfers)
	if len(transfers.Data) != 1 || transfers.Data[0].Amount != 2500 || transfers.Data[0].Debit != ledger.CardAccount(old) || transfers.Data[0].Credit != ledger.CardAccount(n.CardID) {
		t.Fatalf("reissue transfers %+v", transfers.Data)
	}
	if ev := cardEvents(t, ce.db, n.CardID); !slices.Contains(ev, "ledger.reissue") {
		t.Fatalf("new card events %v", ev)
	}
}

// The rotate call makes a card's CVV2 dynamic and moves it on; a card
// created with cvv_rotation_interval_hours rotates by time alone; reveal
// shows the CVV2 in force, which the HSM verifies for the expected counter.
func TestDynamicCVV2Rotation(t *testing.T) {
	clk := &testClock{t: time.Now().UTC().Truncate(time.Second)}
	ce := newCardEnv(t, withClock(clk))
	ctx := context.Background()
	verifies := func(t *testing.T, id string, n int64, cvv string) bool {
		t.Helper()
		pan, _, _ := ce.reveal(t, id)
		ok, err := ce.hsm.VerifyCVV(ctx, ce.keys.cvk, emv.PAN(pan), lifecycle.Window(n), lifecycle.DynamicServiceCode, emv.CVV(cvv))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}

	static := ce.createCard(t, ce.cat.product, nil)
	pan, printed, exp := ce.reveal(t, static.CardID)
	var rotated lifecycleOut
	mustStatus(t, ce.do("POST", "/v1/cards/"+static.CardID+"/cvv2/rotate", nil), 200).JSON(t, &rotated)
	if rotated.CVV2Policy != "DYNAMIC" {
		t.Fatalf("cvv2_policy %s", rotated.CVV2Policy)
	}
	_, first, _ := ce.reveal(t, static.CardID)
	if !verifies(t, static.CardID, 1, first) {
		t.Fatal("revealed CVV2 is not counter 1's")
	}
	if ok, _ := ce.hsm.VerifyCVV2(ctx, ce.keys.cvk, emv.PAN(pan), exp, emv.CVV(printed)); !ok {
		t.Fatal("the printed CVV2 no longer verifies as such (the HSM)")
	}
	clk.t = clk.t.Add(time.Minute)
	mustStatus(t, ce.do("POST", "/v1/cards/"+static.CardID+"/cvv2/rotate", nil), 200)
	_, second, _ := ce.reveal(t, static.CardID)
	if !verifies(t, static.CardID, 2, second) {
		t.Fatal("revealed CVV2 is not counter 2's")
	}
	if ev := cardEvents(t, ce.db, static.CardID); ev[len(ev)-1] != "card.cvv2_rotated" || ev[len(ev)-2] != "card.cvv2_rotated" {
		t.Fatalf("events %v", ev)
	}

	var timed lifecycleOut
	mustStatus(t, ce.do("POST", "/v1/cards", cardBody(ce.cat.product, map[string]any{"cvv_rotation_interval_hours": 24})), 201).JSON(t, &timed)
	if timed.CVV2Policy != "DYNAMIC" || timed.CVVRotationHours != 24 {
		t.Fatalf("timed card %s %d", timed.CVV2Policy, timed.CVVRotationHours)
	}
	_, c0, _ := ce.reveal(t, timed.CardID)
	clk.t = clk.t.Add(23 * time.Hour)
	if _, c, _ := ce.reveal(t, timed.CardID); c != c0 || !verifies(t, timed.CardID, 0, c) {
		t.Fatal("the CVV2 changed within its interval")
	}
	clk.t = clk.t.Add(2 * time.Hour)
	if _, c, _ := ce.reveal(t, timed.CardID); !verifies(t, timed.CardID, 1, c) {
		t.Fatal("after one interval the CVV2 is not counter 1's")
	}
	fieldError(t, ce.do("POST", "/v1/cards", cardBody(ce.cat.product, map[string]any{"cvv_rotation_interval_hours": 4321})), "cvv_rotation_interval_hours", "out_of_range")

	mustStatus(t, ce.do("POST", "/v1/cards/"+static.CardID+"/cancel", nil), 200)
	if p := mustStatus(t, ce.do("POST", "/v1/cards/"+static.CardID+"/cvv2/rotate", nil), 409).problem(t); p.Slug != "card_closed" {
		t.Fatalf("rotate on a closed card: %s", p.Slug)
	}
}

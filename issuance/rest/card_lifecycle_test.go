package rest_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/issuance/dataprep"
)

// lifecycleOut is the lifecycle part of a card answer (issue 15, point 4).
type lifecycleOut struct {
	cardOut
	ValidityPeriodHours  int        `json:"validity_period_hours"`
	ValidUntil           *time.Time `json:"valid_until"`
	CVVRotationHours     int        `json:"cvv_rotation_interval_hours"`
	CVV2Policy           string     `json:"cvv2_policy"`
	EmbossingCustomField string     `json:"embossing_custom_field"`
	Replaces             string     `json:"replaces"`
	ReplacedBy           string     `json:"replaced_by"`
}

func (ce *cardEnv) lifecycleCard(t *testing.T, id string) lifecycleOut {
	t.Helper()
	var c lifecycleOut
	mustStatus(t, ce.do("GET", "/v1/cards/"+id, nil), 200).JSON(t, &c)
	return c
}

// OffBlocks' walk issues a virtual card through the simulator right after
// creating it: the card was issued at creation, so issue answers it
// unchanged (202, as OffBlocks answers) and fail is refused with its own
// slug; neither writes anything.
func TestSimulatorIssueOnVirtualCard(t *testing.T) {
	ce := newCardEnv(t)
	c := ce.createCard(t, ce.cat.product, nil)
	if c.Status != "ACTIVE" || c.EmbossingStatus != "NOT_REQUIRED" {
		t.Fatalf("virtual card %s/%s", c.Status, c.EmbossingStatus)
	}
	before := cardEvents(t, ce.db, c.CardID)
	for range 2 {
		var got cardOut
		mustStatus(t, ce.do("PATCH", "/v1/simulator/cards/"+c.CardID+"/issue", nil), 202).JSON(t, &got)
		if got.Status != "ACTIVE" || got.CardID != c.CardID {
			t.Fatalf("issue answered %+v", got)
		}
	}
	r := mustStatus(t, ce.do("PATCH", "/v1/simulator/cards/"+c.CardID+"/fail", nil), 409)
	if p := r.problem(t); p.Slug != "embossing_not_required" {
		t.Fatalf("fail slug %q", p.Slug)
	}
	if got := ce.getCard(t, c.CardID); got.Status != "ACTIVE" || got.EmbossingStatus != "NOT_REQUIRED" {
		t.Fatalf("card changed: %+v", got)
	}
	if after := cardEvents(t, ce.db, c.CardID); !slices.Equal(before, after) {
		t.Fatalf("events %v, then %v", before, after)
	}
	// A plastic still waiting for its embosser keeps the old behaviour.
	p := ce.createCard(t, ce.manualProd, map[string]any{"shipping_address": shipping})
	mustStatus(t, ce.do("PATCH", "/v1/simulator/cards/"+p.CardID+"/issue", nil), 202)
	if got := ce.getCard(t, p.CardID); got.Status != "ACTIVE" {
		t.Fatalf("plastic after issue: %s", got.Status)
	}
}

// TEMPORARY cards live 24 hours unless given validity_period_hours; any
// card may be given one. expiry_at carries valid_until (what the host
// checks), and the scheduler moves the card to INOPERATIVE with
// card.inoperative once it passed.
func TestValidityMakesCardsInoperative(t *testing.T) {
	clk := &testClock{t: time.Now().UTC().Truncate(time.Second)}
	ce := newCardEnv(t, withClock(clk))
	ctx := context.Background()

	var tmp, hours lifecycleOut
	mustStatus(t, ce.do("POST", "/v1/cards", cardBody(ce.cat.product, map[string]any{"type": "TEMPORARY"})), 201).JSON(t, &tmp)
	if tmp.ValidityPeriodHours != 24 || tmp.ValidUntil == nil || !tmp.ValidUntil.Equal(clk.t.Add(24*time.Hour)) {
		t.Fatalf("temporary card validity %d until %v", tmp.ValidityPeriodHours, tmp.ValidUntil)
	}
	if tmp.ExpiryAt == nil || !tmp.ExpiryAt.Equal(*tmp.ValidUntil) {
		t.Fatalf("expiry_at %v, want valid_until", tmp.ExpiryAt)
	}
	mustStatus(t, ce.do("POST", "/v1/cards", cardBody(ce.cat.product, map[string]any{"validity_period_hours": 48})), 201).JSON(t, &hours)
	if hours.ValidityPeriodHours != 48 || !hours.ValidUntil.Equal(clk.t.Add(48*time.Hour)) {
		t.Fatalf("48 h card %+v", hours)
	}
	// An earlier expiry_at stays; a PATCH cannot move expiry_at past the validity.
	early := clk.t.Add(time.Hour)
	var both lifecycleOut
	mustStatus(t, ce.do("POST", "/v1/cards", cardBody(ce.cat.product, map[string]any{"validity_period_hours": 48, "expiry_at": early.Format(time.RFC3339)})), 201).JSON(t, &both)
	if !both.ExpiryAt.Equal(early) {
		t.Fatalf("expiry_at %v, want %v", both.ExpiryAt, early)
	}
	var patched lifecycleOut
	mustStatus(t, ce.do("PATCH", "/v1/cards/"+hours.CardID, map[string]any{"expiry_at": nil}), 200).JSON(t, &patched)
	if patched.ExpiryAt == nil || !patched.ExpiryAt.Equal(*hours.ValidUntil) {
		t.Fatalf("after removing expiry_at: %v", patched.ExpiryAt)
	}

	for _, tc := range []struct {
		name  string
		extra map[string]any
		field string
		code  string
	}{
		{"negative", map[string]any{"validity_period_hours": -1}, "validity_period_hours", "out_of_range"},
		{"too long", map[string]any{"validity_period_hours": 87601}, "validity_period_hours", "out_of_range"},
		{"past the printed expiry", map[string]any{"validity_period_hours": 24 * 365 * 5}, "validity_period_hours", "out_of_range"},
		{"not a number", map[string]any{"validity_period_hours": "24"}, "validity_period_hours", "invalid_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fieldError(t, ce.do("POST", "/v1/cards", cardBody(ce.cat.product, tc.extra)), tc.field, tc.code)
		})
	}

	clk.t = clk.t.Add(24 * time.Hour)
	n, err := ce.svc.ExpireCards(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	// the temporary card, and the card whose earlier expiry_at passed.
	if n != 2 {
		t.Fatalf("closed %d cards, want 2", n)
	}
	if got := ce.getCard(t, tmp.CardID); got.Status != "INOPERATIVE" || got.StatusReason != "validity_period" {
		t.Fatalf("temporary card after 24 h: %s %s", got.Status, got.StatusReason)
	}
	if got := ce.getCard(t, both.CardID); got.Status != "CANCELED" || got.StatusReason != "expiry_at" {
		t.Fatalf("card with earlier expiry_at: %s %s", got.Status, got.StatusReason)
	}
	if ev := cardEvents(t, ce.db, tmp.CardID); ev[len(ev)-1] != "card.inoperative ACTIVE validity_period" {
		t.Fatalf("events %v", ev)
	}
	if got := ce.getCard(t, hours.CardID); got.Status != "ACTIVE" {
		t.Fatalf("48 h card after 24 h: %s", got.Status)
	}
	// INOPERATIVE is final: no status move leaves it.
	r := mustStatus(t, ce.do("POST", "/v1/cards/"+tmp.CardID+"/freeze", nil), 409)
	if p := r.problem(t); p.Slug != "invalid_status_transition" {
		t.Fatalf("freeze of an INOPERATIVE card: %s", p.Slug)
	}
}

// expiration_date (Pismo's YYMM) replaces the product's validity_months
// within its bounds.
func TestExpirationDateOnCreate(t *testing.T) {
	ce := newCardEnv(t)
	now := time.Now().UTC()
	in12, _ := dataprep.Expiry(now, 12)
	c := ce.createCard(t, ce.cat.product, map[string]any{"expiration_date": in12})
	if c.Expiry != in12 {
		t.Fatalf("expiry %s, want %s", c.Expiry, in12)
	}
	if _, _, exp := ce.reveal(t, c.CardID); exp != in12 {
		t.Fatalf("revealed expiry %s", exp)
	}
	this, _ := dataprep.Expiry(now, 1)
	thisMonth := now.Format("0601")
	beyond, _ := dataprep.Expiry(now, 120)
	for _, tc := range []struct {
		name, value, code string
	}{
		{"this month", thisMonth, "out_of_range"},
		{"past the product's validity", beyond, "out_of_range"},
		{"month 13", "2813", "invalid"},
		{"not digits", "28-3", "invalid"},
		{"MM/YY", "03/28", "invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fieldError(t, ce.do("POST", "/v1/cards", cardBody(ce.cat.product, map[string]any{"expiration_date": tc.value})), "expiration_date", tc.code)
		})
	}
	if c := ce.createCard(t, ce.cat.product, map[string]any{"expiration_date": this}); c.Expiry != this {
		t.Fatalf("earliest expiry %s", c.Expiry)
	}
}

// embossing_custom_field travels to the embossing file, outside the sealed
// record; it is checked and refused for cards without plastic.
func TestEmbossingCustomField(t *testing.T) {
	ce := newCardEnv(t)
	custom := "Tracking ID = 5859930; METAL"
	var c lifecycleOut
	mustStatus(t, ce.do("POST", "/v1/cards", cardBody(ce.plastic, map[string]any{"shipping_address": shipping, "embossing_custom_field": custom})), 201).JSON(t, &c)
	if c.EmbossingCustomField != custom {
		t.Fatalf("custom field %q", c.EmbossingCustomField)
	}
	if n := ce.emboss(t); n != 1 {
		t.Fatalf("embossed %d", n)
	}
	path := filepath.Join(ce.embossDir, "embossing", ce.tenant.ID, time.Now().UTC().Format("20060102"), c.CardID+".perso")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		CardID string `json:"card_id"`
		Custom string `json:"embossing_custom_field"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if file.CardID != c.CardID || file.Custom != custom {
		t.Fatalf("embossing file %+v", file)
	}
	for _, tc := range []struct {
		name, product, value, code string
	}{
		{"too long", ce.plastic, strings.Repeat("x", 1001), "too_long"},
		{"control character", ce.plastic, "line\nbreak", "invalid"},
		{"not ASCII", ce.plastic, "Sao Paulo – 1", "invalid"},
		{"virtual card", ce.cat.product, "METAL", "not_supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fieldError(t, ce.do("POST", "/v1/cards", cardBody(tc.product, map[string]any{"shipping_address": shipping, "embossing_custom_field": tc.value})), "embossing_custom_field", tc.code)
		})
	}
}

// A plastic created with activation_required waits, once its embosser made
// it, with its order's issue_status activating, until the issuer activates
// it (PintoPay's activating).
func TestActivatingOrder(t *testing.T) {
	ce := newCardEnv(t)
	order := func(cardID string) (status, issue string) {
		t.Helper()
		var orders struct {
			Data []struct {
				Status      string `json:"status"`
				IssueStatus string `json:"issue_status"`
			} `json:"data"`
		}
		mustStatus(t, ce.do("GET", "/v1/orders?card_id="+cardID, nil), 200).JSON(t, &orders)
		if len(orders.Data) != 1 {
			t.Fatalf("%d orders", len(orders.Data))
		}
		return orders.Data[0].Status, orders.Data[0].IssueStatus
	}
	var c lifecycleOut
	mustStatus(t, ce.do("POST", "/v1/cards", cardBody(ce.manualProd, map[string]any{"shipping_address": shipping, "activation_required": true})), 201).JSON(t, &c)
	if p := mustStatus(t, ce.do("POST", "/v1/cards/"+c.CardID+"/activate", nil), 409).problem(t); p.Slug != "invalid_status_transition" {
		t.Fatalf("activate before embossing: %s", p.Slug)
	}
	mustStatus(t, ce.do("PATCH", "/v1/simulator/cards/"+c.CardID+"/issue", nil), 202)
	got := ce.getCard(t, c.CardID)
	if got.Status != "PROVISIONED" || got.EmbossingStatus != "ISSUED" {
		t.Fatalf("made plastic %s/%s", got.Status, got.EmbossingStatus)
	}
	if s, i := order(c.CardID); s != "processing" || i != "activating" {
		t.Fatalf("order %s/%s, want processing/activating", s, i)
	}
	mustStatus(t, ce.do("POST", "/v1/cards/"+c.CardID+"/activate", nil), 200)
	if got := ce.getCard(t, c.CardID); got.Status != "ACTIVE" {
		t.Fatalf("after activate: %s", got.Status)
	}
	if s, i := order(c.CardID); s != "completed" || i != "issued" {
		t.Fatalf("order %s/%s, want completed/issued", s, i)
	}
	if ev := cardEvents(t, ce.db, c.CardID); !slices.Contains(ev, "card.activated PROVISIONED") || ev[len(ev)-1] != "order.completed" {
		t.Fatalf("events %v", ev)
	}
	mustStatus(t, ce.do("POST", "/v1/cards/"+c.CardID+"/activate", nil), 409)
	// Without the flag plastics are active when made; virtual cards refuse it.
	plain := ce.createCard(t, ce.manualProd, map[string]any{"shipping_address": shipping})
	mustStatus(t, ce.do("PATCH", "/v1/simulator/cards/"+plain.CardID+"/issue", nil), 202)
	if s, i := order(plain.CardID); s != "completed" || i != "issued" {
		t.Fatalf("plain plastic order %s/%s", s, i)
	}
	fieldError(t, ce.do("POST", "/v1/cards", cardBody(ce.cat.product, map[string]any{"activation_required": true})), "activation_required", "not_supported")
}

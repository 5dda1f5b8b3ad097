package rest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/issuance/dataprep"
)

// rejection is a request body refused with status and slug (or, for
// validation_failed, with an error on field).
type rejection struct {
	name   string
	body   map[string]any
	status int
	slug   string
	field  string // for validation_failed
}

// rejections posts each case's body to path as the cardEnv's tenant and
// asserts its rejection.
func rejections(t *testing.T, ce *cardEnv, path string, cases []rejection) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := ce.do("POST", path, tc.body)
			if tc.field != "" {
				fieldError(t, r, tc.field, firstCode(t, r, tc.field))
				return
			}
			if r.Status != tc.status || r.problem(t).Slug != tc.slug {
				t.Fatalf("status %d %s, want %d %s", r.Status, r.Body, tc.status, tc.slug)
			}
		})
	}
}

func TestCreateVirtualCard(t *testing.T) {
	ce := newCardEnv(t)
	ctx := context.Background()
	c := ce.createCard(t, ce.cat.product, map[string]any{"reference_id": "MY-REF-001", "metadata": map[string]any{"k": "v"}})

	// Virtual cards need no plastic: active at once, order completed.
	wantExpiry, _ := dataprep.Expiry(time.Now(), 36)
	if c.Status != "ACTIVE" || c.EmbossingStatus != "NOT_REQUIRED" || c.Type != "VIRTUAL" || c.ReferenceID != "MY-REF-001" ||
		c.PrintedName != "JOAO DA SILVA" || c.Expiry != wantExpiry || c.ExpiryMMYY != wantExpiry[2:]+"/"+wantExpiry[:2] ||
		c.Currency != "USD" || c.UsageType != "NORMAL" || c.PINLength != 4 || c.PINSet || c.Metadata["k"] != "v" || c.OrderID == "" ||
		c.Errors == nil || len(c.Errors) != 0 || !strings.HasPrefix(c.ReferenceNumber, "CRD-") {
		t.Fatalf("card %+v", c)
	}
	// Controls default from the product.
	if c.CardLimit == nil || *c.CardLimit != 100000 || len(c.SpendingControls) != 1 || *c.SpendingControls[0].Amount != 5000 ||
		!slices.Equal(c.RiskControls.BlockedMCC, []string{"7995"}) {
		t.Fatalf("controls %+v %+v %+v", c.CardLimit, c.SpendingControls, c.RiskControls)
	}
	// The PAN: the template's IIN, 16 digits, Luhn-valid; the API shows
	// only BIN and last 4.
	pan, cvv2, expiry := ce.reveal(t, c.CardID)
	if !strings.HasPrefix(pan, "40000018") || len(pan) != 16 || !dataprep.LuhnValid(pan) || expiry != c.Expiry {
		t.Fatalf("revealed PAN %s expiry %s", emv.MaskPAN(pan), expiry)
	}
	if c.MaskedPAN != pan[:6]+"******"+pan[12:] || c.Last4 != pan[12:] {
		t.Fatalf("masked %s last4 %s", c.MaskedPAN, c.Last4)
	}
	ok, err := ce.hsm.VerifyCVV2(ctx, ce.keys.cvk, emv.PAN(pan), expiry, emv.CVV(cvv2))
	if err != nil || !ok {
		t.Fatalf("revealed CVV2 does not verify: %v", err)
	}
	if got := ce.getCard(t, c.CardID); got.CardID != c.CardID || got.Status != "ACTIVE" {
		t.Fatalf("GET card %+v", got)
	}
	// Events: created (PROVISIONED), activated, order completed.
	want := []string{"card.created", "card.activated PROVISIONED", "order.completed"}
	if got := cardEvents(t, ce.db, c.CardID); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	var o orderOut
	mustStatus(t, ce.do("GET", "/v1/orders/"+c.OrderID, nil), 200).JSON(t, &o)
	if o.Status != "completed" || o.IssueStatus != "issued" || o.OrderType != "card_issue" || o.CardID != c.CardID || !o.IsIssued {
		t.Fatalf("order %+v", o)
	}
}

type orderOut struct {
	OrderID       string `json:"order_id"`
	OrderType     string `json:"order_type"`
	Status        string `json:"status"`
	IssueStatus   string `json:"issue_status"`
	IsIssued      bool   `json:"is_issued"`
	CardID        string `json:"card_id"`
	BatchID       string `json:"batch_id"`
	LastError     string `json:"last_error"`
	LastErrorSlug string `json:"last_error_slug"`
}

func TestCreateCardRejections(t *testing.T) {
	ce := newCardEnv(t)
	var kyc struct {
		ID string `json:"product_id"`
	}
	mustStatus(t, ce.do("POST", "/v1/card-products", map[string]any{"name": "KYC", "layout_id": ce.cat.layout, "data_prep_template_id": ce.cat.template,
		"default_embosser_id": ce.cat.embosser, "currency": "USD", "card_type": "VIRTUAL", "require_kyc": true}), 201).JSON(t, &kyc)
	inactive := createProduct(t, ce.env, ce.key, ce.cat, ce.cat.embosser, "VIRTUAL")
	mustStatus(t, ce.do("PATCH", "/v1/card-products/"+inactive, map[string]any{"status": "INACTIVE"}), 200)
	var holder struct {
		ID string `json:"cardholder_id"`
	}
	mustStatus(t, ce.do("POST", "/v1/cardholders", map[string]any{"first_name": "Ana", "last_name": "Souza"}), 201).JSON(t, &holder)
	ce.createCard(t, ce.cat.product, map[string]any{"reference_id": "TAKEN"})
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)

	rejections(t, ce, "/v1/cards", []rejection{
		{"no product", cardBody("", nil), 422, "validation_failed", "product_id"},
		{"no holder or name", cardBody(ce.cat.product, map[string]any{"card_holder_name": nil}), 422, "validation_failed", "cardholder_id"},
		{"printed name with digits", cardBody(ce.cat.product, map[string]any{"printed_name": "AGENT 007"}), 422, "validation_failed", "printed_name"},
		{"printed name too long", cardBody(ce.cat.product, map[string]any{"printed_name": strings.Repeat("A", 27)}), 422, "validation_failed", "printed_name"},
		{"bad type", cardBody(ce.cat.product, map[string]any{"type": "METAL"}), 422, "validation_failed", "type"},
		{"one-time without trigger", cardBody(ce.cat.product, map[string]any{"usage_type": "ONE_TIME"}), 422, "validation_failed", "auto_cancel_trigger"},
		{"trigger on a normal card", cardBody(ce.cat.product, map[string]any{"auto_cancel_trigger": "ON_AUTH"}), 422, "validation_failed", "auto_cancel_trigger"},
		{"expiry_at in the past", cardBody(ce.cat.product, map[string]any{"expiry_at": "2020-01-01T00:00:00Z"}), 422, "validation_failed", "expiry_at"},
		{"expiry_at after the printed expiry", cardBody(ce.cat.product, map[string]any{"expiry_at": time.Now().AddDate(5, 0, 0).UTC().Format(time.RFC3339)}), 422, "validation_failed", "expiry_at"},
		{"pin length 5", cardBody(ce.cat.product, map[string]any{"pin_length": 5}), 422, "validation_failed", "pin_length"},
		{"metadata not an object", cardBody(ce.cat.product, map[string]any{"metadata": []string{"x"}}), 422, "validation_failed", "metadata"},
		{"metadata too large", cardBody(ce.cat.product, map[string]any{"metadata": map[string]any{"k": strings.Repeat("x", 3200)}}), 422, "validation_failed", "metadata"},
		{"bad currency", cardBody(ce.cat.product, map[string]any{"currency": "XXZ"}), 422, "validation_failed", "currency"},
		{"negative card limit", cardBody(ce.cat.product, map[string]any{"card_limit": -1}), 422, "validation_failed", "card_limit"},
		{"bad spending control", cardBody(ce.cat.product, map[string]any{"spending_controls": []map[string]any{{"amount": 10, "interval": "HOURLY"}}}), 422, "validation_failed", "spending_controls[0].interval"},
		{"bad address country", cardBody(ce.cat.product, map[string]any{"billing_address": map[string]any{"line1": "x", "city": "y", "country": "ZZ"}}), 422, "validation_failed", "billing_address.country"},
		{"plastic without shipping", cardBody(ce.plastic, nil), 422, "validation_failed", "shipping_address"},
		{"PIN block without key reference", cardBody(ce.cat.product, map[string]any{"enciphered_pin_block": strings.Repeat("A", 32)}), 422, "validation_failed", "incoming_pek.key_reference"},
		{"PIN block not hex", cardBody(ce.cat.product, map[string]any{"enciphered_pin_block": "XYZ", "incoming_pek": map[string]any{"key_reference": "k"}}), 422, "validation_failed", "enciphered_pin_block"},
		{"unknown field", cardBody(ce.cat.product, map[string]any{"colour": "blue"}), 422, "validation_failed", "colour"},
		{"unknown product", cardBody("prd_01HZZZZZZZZZZZZZZZZZZZZZZZ", nil), 404, "product_not_found", ""},
		{"inactive product", cardBody(inactive, nil), 409, "product_not_active", ""},
		{"unknown cardholder", cardBody(ce.cat.product, map[string]any{"cardholder_id": "chd_01HZZZZZZZZZZZZZZZZZZZZZZZ"}), 404, "cardholder_not_found", ""},
		{"cardholder without KYC", cardBody(kyc.ID, map[string]any{"cardholder_id": holder.ID}), 409, "cardholder_not_ready", ""},
		{"KYC product, no cardholder", cardBody(kyc.ID, nil), 422, "validation_failed", "cardholder_id"},
		{"unknown embosser", cardBody(ce.cat.product, map[string]any{"embosser_id": "emb_01HZZZZZZZZZZZZZZZZZZZZZZZ"}), 404, "embosser_not_found", ""},
		{"reference_id taken", cardBody(ce.cat.product, map[string]any{"reference_id": "TAKEN", "expiry_at": future}), 409, "reference_id_taken", ""},
		{"unknown PIN key reference", cardBody(ce.cat.product, map[string]any{"enciphered_pin_block": strings.Repeat("A", 32), "incoming_pek": map[string]any{"key_reference": "nope"}}), 422, "incoming_pek_not_found", ""},
	})
	// Nothing half-made: still the one card and its one order.
	var cards struct{ Data []cardOut }
	mustStatus(t, ce.do("GET", "/v1/cards", nil), 200).JSON(t, &cards)
	var orders struct{ Data []orderOut }
	mustStatus(t, ce.do("GET", "/v1/orders", nil), 200).JSON(t, &orders)
	if len(cards.Data) != 1 || len(orders.Data) != 1 {
		t.Fatalf("%d cards and %d orders after rejected requests, want 1 and 1", len(cards.Data), len(orders.Data))
	}
}

// firstCode returns the code of the first field error on field (failing
// when the answer is not a validation failure naming it).
func firstCode(t *testing.T, r response, field string) string {
	t.Helper()
	if r.Status != 422 {
		t.Fatalf("status %d, want 422: %s", r.Status, r.Body)
	}
	for _, f := range r.problem(t).Errors {
		if f.Field == field {
			return f.Code
		}
	}
	t.Fatalf("no error on %s: %s", field, r.Body)
	return ""
}

func TestCreateCardIdempotentUnderConcurrency(t *testing.T) {
	ce := newCardEnv(t)
	body := cardBody(ce.cat.product, map[string]any{"reference_id": "RACE-1"})
	results := concurrently(8, func() response { return ce.do("POST", "/v1/cards", body, "Idempotency-Key", "same-key") })
	ids := map[string]bool{}
	for _, r := range results {
		switch r.Status {
		case 201:
			var c cardOut
			r.JSON(t, &c)
			ids[c.CardID] = true
		case 409:
			if slug := r.problem(t).Slug; slug != "idempotency_request_in_progress" {
				t.Fatalf("409 %s", slug)
			}
		default:
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%d distinct cards from one idempotency key", len(ids))
	}
	again := ce.do("POST", "/v1/cards", body, "Idempotency-Key", "same-key")
	if again.Status != 201 || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s", again.Status, again.Body)
	}
	var list struct{ Data []cardOut }
	mustStatus(t, ce.do("GET", "/v1/cards", nil), 200).JSON(t, &list)
	if len(list.Data) != 1 {
		t.Fatalf("%d cards, want 1", len(list.Data))
	}
}

func TestCardTenantIsolation(t *testing.T) {
	ce := newCardEnv(t)
	c := ce.createCard(t, ce.cat.product, map[string]any{"reference_id": "MINE"})
	other, otherKey := newTenantKey(t, ce.env, "Other Issuer")
	oe := setUpCards(t, ce.env, otherKey, other.ID)
	// The other tenant may use the same reference_id.
	mustStatus(t, oe.doKey(otherKey, "POST", "/v1/cards", cardBody(oe.cat.product, map[string]any{"reference_id": "MINE"})), 201)
	for _, r := range []struct{ method, path string }{
		{"GET", "/v1/cards/" + c.CardID},
		{"PATCH", "/v1/cards/" + c.CardID},
		{"POST", "/v1/cards/" + c.CardID + "/freeze"},
		{"POST", "/v1/cards/" + c.CardID + "/cancel"},
		{"POST", "/v1/cards/" + c.CardID + "/reveal"},
		{"POST", "/v1/cards/" + c.CardID + "/pin"},
		{"POST", "/v1/simulator/cards/" + c.CardID + "/perso"},
		{"PATCH", "/v1/simulator/cards/" + c.CardID + "/issue"},
		{"GET", "/v1/orders/" + c.OrderID},
	} {
		var body any
		switch {
		case strings.HasSuffix(r.path, "/pin"):
			body = map[string]any{"enciphered_pin_block": strings.Repeat("A", 32), "incoming_pek": map[string]any{"key_reference": "x"}}
		case r.method == "PATCH" && !strings.Contains(r.path, "simulator"):
			body = map[string]any{"card_limit": 1}
		}
		resp := ce.doKey(otherKey, r.method, r.path, body)
		if resp.Status != 404 {
			t.Fatalf("%s %s by another tenant: %d %s", r.method, r.path, resp.Status, resp.Body)
		}
	}
	var list struct{ Data []cardOut }
	mustStatus(t, ce.doKey(otherKey, "GET", "/v1/cards?reference_id=MINE", nil), 200).JSON(t, &list)
	if len(list.Data) != 1 || list.Data[0].CardID == c.CardID {
		t.Fatalf("other tenant's list: %+v", list.Data)
	}
	// Unchanged for its owner.
	if got := ce.getCard(t, c.CardID); got.Status != "ACTIVE" {
		t.Fatalf("card %+v", got)
	}
}

func TestListCardsFiltersAndPagination(t *testing.T) {
	ce := newCardEnv(t)
	var holder struct {
		ID string `json:"cardholder_id"`
	}
	mustStatus(t, ce.do("POST", "/v1/cardholders", map[string]any{"first_name": "Ana", "last_name": "Souza"}), 201).JSON(t, &holder)
	var ids []string
	for i := range 5 {
		extra := map[string]any{"reference_id": fmt.Sprintf("REF-%d", i)}
		if i%2 == 0 {
			extra["cardholder_id"], extra["card_holder_name"] = holder.ID, nil
		}
		ids = append(ids, ce.createCard(t, ce.cat.product, extra).CardID)
	}
	if c := ce.getCard(t, ids[0]); c.PrintedName != "ANA SOUZA" || c.CardholderID != holder.ID {
		t.Fatalf("printed name from the cardholder: %+v", c)
	}
	plastic := ce.createCard(t, ce.plastic, map[string]any{"shipping_address": shipping})
	mustStatus(t, ce.do("POST", "/v1/cards/"+ids[1]+"/freeze", nil), 200)

	list := func(q string) ([]string, bool) {
		t.Helper()
		var l struct {
			Data    []cardOut
			HasMore bool `json:"has_more"`
		}
		mustStatus(t, ce.do("GET", "/v1/cards"+q, nil), 200).JSON(t, &l)
		var out []string
		for _, c := range l.Data {
			out = append(out, c.CardID)
		}
		return out, l.HasMore
	}
	// Newest first, two per page.
	all := append(slices.Clone(ids), plastic.CardID)
	slices.Reverse(all)
	p1, more1 := list("?limit=2")
	p2, more2 := list("?limit=2&starting_after=" + p1[1])
	p3, more3 := list("?limit=2&starting_after=" + p2[1])
	if got := slices.Concat(p1, p2, p3); !slices.Equal(got, all) || !more1 || !more2 || more3 {
		t.Fatalf("pages %v %v %v (%v %v %v), want %v", p1, p2, p3, more1, more2, more3, all)
	}
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"?status=FROZEN", []string{ids[1]}},
		{"?status=PROVISIONED", []string{plastic.CardID}},
		{"?cardholder_id=" + holder.ID, []string{ids[4], ids[2], ids[0]}},
		{"?reference_id=REF-3", []string{ids[3]}},
		{"?product_id=" + ce.plastic, []string{plastic.CardID}},
		{"?last4=" + ce.getCard(t, ids[2]).Last4 + "&reference_id=REF-2", []string{ids[2]}},
		{"?created_after=2000-01-01T00:00:00Z&created_before=2000-01-02T00:00:00Z", nil},
	} {
		if got, _ := list(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.q, got, tc.want)
		}
	}
	for _, q := range []string{"?limit=0", "?limit=101", "?status=LOST", "?last4=12", "?starting_after=nope", "?created_after=yesterday"} {
		if r := ce.do("GET", "/v1/cards"+q, nil); r.Status != 422 {
			t.Errorf("%s: %d, want 422", q, r.Status)
		}
	}
}

// TestStatusTransitionsOverTheAPI walks DESIGN.md's transition table
// through the status endpoints: every allowed move answers 200 with its
// event, every other 409 invalid_status_transition.
func TestStatusTransitionsOverTheAPI(t *testing.T) {
	ce := newCardEnv(t)
	type step struct {
		action, reason string
		status         int
		want           string // status after, or the slug
	}
	for _, tc := range []struct {
		name   string
		start  string // product: virtual (ACTIVE) or plastic (PROVISIONED)
		steps  []step
		events []string
	}{
		{"freeze, unfreeze, block", "virtual", []step{
			{"freeze", "", 200, "FROZEN"},
			{"freeze", "", 409, "invalid_status_transition"},
			{"unfreeze", "customer asked", 200, "ACTIVE"},
			{"unfreeze", "", 409, "invalid_status_transition"},
			{"block", "", 422, "validation_failed"},
			{"block", "stolen", 200, "BLOCKED"},
			{"unfreeze", "", 409, "invalid_status_transition"},
			{"cancel", "", 409, "invalid_status_transition"},
			{"freeze", "", 409, "invalid_status_transition"},
		}, []string{"card.created", "card.activated PROVISIONED", "order.completed", "card.frozen ACTIVE", "card.unfrozen FROZEN customer asked", "card.blocked ACTIVE stolen"}},
		{"frozen card canceled", "virtual", []step{
			{"freeze", "", 200, "FROZEN"},
			{"cancel", "", 200, "CANCELED"},
			{"unfreeze", "", 409, "invalid_status_transition"},
			{"block", "lost", 409, "invalid_status_transition"},
		}, []string{"card.created", "card.activated PROVISIONED", "order.completed", "card.frozen ACTIVE", "card.canceled FROZEN issuer"}},
		{"provisioned card: only cancel", "plastic", []step{
			{"freeze", "", 409, "invalid_status_transition"},
			{"unfreeze", "", 409, "invalid_status_transition"},
			{"block", "fraud", 409, "invalid_status_transition"},
			{"cancel", "duplicate order", 200, "CANCELED"},
		}, []string{"card.created", "card.canceled PROVISIONED duplicate order", "order.failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c cardOut
			if tc.start == "plastic" {
				c = ce.createCard(t, ce.plastic, map[string]any{"shipping_address": shipping})
			} else {
				c = ce.createCard(t, ce.cat.product, nil)
			}
			for i, s := range tc.steps {
				var body any
				if s.reason != "" {
					body = map[string]any{"reason": s.reason}
				}
				r := ce.do("POST", "/v1/cards/"+c.CardID+"/"+s.action, body, "Idempotency-Key", fmt.Sprintf("%s-%d", c.CardID, i))
				if r.Status != s.status {
					t.Fatalf("step %d %s: %d %s", i, s.action, r.Status, r.Body)
				}
				if s.status == 200 {
					var got cardOut
					r.JSON(t, &got)
					if got.Status != s.want {
						t.Fatalf("step %d %s: status %s, want %s", i, s.action, got.Status, s.want)
					}
				} else if slug := r.problem(t).Slug; slug != s.want {
					t.Fatalf("step %d %s: slug %s, want %s", i, s.action, slug, s.want)
				}
			}
			if got := cardEvents(t, ce.db, c.CardID); !slices.Equal(got, tc.events) {
				t.Fatalf("events %v, want %v", got, tc.events)
			}
		})
	}
}

func TestPatchCard(t *testing.T) {
	ce := newCardEnv(t)
	c := ce.createCard(t, ce.cat.product, nil)
	in2h := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	var got cardOut
	mustStatus(t, ce.do("PATCH", "/v1/cards/"+c.CardID, map[string]any{
		"card_limit": 2500, "spending_controls": []map[string]any{{"count": 3, "interval": "DAILY", "mcc": []string{"5411"}}},
		"risk_controls": map[string]any{"allowed_countries": []string{"BR"}, "channels": map[string]any{"atm": false}},
		"metadata":      map[string]any{"team": "ops"}, "expiry_at": in2h, "printed_name": "ana souza",
	}), 200).JSON(t, &got)
	if *got.CardLimit != 2500 || *got.SpendingControls[0].Count != 3 || got.RiskControls.AllowedCountries[0] != "BR" ||
		*got.RiskControls.Channels.ATM || got.Metadata["team"] != "ops" || !got.ExpiryAt.Equal(in2h) || got.PrintedName != "ANA SOUZA" {
		t.Fatalf("patched card %+v", got)
	}
	// null removes; [] clears.
	got = cardOut{}
	mustStatus(t, ce.do("PATCH", "/v1/cards/"+c.CardID, []byte(`{"card_limit": null, "expiry_at": null, "spending_controls": []}`)), 200).JSON(t, &got)
	if got.CardLimit != nil || got.ExpiryAt != nil || len(got.SpendingControls) != 0 || got.RiskControls.AllowedCountries[0] != "BR" {
		t.Fatalf("after removals %+v", got)
	}
	var data struct {
		Controls struct {
			CardLimit        *int64 `json:"card_limit"`
			SpendingControls []any  `json:"spending_controls"`
		} `json:"controls"`
	}
	if err := ce.db.Pool().QueryRow(context.Background(), `SELECT data::text FROM outbox WHERE subject = $1 AND type = 'card.controls_updated' ORDER BY seq DESC LIMIT 1`, c.CardID).Scan(jsonText(&data)); err != nil {
		t.Fatal(err)
	}
	if data.Controls.CardLimit != nil || data.Controls.SpendingControls == nil {
		t.Fatalf("controls_updated payload %+v", data)
	}
	for _, tc := range []struct {
		name, body, slug string
	}{
		{"nothing", `{}`, "nothing_to_update"},
		{"bad limit", `{"card_limit": 0}`, "validation_failed"},
		{"bad printed name", `{"printed_name": "Ana-Souza"}`, "validation_failed"},
		{"printed name null", `{"printed_name": null}`, "validation_failed"},
		{"expiry_at in the past", `{"expiry_at": "2001-01-01T00:00:00Z"}`, "validation_failed"},
		{"metadata not an object", `{"metadata": 3}`, "validation_failed"},
		{"unknown field", `{"status": "ACTIVE"}`, "validation_failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ce.do("PATCH", "/v1/cards/"+c.CardID, []byte(tc.body))
			if r.Status != 422 || r.problem(t).Slug != tc.slug {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		})
	}
	// Printed names are locked once the plastic went to the embosser.
	p := ce.createCard(t, ce.manualProd, map[string]any{"shipping_address": shipping})
	mustStatus(t, ce.do("PATCH", "/v1/cards/"+p.CardID, map[string]any{"printed_name": "NEW NAME"}), 200)
	ce.emboss(t)
	r := ce.do("PATCH", "/v1/cards/"+p.CardID, map[string]any{"printed_name": "OTHER NAME"})
	if r.Status != 409 || r.problem(t).Slug != "printed_name_locked" {
		t.Fatalf("printed name after embossing: %d %s", r.Status, r.Body)
	}
	mustStatus(t, ce.do("PATCH", "/v1/cards/"+p.CardID, map[string]any{"card_limit": 10}), 200)
	// Closed cards change no more.
	mustStatus(t, ce.do("POST", "/v1/cards/"+c.CardID+"/cancel", nil), 200)
	if r := ce.do("PATCH", "/v1/cards/"+c.CardID, map[string]any{"card_limit": 10}); r.Status != 409 || r.problem(t).Slug != "card_closed" {
		t.Fatalf("patch of a canceled card: %d %s", r.Status, r.Body)
	}
	if n := len(outboxEvents(t, ce.db, "card.controls_updated")); n != 4 {
		t.Fatalf("%d card.controls_updated events, want 4", n)
	}
}

// jsonText scans a text column holding JSON into v.
func jsonText(v any) any { return &jsonScanner{v} }

type jsonScanner struct{ v any }

func (s *jsonScanner) Scan(src any) error {
	switch b := src.(type) {
	case string:
		return json.Unmarshal([]byte(b), s.v)
	case []byte:
		return json.Unmarshal(b, s.v)
	}
	return fmt.Errorf("cannot scan %T as JSON", src)
}

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
	rejections(t, ce, "/v1/cards/import", []rejection{
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
	})
	// Another tenant cannot import a card that exists here: the PAN is in
	// this tenant's BIN range, not in the other's, and the answer is the
	// one for any PAN outside its ranges (TestImportOutsideBINRanges).
	other, otherKey := newTenantKey(t, ce.env, "Other")
	oe := setUpCards(t, ce.env, otherKey, other.ID)
	otherImport := func(p, imk, cvk string) response {
		return oe.do("POST", "/v1/cards/import", map[string]any{"pan": p, "expiry": "3012", "network": "MASTERCARD", "cvn": 17,
			"imk_ac_key_reference": imk, "cvk_key_reference": cvk, "product_id": oe.cat.product})
	}
	r := otherImport(pan.Reveal(), oe.keys.imkAC, oe.keys.cvk)
	if r.Status != 422 || r.problem(t).Slug != "pan_outside_bin_ranges" {
		t.Fatalf("import of a PAN another tenant holds: %d %s", r.Status, r.Body)
	}
	// ... nor use this tenant's keys (on a PAN in its own range).
	own, _ := dataprep.GeneratePAN(oe.keys.bins.mastercard, 16, nil)
	fieldError(t, otherImport(own.Reveal(), ce.keys.imkAC, ce.keys.cvk), "imk_ac_key_reference", "invalid")
}

// TestPANStaysUniqueAcrossPANIndexRotation: a PAN imported before a
// rotation of the PAN-index key cannot be imported again after it (the new
// card's index, under the new version, differs from the stored one), and
// the card made before the rotation still reads (issue 12, point 6).
func TestPANStaysUniqueAcrossPANIndexRotation(t *testing.T) {
	ce, ctx := newCardEnv(t), context.Background()
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

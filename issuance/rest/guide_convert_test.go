package rest_test

import (
	"strings"
	"testing"

	"github.com/cardhost/cardhost/issuance"
)

// The guides' value shapes (docs/api.md "Guide field names", conversions):
// UQPay's amounts in major units and "Y"/"N", its trigger on a NORMAL card
// and its cardholder_required_fields; Pismo's name and transaction_limit;
// the PLASTIC card shipped to its cardholder's address. Over real HTTP and
// PostgreSQL; every refusal creates nothing.

// guideCard is a card answer with the fields these tests read beyond
// cardOut's.
type guideCard struct {
	cardOut
	Nickname        string            `json:"nickname"`
	ShippingAddress *issuance.Address `json:"shipping_address"`
}

func (ce *cardEnv) guideCard(t *testing.T, body map[string]any) guideCard {
	t.Helper()
	var c guideCard
	mustStatus(t, ce.do("POST", "/v1/cards", body), 201).JSON(t, &c)
	return c
}

func (ce *cardEnv) cardCount(t *testing.T) int {
	t.Helper()
	var list struct{ Data []cardOut }
	mustStatus(t, ce.do("GET", "/v1/cards?limit=100", nil), 200).JSON(t, &list)
	return len(list.Data)
}

// uqpayBody is UQPay's Create Card body with cardhost's ids.
func uqpayBody(product, cardholder string, extra map[string]any) map[string]any {
	return overlay(map[string]any{
		"card_currency": "USD", "cardholder_id": cardholder, "card_product_id": product, "card_limit": 2100.02,
		"spending_controls": []any{map[string]any{"amount": 100.03, "interval": "PER_TRANSACTION"}},
		"risk_controls":     map[string]any{"allow_3ds_transactions": "Y", "allowed_mcc": nil, "blocked_mcc": []string{"5999", "6011"}},
		"metadata":          map[string]any{"key1": "value1"}, "usage_type": "NORMAL", "auto_cancel_trigger": "ON_AUTH",
		"cardholder_required_fields": map[string]any{"gender": "MALE", "nationality": "SG", "phone_number": "86683306", "date_of_birth": "1990-01-01"},
	}, extra)
}

func TestGuideUQPayValues(t *testing.T) {
	ce := newCardEnv(t)
	var chd struct {
		ID string `json:"cardholder_id"`
	}
	mustStatus(t, ce.do("POST", "/v1/cardholders", map[string]any{"first_name": "Tan", "last_name": "Wei Ming", "nationality": "SG",
		"birth_date": "1990-01-01", "phone": "+6586683306"}), 201).JSON(t, &chd)

	// The guide's body: major units of card_currency, "Y", the NORMAL
	// card's trigger dropped, the KYC fields agreeing with the record.
	c := ce.guideCard(t, uqpayBody(ce.cat.product, chd.ID, nil))
	if c.CardLimit == nil || *c.CardLimit != 210002 || len(c.SpendingControls) != 1 || c.SpendingControls[0].Amount == nil || *c.SpendingControls[0].Amount != 10003 {
		t.Fatalf("amounts: limit %v controls %+v", c.CardLimit, c.SpendingControls)
	}
	if a := c.RiskControls.Allow3DSTransactions; a == nil || !*a || c.UsageType != "NORMAL" || c.AutoCancelTrigger != "" || c.Currency != "USD" {
		t.Fatalf("3DS %v usage %s trigger %q currency %s", a, c.UsageType, c.AutoCancelTrigger, c.Currency)
	}
	// "N", a whole number, and a ONE_TIME card keeps its trigger.
	c = ce.guideCard(t, uqpayBody(ce.cat.product, chd.ID, map[string]any{"card_limit": 50, "usage_type": "ONE_TIME",
		"risk_controls": map[string]any{"allow_3ds_transactions": "N"}}))
	if *c.CardLimit != 5000 || *c.RiskControls.Allow3DSTransactions || c.AutoCancelTrigger != "ON_AUTH" {
		t.Fatalf("limit %d 3DS %v trigger %q", *c.CardLimit, *c.RiskControls.Allow3DSTransactions, c.AutoCancelTrigger)
	}
	// A currency without decimals: the exponent is card_currency's.
	c = ce.guideCard(t, uqpayBody(ce.cat.product, chd.ID, map[string]any{"card_currency": "JPY", "card_limit": 5000,
		"spending_controls": []any{map[string]any{"amount": 100.00, "interval": "PER_TRANSACTION"}}}))
	if c.Currency != "JPY" || *c.CardLimit != 5000 || *c.SpendingControls[0].Amount != 100 {
		t.Fatalf("JPY card: %s %d %+v", c.Currency, *c.CardLimit, c.SpendingControls)
	}
	made := ce.cardCount(t)

	for _, tc := range []struct {
		name        string
		body        map[string]any
		field, code string
	}{
		{"more decimals than USD has", uqpayBody(ce.cat.product, chd.ID, map[string]any{"card_limit": 2100.005}), "card_limit", "invalid"},
		{"decimals in JPY", uqpayBody(ce.cat.product, chd.ID, map[string]any{"card_currency": "JPY", "spending_controls": []any{map[string]any{"amount": 100.5, "interval": "DAILY"}}}), "spending_controls[0].amount", "invalid"},
		{"a negative amount", uqpayBody(ce.cat.product, chd.ID, map[string]any{"card_limit": -5}), "card_limit", "invalid"},
		{"an amount as a string", uqpayBody(ce.cat.product, chd.ID, map[string]any{"card_limit": "2100.02"}), "card_limit", "invalid_type"},
		{"zero, converted, then out of range", uqpayBody(ce.cat.product, chd.ID, map[string]any{"card_limit": 0}), "card_limit", "out_of_range"},
		{"not Y or N", uqpayBody(ce.cat.product, chd.ID, map[string]any{"risk_controls": map[string]any{"allow_3ds_transactions": "yes"}}), "risk_controls.allow_3ds_transactions", "invalid"},
		{"an unknown trigger", uqpayBody(ce.cat.product, chd.ID, map[string]any{"auto_cancel_trigger": "LATER"}), "auto_cancel_trigger", "invalid"},
		{"a nationality that is not the cardholder's", uqpayBody(ce.cat.product, chd.ID, map[string]any{"cardholder_required_fields": map[string]any{"nationality": "BR"}}), "cardholder_required_fields.nationality", "mismatch"},
		{"a phone that is not the cardholder's", uqpayBody(ce.cat.product, chd.ID, map[string]any{"cardholder_required_fields": map[string]any{"phone_number": "91234567"}}), "cardholder_required_fields.phone_number", "mismatch"},
		{"an unknown gender", uqpayBody(ce.cat.product, chd.ID, map[string]any{"cardholder_required_fields": map[string]any{"gender": "M"}}), "cardholder_required_fields.gender", "invalid"},
		{"a field UQPay does not list", uqpayBody(ce.cat.product, chd.ID, map[string]any{"cardholder_required_fields": map[string]any{"email": "a@example.com"}}), "cardholder_required_fields.email", "unknown"},
		{"KYC fields without a cardholder", uqpayBody(ce.cat.product, "", map[string]any{"cardholder_id": nil, "card_holder_name": "TAN WEI MING"}), "cardholder_id", "required"},
		// A native body keeps cardhost's shapes: minor units, booleans, no
		// trigger on a NORMAL card.
		{"a decimal in a native body", cardBody(ce.cat.product, map[string]any{"currency": "USD", "card_limit": 2100.02}), "card_limit", "invalid_type"},
		{"Y in a native body", cardBody(ce.cat.product, map[string]any{"risk_controls": map[string]any{"allow_3ds_transactions": "Y"}}), "risk_controls.allow_3ds_transactions", "invalid_type"},
		{"a trigger on a native NORMAL card", cardBody(ce.cat.product, map[string]any{"usage_type": "NORMAL", "auto_cancel_trigger": "ON_AUTH"}), "auto_cancel_trigger", "invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fieldError(t, ce.do("POST", "/v1/cards", tc.body), tc.field, tc.code)
		})
	}
	if n := ce.cardCount(t); n != made {
		t.Fatalf("%d cards after the refusals, want %d", n, made)
	}
}

func TestGuidePismoValues(t *testing.T) {
	ce := newCardEnv(t)
	var chd, bare struct {
		ID string `json:"cardholder_id"`
	}
	home := map[string]any{"line1": "Avenida Paulista 1000", "city": "Sao Paulo", "postal_code": "01310-100", "country": "BR"}
	mustStatus(t, ce.do("POST", "/v1/cardholders", map[string]any{"first_name": "Chester", "last_name": "Fields", "address": home}), 201).JSON(t, &chd)
	mustStatus(t, ce.do("POST", "/v1/cardholders", map[string]any{"first_name": "Ana", "last_name": "Souza"}), 201).JSON(t, &bare)

	// name is the card's nickname; transaction_limit a PER_TRANSACTION
	// control in the product's currency (USD: 2 decimals).
	c := ce.guideCard(t, map[string]any{"product_id": ce.cat.product, "cardholder_id": chd.ID, "name": "Vacation card", "transaction_limit": "500.00"})
	if c.Nickname != "Vacation card" || len(c.SpendingControls) != 1 || *c.SpendingControls[0].Amount != 50000 || c.SpendingControls[0].Interval != issuance.PerTransaction {
		t.Fatalf("nickname %q controls %+v", c.Nickname, c.SpendingControls)
	}
	// The native name, and a reissue carries it.
	n := ce.guideCard(t, map[string]any{"product_id": ce.cat.product, "cardholder_id": chd.ID, "nickname": "Groceries"})
	var next guideCard
	mustStatus(t, ce.do("POST", "/v1/cards/"+n.CardID+"/reissue", map[string]any{}, "Idempotency-Key", "reissue-nick"), 201).JSON(t, &next)
	if n.Nickname != "Groceries" || next.Nickname != "Groceries" {
		t.Fatalf("nickname %q, reissued %q", n.Nickname, next.Nickname)
	}
	// A body's currency gives the exponent: JPY has no decimals.
	j := ce.guideCard(t, map[string]any{"product_id": ce.cat.product, "cardholder_id": chd.ID, "currency": "JPY", "transaction_limit": "500.00"})
	if *j.SpendingControls[0].Amount != 500 {
		t.Fatalf("500.00 JPY is %d", *j.SpendingControls[0].Amount)
	}
	// A PLASTIC card without shipping_address ships to its cardholder's
	// address (Pismo: the account's).
	p := ce.guideCard(t, map[string]any{"product_id": ce.plastic, "cardholder_id": chd.ID, "name": "PLASTIC", "type": "PLASTIC"})
	if a := p.ShippingAddress; a == nil || a.Line1 != "Avenida Paulista 1000" || a.City != "Sao Paulo" || a.Country != "BR" || a.PostalCode != "01310-100" {
		t.Fatalf("plastic shipped to %+v", p.ShippingAddress)
	}
	// A given shipping_address wins.
	p = ce.guideCard(t, map[string]any{"product_id": ce.plastic, "cardholder_id": chd.ID, "shipping_address": shipping, "type": "PLASTIC"})
	if p.ShippingAddress.Line1 != "Av. Paulista 1000" {
		t.Fatalf("given address replaced: %+v", p.ShippingAddress)
	}
	made := ce.cardCount(t)

	for _, tc := range []struct {
		name        string
		body        map[string]any
		field, code string
	}{
		{"transaction_limit as a number", map[string]any{"transaction_limit": 500}, "transaction_limit", "invalid_type"},
		{"transaction_limit not a decimal", map[string]any{"transaction_limit": "500,00"}, "transaction_limit", "invalid"},
		{"transaction_limit past JPY's decimals", map[string]any{"currency": "JPY", "transaction_limit": "500.5"}, "transaction_limit", "invalid"},
		{"a nickname too long", map[string]any{"name": strings.Repeat("n", 51)}, "nickname", "invalid"},
		{"a nickname with surrounding spaces", map[string]any{"nickname": " Trip "}, "nickname", "invalid"},
		{"a nickname with a control character", map[string]any{"nickname": "Trip\tcard"}, "nickname", "invalid"},
		{"a plastic for a cardholder without an address", map[string]any{"cardholder_id": bare.ID, "type": "PLASTIC", "product_id": ce.plastic}, "shipping_address", "required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := overlay(map[string]any{"product_id": ce.cat.product, "cardholder_id": chd.ID}, tc.body)
			fieldError(t, ce.do("POST", "/v1/cards", body), tc.field, tc.code)
		})
	}
	for _, body := range []map[string]any{
		{"transaction_limit": "5.00", "spending_controls": []any{}},
		{"name": "a", "nickname": "b"},
	} {
		body["product_id"], body["cardholder_id"] = ce.cat.product, chd.ID
		if r := ce.do("POST", "/v1/cards", body); r.Status != 422 || r.problem(t).Slug != "conflicting_fields" {
			t.Fatalf("%v: %d %s", body, r.Status, r.Body)
		}
	}
	if n := ce.cardCount(t); n != made {
		t.Fatalf("%d cards after the refusals, want %d", n, made)
	}
}

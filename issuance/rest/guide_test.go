package rest_test

import (
	"context"
	"crypto/rand"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/pinblock"
	"github.com/cardhost/cardhost/emv/softhsm"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/alias"
)

// The seed guides' shapes (issue 15; docs/api.md "Guide field names"):
// aliases, the x-idempotency-key header, the tenant's idempotency policy,
// product defaults and QPay's format 0 PIN block, over real HTTP and
// PostgreSQL.

// qpayAddress is QPay step 7's address, as the guide sends it.
var qpayAddress = map[string]any{
	"name": "Joao da Silva", "postal_code": "01310-100", "country": "BR", "state": "SP", "city": "São Paulo",
	"address_line1": "Av. Paulista 1000", "address_line2": "Apto 42",
}

func problemField(t *testing.T, r response, status int, slug, field, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	p := r.problem(t)
	if p.Slug != slug {
		t.Fatalf("slug %s, want %s: %s", p.Slug, slug, r.Body)
	}
	for _, f := range p.Errors {
		if f.Field == field && f.Code == code {
			return
		}
	}
	t.Fatalf("no %s error on %s in %s", code, field, r.Body)
}

func TestGuideCardAliases(t *testing.T) {
	ce := newCardEnv(t)

	// QPay step 7: addresses with name, address_line1, address_line2.
	c := ce.createCard(t, ce.plastic, map[string]any{"reference_id": "MY-UNIQUE-REF-001", "card_holder_name": "JOAO DA SILVA",
		"billing_address": qpayAddress, "shipping_address": qpayAddress})
	stored, err := ce.db.Card(context.Background(), ce.tenantID, c.CardID)
	if err != nil {
		t.Fatal(err)
	}
	if a := stored.ShippingAddress; a == nil || a.Line1 != "Av. Paulista 1000" || a.Line2 != "Apto 42" || a.Name != "Joao da Silva" || a.City != "São Paulo" {
		t.Fatalf("shipping address stored as %+v", stored.ShippingAddress)
	}
	if a := stored.BillingAddress; a == nil || a.Line1 != "Av. Paulista 1000" || a.Line2 != "Apto 42" {
		t.Fatalf("billing address stored as %+v", stored.BillingAddress)
	}

	// UQPay: card_currency and card_product_id are currency and product_id.
	var uq cardOut
	mustStatus(t, ce.do("POST", "/v1/cards", map[string]any{"card_product_id": ce.cat.product, "card_currency": "usd", "card_holder_name": "Ana Souza",
		"metadata": map[string]any{"card_currency": "kept", "address_line1": "kept"}}), 201).JSON(t, &uq)
	if uq.ProductID != ce.cat.product || uq.Currency != "USD" {
		t.Fatalf("UQPay-named card: product %s currency %s", uq.ProductID, uq.Currency)
	}
	if uq.Metadata["card_currency"] != "kept" || uq.Metadata["address_line1"] != "kept" {
		t.Fatalf("metadata keys were rewritten: %v", uq.Metadata)
	}
	// PintoPay: product_code is product_id.
	var pp cardOut
	mustStatus(t, ce.do("POST", "/v1/cards", map[string]any{"product_code": ce.cat.product, "card_holder_name": "Ana Souza"}), 201).JSON(t, &pp)
	if pp.ProductID != ce.cat.product {
		t.Fatalf("product_code: product %s", pp.ProductID)
	}

	// PintoPay: external_user_id is cardholder_id.
	var chd struct {
		ID string `json:"cardholder_id"`
	}
	mustStatus(t, ce.do("POST", "/v1/cardholders", map[string]any{"first_name": "Ana", "last_name": "Souza", "email": "ana@example.com"}), 201).JSON(t, &chd)
	var ext cardOut
	mustStatus(t, ce.do("POST", "/v1/cards", map[string]any{"product_code": ce.cat.product, "external_user_id": chd.ID}), 201).JSON(t, &ext)
	if ext.CardholderID != chd.ID {
		t.Fatalf("external_user_id: cardholder %s, want %s", ext.CardholderID, chd.ID)
	}
	// Ids under an alias are looked up as under the native name.
	for _, tc := range []struct {
		native, alias map[string]any
		status        int
		slug          string
	}{
		{map[string]any{"product_id": "prd_nope"}, map[string]any{"product_id": nil, "card_product_id": "prd_nope"}, 404, "product_not_found"},
		{map[string]any{"product_id": "prd_nope"}, map[string]any{"product_id": nil, "product_code": "prd_nope"}, 404, "product_not_found"},
		{map[string]any{"cardholder_id": "chd_nope"}, map[string]any{"external_user_id": "chd_nope"}, 404, "cardholder_not_found"},
	} {
		n := ce.do("POST", "/v1/cards", cardBody(ce.cat.product, tc.native))
		a := ce.do("POST", "/v1/cards", cardBody(ce.cat.product, tc.alias))
		if n.Status != tc.status || a.Status != tc.status || n.problem(t).Slug != tc.slug || a.problem(t).Slug != tc.slug {
			t.Fatalf("native %d %s, alias %d %s", n.Status, n.Body, a.Status, a.Body)
		}
	}

	// A bad value under an alias gets the native name's error.
	for _, tc := range []struct {
		name          string
		native, alias map[string]any
		field, code   string
	}{
		{"currency", map[string]any{"currency": "XYZ"}, map[string]any{"card_currency": "XYZ"}, "currency", "invalid"},
		{"currency type", map[string]any{"currency": 840}, map[string]any{"card_currency": 840}, "currency", "invalid_type"},
		{"line1 empty", map[string]any{"shipping_address": map[string]any{"line1": " ", "city": "Sao Paulo", "country": "BR"}},
			map[string]any{"shipping_address": map[string]any{"address_line1": " ", "city": "Sao Paulo", "country": "BR"}}, "shipping_address.line1", "required"},
		{"line2 too long", map[string]any{"shipping_address": map[string]any{"line1": "x", "line2": strings.Repeat("x", 201), "city": "Sao Paulo", "country": "BR"}},
			map[string]any{"shipping_address": map[string]any{"line1": "x", "address_line2": strings.Repeat("x", 201), "city": "Sao Paulo", "country": "BR"}}, "shipping_address.line2", "too_long"},
	} {
		t.Run("same error: "+tc.name, func(t *testing.T) {
			n := ce.do("POST", "/v1/cards", cardBody(ce.cat.product, tc.native))
			a := ce.do("POST", "/v1/cards", cardBody(ce.cat.product, tc.alias))
			problemField(t, n, 422, "validation_failed", tc.field, tc.code)
			problemField(t, a, 422, "validation_failed", tc.field, tc.code)
			if pn, pa := n.problem(t), a.problem(t); !reflect.DeepEqual(pn.Errors, pa.Errors) || pn.Detail != pa.Detail {
				t.Fatalf("native %s, alias %s", n.Body, a.Body)
			}
		})
	}
	for _, tc := range []struct {
		name        string
		body        map[string]any
		status      int
		slug        string
		field, code string
	}{
		{"both names", map[string]any{"currency": "USD", "card_currency": "USD"}, 422, "conflicting_fields", "card_currency", "conflicting"},
		{"both names, another case", map[string]any{"Currency": "USD", "card_currency": "EUR"}, 422, "conflicting_fields", "card_currency", "conflicting"},
		{"two aliases of one field", map[string]any{"product_id": nil, "card_product_id": ce.cat.product, "product_code": ce.cat.product}, 422, "conflicting_fields", "product_code", "conflicting"},
		{"both names in an address", map[string]any{"shipping_address": map[string]any{"line1": "a", "address_line1": "b", "city": "c", "country": "BR"}}, 422, "conflicting_fields", "shipping_address.address_line1", "conflicting"},
		{"a guide field without equivalent", map[string]any{"mode_type": "COMBO"}, 422, "validation_failed", "mode_type", "no_equivalent"},
		{"Pismo's embossing group", map[string]any{"embossing_group": "EM1-embosser"}, 422, "validation_failed", "embossing_group", "no_equivalent"},
		{"an unknown field", map[string]any{"card_colour": "blue"}, 422, "validation_failed", "card_colour", "unknown"},
		{"an alias of another body", map[string]any{"address_line1": "Av. Paulista 1000"}, 422, "validation_failed", "address_line1", "unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := cardBody(ce.cat.product, tc.body)
			body["reference_id"] = "REFUSED-" + strings.ReplaceAll(tc.name, " ", "-")[:8]
			r := ce.do("POST", "/v1/cards", body)
			problemField(t, r, tc.status, tc.slug, tc.field, tc.code)
			if tc.code == "no_equivalent" && strings.Contains(r.problem(t).Errors[0].Message, "unknown field") {
				t.Fatalf("no_equivalent without its note: %s", r.Body)
			}
		})
	}
	var list struct{ Data []cardOut }
	mustStatus(t, ce.do("GET", "/v1/cards", nil), 200).JSON(t, &list)
	if len(list.Data) != 4 {
		t.Fatalf("%d cards after 4 creations and refusals, want 4", len(list.Data))
	}

	// Batch items (decoded by issuance, not the REST adapter) take the
	// same table.
	var b struct {
		BatchID string `json:"batch_id"`
	}
	mustStatus(t, ce.do("POST", "/v1/card-batches", map[string]any{"request_id": "guide-batch", "card_batch_info": []map[string]any{
		{"card_product_id": ce.cat.product, "card_currency": "USD", "card_holder_name": "Ana Souza"},
		{"product_id": ce.cat.product, "currency": "USD", "card_currency": "USD", "card_holder_name": "Ana Souza"},
	}}), 202).JSON(t, &b)
	if n, err := ce.svc.ProcessBatchItems(context.Background(), 10); err != nil || n != 2 {
		t.Fatalf("processed %d batch items: %v", n, err)
	}
	var got struct {
		Items []struct {
			Status    string `json:"status"`
			ErrorSlug string `json:"error_slug"`
		} `json:"items"`
	}
	mustStatus(t, ce.do("GET", "/v1/card-batches/"+b.BatchID, nil), 200).JSON(t, &got)
	if len(got.Items) != 2 || got.Items[0].Status != "succeeded" || got.Items[1].Status != "failed" || got.Items[1].ErrorSlug != "conflicting_fields" {
		t.Fatalf("batch items %+v", got.Items)
	}
}

func TestIdempotencyKeyHeaderAlias(t *testing.T) {
	ce := newCardEnv(t)
	body := cardBody(ce.cat.product, nil)
	var first, again cardOut
	r1 := mustStatus(t, ce.do("POST", "/v1/cards", body, "x-idempotency-key", "uq-1"), 201)
	r1.JSON(t, &first)
	r2 := mustStatus(t, ce.do("POST", "/v1/cards", body, "x-idempotency-key", "uq-1"), 201)
	r2.JSON(t, &again)
	if again.CardID != first.CardID || r2.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("x-idempotency-key retry made card %s after %s (replayed %q)", again.CardID, first.CardID, r2.Header.Get("Idempotent-Replayed"))
	}
	// It is the same key as Idempotency-Key: one replays the other.
	r3 := mustStatus(t, ce.do("POST", "/v1/cards", body, "Idempotency-Key", "uq-1"), 201)
	if r3.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("Idempotency-Key did not replay the x-idempotency-key request")
	}
	// The same key with another body is reused, as with Idempotency-Key.
	if r := ce.do("POST", "/v1/cards", cardBody(ce.cat.product, map[string]any{"reference_id": "OTHER"}), "x-idempotency-key", "uq-1"); r.Status != 422 || r.problem(t).Slug != "idempotency_key_reused" {
		t.Fatalf("reused x-idempotency-key: %d %s", r.Status, r.Body)
	}
	// Both headers: equal is one key; different is refused, and nothing is made.
	mustStatus(t, ce.do("POST", "/v1/cards", body, "Idempotency-Key", "uq-2", "x-idempotency-key", "uq-2"), 201)
	r := ce.do("POST", "/v1/cards", cardBody(ce.cat.product, map[string]any{"reference_id": "TWO-KEYS"}), "Idempotency-Key", "uq-3", "x-idempotency-key", "uq-4")
	problemField(t, r, 422, "conflicting_fields", "X-Idempotency-Key", "conflicting")
	var list struct{ Data []cardOut }
	mustStatus(t, ce.do("GET", "/v1/cards", nil), 200).JSON(t, &list)
	if len(list.Data) != 2 {
		t.Fatalf("%d cards, want 2 (uq-1 and uq-2)", len(list.Data))
	}
	// UQPay's x-auth-token is not an API key header: the 401 says so.
	r = ce.doKey("", "POST", "/v1/cards", body, "x-auth-token", ce.apiKey, "x-idempotency-key", "uq-5")
	if r.Status != 401 || !strings.Contains(r.problem(t).Detail, "Authorization: Bearer") || strings.Contains(string(r.Body), ce.apiKey) {
		t.Fatalf("x-auth-token: %d %s", r.Status, r.Body)
	}
	// An invalid value is refused as Idempotency-Key's is.
	if r := ce.do("POST", "/v1/cards", body, "x-idempotency-key", strings.Repeat("k", 256)); r.Status != 422 {
		t.Fatalf("a 256-character x-idempotency-key: %d %s", r.Status, r.Body)
	}
}

func TestIdempotencyPolicy(t *testing.T) {
	ce := newCardEnv(t)
	var ten map[string]any
	mustStatus(t, ce.do("GET", "/v1/tenant", nil), 200).JSON(t, &ten)
	if ten["idempotency_policy"] != "optional" || ten["default_currency"] != "USD" {
		t.Fatalf("a new tenant's settings: %v", ten)
	}
	// optional: no key needed.
	plain := ce.createCard(t, ce.cat.product, nil)

	fieldError(t, ce.do("PATCH", "/v1/tenant", map[string]any{"idempotency_policy": "always"}), "idempotency_policy", "invalid")
	if r := ce.do("PATCH", "/v1/tenant", map[string]any{}); r.Status != 422 || r.problem(t).Slug != "nothing_to_update" {
		t.Fatalf("empty PATCH /v1/tenant: %d %s", r.Status, r.Body)
	}
	mustStatus(t, ce.do("PATCH", "/v1/tenant", map[string]any{"idempotency_policy": "required"}), 200).JSON(t, &ten)
	if ten["idempotency_policy"] != "required" {
		t.Fatalf("after PATCH: %v", ten)
	}

	// required: every operation that takes a key refuses a request
	// without one, before anything changes.
	for _, tc := range []struct{ method, path string }{
		{"POST", "/v1/cards"},
		{"POST", "/v1/card-batches"},
		{"POST", "/v1/card-layouts"},
		{"POST", "/v1/card-products"},
		{"POST", "/v1/cardholders"},
		{"POST", "/v1/embossers"},
		{"POST", "/v1/api-keys"},
		{"POST", "/v1/certificates"},
		{"POST", "/v1/cards/" + plain.CardID + "/freeze"},
		{"POST", "/v1/cards/import"},
		{"PATCH", "/v1/simulator/cards/" + plain.CardID + "/issue"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := ce.do(tc.method, tc.path, map[string]any{"layout": "x", "name": "x"})
			if r.Status != 400 || r.problem(t).Slug != "idempotency_key_required" {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		})
	}
	var list struct{ Data []cardOut }
	mustStatus(t, ce.do("GET", "/v1/cards", nil), 200).JSON(t, &list)
	if len(list.Data) != 1 || list.Data[0].Status != "ACTIVE" {
		t.Fatalf("cards after the refusals: %+v", list.Data)
	}
	// With a key (either name) it works; reads and PATCHes need none.
	mustStatus(t, ce.do("POST", "/v1/cards", cardBody(ce.cat.product, nil), "Idempotency-Key", "req-1"), 201)
	mustStatus(t, ce.do("POST", "/v1/cards", cardBody(ce.cat.product, nil), "x-idempotency-key", "req-2"), 201)
	mustStatus(t, ce.do("PATCH", "/v1/cards/"+plain.CardID, map[string]any{"metadata": map[string]any{"a": "b"}}), 200)

	// Back to optional: unchanged behaviour.
	mustStatus(t, ce.do("PATCH", "/v1/tenant", map[string]any{"idempotency_policy": "optional"}), 200)
	ce.createCard(t, ce.cat.product, nil)
}

func TestGuideProductDefaults(t *testing.T) {
	ce := newCardEnv(t)
	// QPay step 6, as the guide sends it.
	qpay := map[string]any{"name": "Classic Debit", "description": "Standard UnionPay debit card", "layout_id": ce.cat.layout,
		"data_prep_template_id": ce.cat.template, "default_embosser_id": ce.cat.embosser}
	var p issuance.Product
	mustStatus(t, ce.do("POST", "/v1/card-products", qpay), 201).JSON(t, &p)
	if p.CardType != issuance.CardPlastic || p.Currency != "USD" {
		t.Fatalf("QPay product: card_type %s currency %s, want PLASTIC USD (the tenant's default)", p.CardType, p.Currency)
	}
	// The tenant's default currency.
	fieldError(t, ce.do("PATCH", "/v1/tenant", map[string]any{"default_currency": "XYZ"}), "default_currency", "invalid")
	mustStatus(t, ce.do("PATCH", "/v1/tenant", map[string]any{"default_currency": "brl"}), 200)
	mustStatus(t, ce.do("POST", "/v1/card-products", qpay), 201).JSON(t, &p)
	if p.Currency != "BRL" {
		t.Fatalf("currency %s, want the tenant's BRL", p.Currency)
	}
	// Given values win; a bad one is refused as before.
	mustStatus(t, ce.do("POST", "/v1/card-products", withFields(map[string]any{}, "name", "V", "layout_id", ce.cat.layout, "data_prep_template_id", ce.cat.template,
		"default_embosser_id", ce.cat.embosser, "currency", "EUR", "card_type", "VIRTUAL")), 201).JSON(t, &p)
	if p.CardType != issuance.CardVirtual || p.Currency != "EUR" {
		t.Fatalf("explicit values: %s %s", p.CardType, p.Currency)
	}
	bad := map[string]any{}
	for k, v := range qpay {
		bad[k] = v
	}
	bad["currency"] = "XYZ"
	fieldError(t, ce.do("POST", "/v1/card-products", bad), "currency", "invalid")
	// A card of the QPay product with QPay's card body (step 7).
	mustStatus(t, ce.do("POST", "/v1/card-products", qpay), 201).JSON(t, &p)
	c := ce.createCard(t, p.ID, map[string]any{"reference_id": "MY-UNIQUE-REF-002", "card_holder_name": "JOAO DA SILVA",
		"billing_address": qpayAddress, "shipping_address": qpayAddress})
	if c.Type != "PLASTIC" || c.Currency != "BRL" || c.Status != "PROVISIONED" {
		t.Fatalf("QPay card: %+v", c)
	}
}

// format0Block is QPay's PIN block as cardhost takes it: an ISO 9564 format
// 0 block for pan under the TDES key agreed (ECDH with the HSM's key, the
// one-step KDF with AlgorithmID cardhost:pin-set:iso9564-0:tdes-192).
func format0Block(t *testing.T, ce *cardEnv, k issuerPINKey, pan, pin string) string {
	t.Helper()
	pub, err := ce.hsm.ECDHPublicKey(context.Background(), ce.svc.Keys().ECDH)
	if err != nil {
		t.Fatal(err)
	}
	hsm, err := softhsm.ParsePublicKey(pub.Point)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := k.key.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	z, err := priv.ECDH(hsm)
	if err != nil {
		t.Fatal(err)
	}
	c, err := emv.PINSetCipher(pinblock.Format0, z, priv.PublicKey().Bytes(), pub.Point)
	if err != nil {
		t.Fatal(err)
	}
	b, err := pinblock.Encipher(pinblock.Format0, c, []byte(pin), pan, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return emv.EncodeHex(b)
}

func TestPINSetFormat0(t *testing.T) {
	ce := newCardEnv(t)
	issuer := newIssuerPINKey(t, ce)
	// At creation: bound to the format 0 placeholder PAN (13 zeros).
	block := format0Block(t, ce, issuer, "0000000000000", "4321")
	if len(block) != 16 {
		t.Fatalf("format 0 block of %d hex characters", len(block))
	}
	c := ce.createCard(t, ce.cat.product, map[string]any{"enciphered_pin_block": block, "incoming_pek": map[string]any{"key_reference": issuer.ref}})
	if !c.PINSet {
		t.Fatalf("card created without its PIN: %+v", c)
	}
	pan, _, _ := ce.reveal(t, c.CardID)
	if !verifyPIN(t, ce, c.CardID, pan, "4321") || verifyPIN(t, ce, c.CardID, pan, "4322") {
		t.Fatal("the format 0 PIN set at creation does not verify")
	}
	// On the PIN endpoint: bound to the card's PAN.
	mustStatus(t, ce.do("POST", "/v1/cards/"+c.CardID+"/pin", map[string]any{"enciphered_pin_block": format0Block(t, ce, issuer, pan, "7788"),
		"incoming_pek": map[string]any{"key_reference": issuer.ref}}, "Idempotency-Key", "pin-0"), 200)
	if !verifyPIN(t, ce, c.CardID, pan, "7788") || verifyPIN(t, ce, c.CardID, pan, "4321") {
		t.Fatal("the format 0 PIN change does not verify")
	}
	// Refusals: another PAN's block, and the guide's example value.
	for _, b := range []string{format0Block(t, ce, issuer, "4000001234567899", "1111"), "A1B2C3D4E5F60708"} {
		r := ce.do("POST", "/v1/cards/"+c.CardID+"/pin", map[string]any{"enciphered_pin_block": b, "incoming_pek": map[string]any{"key_reference": issuer.ref}})
		if r.Status != 422 || r.problem(t).Slug != "pin_block_invalid" || strings.Contains(string(r.Body), b) {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	}
	if !verifyPIN(t, ce, c.CardID, pan, "7788") {
		t.Fatal("a refused PIN set changed the PIN")
	}
}

// TestAliasTable keeps the alias table true to the Go types and to
// docs/api.md: each body names decoded types, each alias renames to a
// field those types have and is none of their own fields, and every entry
// is in the "Guide field names" section.
func TestAliasTable(t *testing.T) {
	types := map[string]reflect.Type{}
	for _, v := range []any{issuance.CardRequest{}, issuance.Address{}} {
		types[reflect.TypeOf(v).String()] = reflect.TypeOf(v)
	}
	// jsonNames are a struct's JSON field names and their types, embedded
	// structs flattened as encoding/json (and the decoder) flatten them.
	var jsonNames func(rt reflect.Type) map[string]reflect.Type
	jsonNames = func(rt reflect.Type) map[string]reflect.Type {
		out := map[string]reflect.Type{}
		for i := 0; i < rt.NumField(); i++ {
			f := rt.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.Anonymous && name == "" {
				for n, ft := range jsonNames(f.Type) {
					out[n] = ft
				}
				continue
			}
			if f.IsExported() && name != "-" {
				out[name] = f.Type
			}
		}
		return out
	}
	// resolves reports whether a Dialect path (a.b, x[].y) names a field
	// of rt.
	resolves := func(rt reflect.Type, path string) bool {
		for _, seg := range strings.Split(path, ".") {
			for rt.Kind() == reflect.Pointer || rt.Kind() == reflect.Slice {
				rt = rt.Elem()
			}
			if rt.Kind() != reflect.Struct {
				return false
			}
			ft, ok := jsonNames(rt)[strings.TrimSuffix(seg, "[]")]
			if !ok {
				return false
			}
			rt = ft
		}
		return true
	}
	receiver := reflect.TypeOf((*alias.Receiver)(nil)).Elem()
	bodies := map[string]bool{}
	for typ, body := range alias.Types {
		rt, ok := types[typ]
		if !ok {
			t.Errorf("alias.Types names %s, which no test type is (add it here)", typ)
			continue
		}
		if alias.Bodies[body] == nil {
			t.Errorf("alias.Types maps %s to body %q, which has no table", typ, body)
		}
		bodies[body] = true
		fields := jsonNames(rt)
		for name, e := range alias.Bodies[body] {
			if _, ok := fields[name]; ok {
				t.Errorf("%s: the alias %s is a native field of %s", body, name, typ)
			}
			if _, ok := fields[e.Native]; e.Native != "" && !ok {
				t.Errorf("%s: %s renames to %s, which %s has not", body, name, e.Native, typ)
			}
			if e.Native == "" && e.Note == "" {
				t.Errorf("%s: %s has neither a native name nor a note", body, name)
			}
			for path := range e.Dialect {
				if !resolves(rt, path) {
					t.Errorf("%s: %s's dialect names %s, which %s has not", body, name, path, typ)
				}
			}
			// Conversions may defer amounts and facts to the body's type.
			if (e.Convert != nil || e.Dialect != nil) && !reflect.PointerTo(rt).Implements(receiver) {
				t.Errorf("%s: %s defers values to %s, which is no alias.Receiver", body, name, typ)
			}
		}
	}
	for body := range alias.Bodies {
		if !bodies[body] {
			t.Errorf("body %q is used by no type in alias.Types", body)
		}
	}
	doc, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Guide field names\n")
	if !ok {
		t.Fatal(`docs/api.md has no "Guide field names" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	for body, entries := range alias.Bodies {
		for name, e := range entries {
			want := "`" + name + "`"
			if !strings.Contains(section, want) || (e.Native != "" && !strings.Contains(section, "`"+e.Native+"`")) {
				t.Errorf("docs/api.md \"Guide field names\" lacks %s (%s) -> %q", name, body, e.Native)
			}
			convs := []*alias.Conversion{e.Convert}
			for path, c := range e.Dialect {
				if !strings.Contains(section, "`"+path+"`") {
					t.Errorf("docs/api.md \"Guide field names\" lacks %s's dialect field %s", name, path)
				}
				convs = append(convs, c)
			}
			for _, c := range convs {
				if c != nil && !strings.Contains(section, "*"+c.Name+"*") {
					t.Errorf("docs/api.md \"Guide field names\" lacks the conversion *%s* (%s)", c.Name, name)
				}
			}
		}
	}
	for name := range alias.Headers {
		if !strings.Contains(strings.ToLower(section), "`"+strings.ToLower(name)+"`") {
			t.Errorf("docs/api.md \"Guide field names\" lacks the header %s", name)
		}
	}
}

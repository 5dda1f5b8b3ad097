package rest_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/softhsm"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/catalog"
	"github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/issuance/rest"
)

// withCatalog wires the catalog store and platform keys (PAN-DEK, PAN-IDX,
// CA, ECDH) freshly generated in the env's HSM.
func withCatalog(t *testing.T) envOption {
	return func(_ *rest.Config, d *issuance.Deps) {
		db := d.Tenants.(*postgres.DB)
		hsm := d.Vault.(*softhsm.HSM)
		d.Catalog = db
		gen := func(typ emv.KeyType) string {
			info, err := hsm.GenerateKey(context.Background(), softhsm.KeyRequest{Type: typ})
			if err != nil {
				t.Fatal(err)
			}
			return info.Ref
		}
		d.Keys = issuance.SystemKeys{PANDEK: gen(emv.KeyPANDEK), PANIndex: gen(emv.KeyPANIDX), CA: gen(emv.KeyCA), ECDH: gen(emv.KeyECDH)}
	}
}

// catalogKeys are HSM keys of one tenant for templates and embossers, and
// the BIN ranges its templates and imports lie in.
type catalogKeys struct {
	imkAC, imkSMI, imkSMC, cvk, pvk, kek string
	bins                                 tenantBINs
}

// tenantBINs are the BIN ranges a test tenant is assigned, as an operator
// would (`cardhost tenants add-bin`): the n-th tenant of an env gets Visa
// 40nnnn (its templates' IIN is 40nnnn18), Mastercard 52nnnn and 2221nn,
// so the env's first tenant has 400000, 520000 and 222100.
type tenantBINs struct{ visa, mastercard, series2 string }

// visaIIN is the IIN of the tenant's Visa CVN 18 templates.
func (b tenantBINs) visaIIN() string { return b.visa + "18" }

// assignBINs gives the tenant its ranges once per env.
func (e *env) assignBINs(t *testing.T, tenantID string) tenantBINs {
	t.Helper()
	if b, ok := e.bins[tenantID]; ok {
		return b
	}
	n := len(e.bins)
	b := tenantBINs{visa: fmt.Sprintf("40%04d", n), mastercard: fmt.Sprintf("52%04d", n), series2: fmt.Sprintf("2221%02d", n)}
	cat := catalog.New(issuance.Deps{Catalog: e.db})
	for _, p := range []string{b.visa, b.mastercard, b.series2} {
		if _, err := cat.AssignBINRange(context.Background(), tenantID, p); err != nil {
			t.Fatalf("assigning BIN range %s: %v", p, err)
		}
	}
	e.bins[tenantID] = b
	return b
}

func newCatalogKeys(t *testing.T, e *env, tenantID string) catalogKeys {
	t.Helper()
	gen := func(typ emv.KeyType) string {
		info, err := e.hsm.GenerateKey(context.Background(), softhsm.KeyRequest{Type: typ, Tenant: tenantID})
		if err != nil {
			t.Fatal(err)
		}
		return info.Ref
	}
	return catalogKeys{gen(emv.KeyIMKAC), gen(emv.KeyIMKSMI), gen(emv.KeyIMKSMC), gen(emv.KeyCVK), gen(emv.KeyPVK), gen(emv.KeyKEK), e.assignBINs(t, tenantID)}
}

func templateBody(k catalogKeys) map[string]any {
	return map[string]any{
		"name": "Visa Classic CVN 18", "network": "VISA", "iin": k.bins.visaIIN(), "cvn": 18, "aid": "A0000000031010", "service_code": "201",
		"imk_ac_key_reference": k.imkAC, "imk_smi_key_reference": k.imkSMI, "imk_smc_key_reference": k.imkSMC,
		"cvk_key_reference": k.cvk, "pvk_key_reference": k.pvk,
	}
}

// catalogObjects creates a template, an embosser, a layout and a product
// through the API and returns their ids.
type catalogObjects struct{ template, embosser, layout, product string }

// createCatalog makes the objects with the API key key; headers (name,
// value pairs) go with each request (x-on-behalf-of: a sub-account's).
func createCatalog(t *testing.T, e *env, key string, k catalogKeys, headers ...string) catalogObjects {
	t.Helper()
	var o catalogObjects
	var tpl struct{ ID string }
	mustStatus(t, e.doKey(key, "POST", "/v1/data-prep-templates", templateBody(k), headers...), 201).JSON(t, &tpl)
	var emb struct{ ID string }
	mustStatus(t, e.doKey(key, "POST", "/v1/embossers", map[string]any{"name": "Loopback", "transport_key_reference": k.kek}, headers...), 201).JSON(t, &emb)
	var lay struct {
		ID string `json:"layout_id"`
	}
	mustStatus(t, e.doKey(key, "POST", "/v1/card-layouts", map[string]any{"layout": "standard-blue-v1"}, headers...), 201).JSON(t, &lay)
	var prd struct {
		ID string `json:"product_id"`
	}
	mustStatus(t, e.doKey(key, "POST", "/v1/card-products", map[string]any{
		"name": "Classic Debit", "description": "Standard debit card", "layout_id": lay.ID, "data_prep_template_id": tpl.ID,
		"default_embosser_id": emb.ID, "currency": "usd", "card_type": "VIRTUAL", "card_limit": 100000,
		"spending_controls": []map[string]any{{"amount": 5000, "interval": "DAILY"}},
		"risk_controls":     map[string]any{"blocked_mcc": []string{"7995"}, "allowed_countries": []string{"us"}},
	}, headers...), 201).JSON(t, &prd)
	o.template, o.embosser, o.layout, o.product = tpl.ID, emb.ID, lay.ID, prd.ID
	return o
}

// withFields sets the name, value pairs kv in body (a nil value removes
// the name) and returns it.
func withFields(body map[string]any, kv ...any) map[string]any {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(body, kv[i].(string))
		} else {
			body[kv[i].(string)] = kv[i+1]
		}
	}
	return body
}

func mustStatus(t *testing.T, r response, status int) response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	return r
}

// fieldError asserts a 422 validation_failed naming field with code.
func fieldError(t *testing.T, r response, field, code string) {
	t.Helper()
	if r.Status != 422 {
		t.Fatalf("status %d, want 422: %s", r.Status, r.Body)
	}
	p := r.problem(t)
	if p.Slug != "validation_failed" {
		t.Fatalf("slug %s, want validation_failed", p.Slug)
	}
	for _, f := range p.Errors {
		if f.Field == field && f.Code == code {
			return
		}
	}
	t.Fatalf("no %s error on %s in %+v", code, field, p.Errors)
}

// fieldCase is a request body that fails validation on one field.
type fieldCase struct {
	name        string
	body        map[string]any
	field, code string
}

// fieldCases posts each case's body to path and asserts its field error.
func fieldCases(t *testing.T, e *env, path string, cases []fieldCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { fieldError(t, e.do("POST", path, tc.body), tc.field, tc.code) })
	}
}

func TestCatalogCreateReadUpdate(t *testing.T) {
	e := newEnv(t, withCatalog(t))
	k := newCatalogKeys(t, e, e.tenant.ID)
	o := createCatalog(t, e, e.key, k)

	var tpl issuance.Template
	mustStatus(t, e.do("GET", "/v1/data-prep-templates/"+o.template, nil), 200).JSON(t, &tpl)
	if tpl.IIN != "40000018" || tpl.CVN != 18 || tpl.PANLength != 16 || tpl.PINMethod != "PVV" || tpl.PVKI != "1" || tpl.CVKRef != k.cvk {
		t.Fatalf("template defaults: %+v", tpl)
	}
	var emb issuance.Embosser
	mustStatus(t, e.do("GET", "/v1/embossers/"+o.embosser, nil), 200).JSON(t, &emb)
	if emb.Type != "LOOPBACK" || emb.KEKRef != k.kek {
		t.Fatalf("embosser: %+v", emb)
	}
	var lay issuance.Layout
	mustStatus(t, e.do("GET", "/v1/card-layouts/"+o.layout, nil), 200).JSON(t, &lay)
	if lay.Layout != "standard-blue-v1" || lay.Name != "standard-blue-v1" {
		t.Fatalf("layout: %+v", lay)
	}
	var prd issuance.Product
	mustStatus(t, e.do("GET", "/v1/card-products/"+o.product, nil), 200).JSON(t, &prd)
	if prd.Status != "ACTIVE" || prd.ValidityMonths != 36 || prd.Currency != "USD" || prd.CardLimit == nil || *prd.CardLimit != 100000 ||
		len(prd.SpendingControls) != 1 || prd.RiskControls.AllowedCountries[0] != "US" {
		t.Fatalf("product defaults: %+v", prd)
	}
	// The store behind the API answers the card domain's CatalogReader.
	if p, err := e.db.Product(context.Background(), e.tenant.ID, o.product); err != nil || p.TemplateID != o.template {
		t.Fatalf("CatalogReader.Product: %+v, %v", p, err)
	}

	// PATCH: status, validity, null card_limit, other fields untouched.
	var upd issuance.Product
	mustStatus(t, e.do("PATCH", "/v1/card-products/"+o.product, []byte(`{"status":"INACTIVE","validity_months":12,"card_limit":null}`)), 200).JSON(t, &upd)
	if upd.Status != "INACTIVE" || upd.ValidityMonths != 12 || upd.CardLimit != nil || upd.Name != "Classic Debit" || !upd.UpdatedAt.After(prd.UpdatedAt) {
		t.Fatalf("patched: %+v", upd)
	}
	fieldError(t, e.do("PATCH", "/v1/card-products/"+o.product, map[string]any{"validity_months": 121}), "validity_months", "out_of_range")
	fieldError(t, e.do("PATCH", "/v1/card-products/"+o.product, map[string]any{"currency": "EUR"}), "currency", "unknown")
	if r := e.do("PATCH", "/v1/card-products/"+o.product, map[string]any{"layout_id": "lay_01ARZ3NDEKTSV4RRFFQ69G5FAV"}); r.Status != 404 || r.problem(t).Slug != "layout_not_found" {
		t.Fatalf("patch to a missing layout: %d %s", r.Status, r.Body)
	}

	var list struct {
		Data    []issuance.Product `json:"data"`
		HasMore bool               `json:"has_more"`
	}
	mustStatus(t, e.do("GET", "/v1/card-products?status=INACTIVE", nil), 200).JSON(t, &list)
	if len(list.Data) != 1 || list.Data[0].ID != o.product || list.HasMore {
		t.Fatalf("INACTIVE products: %+v", list)
	}
	mustStatus(t, e.do("GET", "/v1/card-products?status=ACTIVE", nil), 200).JSON(t, &list)
	if len(list.Data) != 0 {
		t.Fatalf("ACTIVE products: %+v", list)
	}
	fieldError(t, e.do("GET", "/v1/card-products?status=GONE", nil), "status", "invalid")
}

func TestTemplateValidation(t *testing.T) {
	e := newEnv(t, withCatalog(t))
	k := newCatalogKeys(t, e, e.tenant.ID)
	otherCVK, err := e.hsm.GenerateKey(context.Background(), softhsm.KeyRequest{Type: emv.KeyCVK, Tenant: "ten_someoneelse"})
	if err != nil {
		t.Fatal(err)
	}
	shared, err := e.hsm.GenerateKey(context.Background(), softhsm.KeyRequest{Type: emv.KeyCVK})
	if err != nil {
		t.Fatal(err)
	}
	with := func(kv ...any) map[string]any { return withFields(templateBody(k), kv...) }
	fieldCases(t, e, "/v1/data-prep-templates", []fieldCase{
		{"IIN too short", with("iin", "40000"), "iin", "invalid"},
		{"IIN not digits", with("iin", "4000A018"), "iin", "invalid"},
		{"Mastercard IIN on Visa", with("iin", "51000018"), "iin", "invalid"},
		{"unknown network", with("network", "AMEX"), "network", "invalid"},
		{"Visa CVN on Mastercard", with("network", "MASTERCARD", "iin", "51000016", "aid", "A0000000041010"), "cvn", "unsupported"},
		{"unknown CVN", with("cvn", 99), "cvn", "unsupported"},
		{"AID of another network", with("aid", "A0000000041010"), "aid", "invalid"},
		{"AID not hex", with("aid", "A00000000310ZZ"), "aid", "invalid"},
		{"AID too short", with("aid", "A0000000"), "aid", "invalid"},
		{"service code letters", with("service_code", "2O1"), "service_code", "invalid"},
		{"service code first digit", with("service_code", "301"), "service_code", "invalid"},
		{"PAN length", with("pan_length", 20), "pan_length", "out_of_range"},
		{"too few account digits", with("pan_length", 14), "pan_length", "out_of_range"},
		{"PVKI", with("pvki", "7"), "pvki", "invalid"},
		{"PIN method", with("pin_method", "OFFSET"), "pin_method", "invalid"},
		{"missing IMK-AC", with("imk_ac_key_reference", nil), "imk_ac_key_reference", "required"},
		{"unknown key", with("cvk_key_reference", "key_doesnotexist"), "cvk_key_reference", "not_found"},
		{"another tenant's key", with("cvk_key_reference", otherCVK.Ref), "cvk_key_reference", "not_found"},
		{"key of the wrong type", with("cvk_key_reference", k.pvk), "cvk_key_reference", "wrong_type"},
		{"SMI key in the SMC slot", with("imk_smc_key_reference", k.imkSMI), "imk_smc_key_reference", "wrong_type"},
	})
	// A shared key (no tenant) is usable; Mastercard CVN 21 with its RID.
	mustStatus(t, e.do("POST", "/v1/data-prep-templates", with("cvk_key_reference", shared.Ref)), 201)
	mustStatus(t, e.do("POST", "/v1/data-prep-templates", with("network", "MASTERCARD", "iin", "222100", "cvn", 21, "aid", "A0000000041010", "pin_method", "IBM3624", "pvki", nil)), 201)
	// Nothing was stored by the rejected requests.
	var list struct{ Data []issuance.Template }
	e.do("GET", "/v1/data-prep-templates", nil).JSON(t, &list)
	if len(list.Data) != 2 {
		t.Fatalf("%d templates, want 2", len(list.Data))
	}
}

func TestEmbosserLayoutProductValidation(t *testing.T) {
	e := newEnv(t, withCatalog(t))
	k := newCatalogKeys(t, e, e.tenant.ID)
	o := createCatalog(t, e, e.key, k)
	fieldError(t, e.do("POST", "/v1/embossers", map[string]any{"name": "x", "type": "DATACARD", "transport_key_reference": k.kek}), "type", "invalid")
	fieldError(t, e.do("POST", "/v1/embossers", map[string]any{"name": "x", "transport_key_reference": k.cvk}), "transport_key_reference", "wrong_type")
	fieldError(t, e.do("POST", "/v1/embossers", map[string]any{"name": "", "transport_key_reference": k.kek}), "name", "required")
	fieldError(t, e.do("POST", "/v1/card-layouts", map[string]any{"layout": "has space"}), "layout", "invalid")

	product := func(kv ...any) map[string]any {
		return withFields(map[string]any{"name": "P", "layout_id": o.layout, "data_prep_template_id": o.template, "default_embosser_id": o.embosser,
			"currency": "USD", "card_type": "PLASTIC"}, kv...)
	}
	fieldCases(t, e, "/v1/card-products", []fieldCase{
		{"currency", product("currency", "XXY"), "currency", "invalid"},
		{"card type", product("card_type", "METAL"), "card_type", "invalid"},
		{"validity", product("validity_months", 0, "status", "PAUSED"), "status", "invalid"},
		{"validity too long", product("validity_months", 121), "validity_months", "out_of_range"},
		{"negative limit", product("card_limit", -1), "card_limit", "out_of_range"},
		{"spending control", product("spending_controls", []map[string]any{{"interval": "HOURLY", "amount": 1}}), "spending_controls[0].interval", "invalid"},
		{"risk control", product("risk_controls", map[string]any{"blocked_mcc": []string{"59"}}), "risk_controls.blocked_mcc[0]", "invalid"},
		{"cardholder field", product("required_cardholder_fields", []string{"email", "shoe_size"}), "required_cardholder_fields[1]", "invalid"},
		{"missing layout", product("layout_id", ""), "layout_id", "required"},
		{"CVV2 policy", product("cvv2_policy", "SOMETIMES"), "cvv2_policy", "invalid"},
		{"CVV2 policy in lower case", product("cvv2_policy", "if_present"), "cvv2_policy", "invalid"},
		{"CVV2 tries above 99", product("cvv2_max_tries", 100), "cvv2_max_tries", "out_of_range"},
		{"negative CVV2 tries", product("cvv2_max_tries", -1), "cvv2_max_tries", "out_of_range"},
	})

	// References to objects the tenant does not have: 404 with a slug.
	b, bKey := newTenantKey(t, e, "Other Issuer")
	bo := createCatalog(t, e, bKey, newCatalogKeys(t, e, b.ID))
	for _, tc := range []struct {
		name, field, id, slug string
	}{
		{"another tenant's layout", "layout_id", bo.layout, "layout_not_found"},
		{"another tenant's template", "data_prep_template_id", bo.template, "template_not_found"},
		{"another tenant's embosser", "default_embosser_id", bo.embosser, "embosser_not_found"},
		{"malformed template id", "data_prep_template_id", "nope", "template_not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/v1/card-products", product(tc.field, tc.id))
			if r.Status != 404 || r.problem(t).Slug != tc.slug {
				t.Fatalf("%d %s, want 404 %s", r.Status, r.Body, tc.slug)
			}
		})
	}
}

// newTenantKey creates another tenant and returns it with its API key.
func newTenantKey(t *testing.T, e *env, name string) (issuance.Tenant, string) {
	t.Helper()
	ten, key, err := e.svc.CreateTenant(context.Background(), name, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ten, key
}

func TestCatalogTenantIsolation(t *testing.T) {
	e := newEnv(t, withCatalog(t))
	o := createCatalog(t, e, e.key, newCatalogKeys(t, e, e.tenant.ID))
	var ch struct {
		ID string `json:"cardholder_id"`
	}
	mustStatus(t, e.do("POST", "/v1/cardholders", map[string]any{"first_name": "Ana", "last_name": "Silva"}), 201).JSON(t, &ch)
	_, bKey := newTenantKey(t, e, "Other Issuer")
	for _, path := range []string{
		"/v1/data-prep-templates/" + o.template, "/v1/embossers/" + o.embosser, "/v1/card-layouts/" + o.layout,
		"/v1/card-products/" + o.product, "/v1/cardholders/" + ch.ID,
	} {
		if r := e.doKey(bKey, "GET", path, nil); r.Status != 404 || r.problem(t).Slug != "not_found" {
			t.Errorf("GET %s as another tenant: %d %s", path, r.Status, r.Body)
		}
	}
	if r := e.doKey(bKey, "PATCH", "/v1/card-products/"+o.product, map[string]any{"name": "mine"}); r.Status != 404 {
		t.Errorf("PATCH another tenant's product: %d", r.Status)
	}
	if r := e.doKey(bKey, "PATCH", "/v1/cardholders/"+ch.ID, map[string]any{"first_name": "Eve"}); r.Status != 404 {
		t.Errorf("PATCH another tenant's cardholder: %d", r.Status)
	}
	if r := e.doKey(bKey, "POST", "/v1/simulator/cardholders/"+ch.ID+"/verify", nil); r.Status != 404 {
		t.Errorf("verifying another tenant's cardholder: %d", r.Status)
	}
	for _, path := range []string{"/v1/data-prep-templates", "/v1/embossers", "/v1/card-layouts", "/v1/card-products", "/v1/cardholders"} {
		var list struct {
			Data    []map[string]any `json:"data"`
			HasMore bool             `json:"has_more"`
		}
		mustStatus(t, e.doKey(bKey, "GET", path, nil), 200).JSON(t, &list)
		if list.Data == nil || len(list.Data) != 0 || list.HasMore {
			t.Errorf("GET %s as another tenant: %+v", path, list)
		}
	}
}

func TestCatalogIdempotencyAndPagination(t *testing.T) {
	e := newEnv(t, withCatalog(t))
	body := map[string]any{"layout": "gold-v2", "name": "Gold"}
	first := mustStatus(t, e.do("POST", "/v1/card-layouts", body, "Idempotency-Key", "layout-1"), 201)
	again := mustStatus(t, e.do("POST", "/v1/card-layouts", body, "Idempotency-Key", "layout-1"), 201)
	if again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(first.Body) {
		t.Fatalf("replay: %q %s", again.Header.Get("Idempotent-Replayed"), again.Body)
	}
	for i := range 4 {
		mustStatus(t, e.do("POST", "/v1/card-layouts", map[string]any{"layout": fmt.Sprintf("l-%d", i)}), 201)
		time.Sleep(2 * time.Millisecond) // distinct millisecond ids
	}
	type page struct {
		Data []struct {
			ID     string `json:"layout_id"`
			Layout string `json:"layout"`
		} `json:"data"`
		HasMore bool `json:"has_more"`
	}
	var seen []string
	path := "/v1/card-layouts?limit=2"
	for {
		var p page
		mustStatus(t, e.do("GET", path, nil), 200).JSON(t, &p)
		for _, l := range p.Data {
			seen = append(seen, l.Layout)
		}
		if !p.HasMore {
			break
		}
		path = "/v1/card-layouts?limit=2&starting_after=" + p.Data[len(p.Data)-1].ID
	}
	want := []string{"l-3", "l-2", "l-1", "l-0", "gold-v2"}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("pages %v, want %v (newest first, replay created nothing)", seen, want)
	}
	fieldError(t, e.do("GET", "/v1/card-layouts?limit=0", nil), "limit", "out_of_range")
	fieldError(t, e.do("GET", "/v1/card-layouts?limit=101", nil), "limit", "out_of_range")
	fieldError(t, e.do("GET", "/v1/card-layouts?limit=ten", nil), "limit", "out_of_range")
	fieldError(t, e.do("GET", "/v1/card-layouts?starting_after=prd_01ARZ3NDEKTSV4RRFFQ69G5FAV", nil), "starting_after", "invalid")
}

func TestCardholders(t *testing.T) {
	e := newEnv(t, withCatalog(t))
	adult := time.Now().AddDate(-30, 0, 0).Format(time.DateOnly)
	minor := time.Now().AddDate(-17, 0, 0).Format(time.DateOnly)
	var ch issuance.Cardholder
	mustStatus(t, e.do("POST", "/v1/cardholders", map[string]any{
		"first_name": "João", "last_name": "da Silva", "email": "joao@example.com", "phone": "+5511912345678",
		"birth_date": adult, "nationality": "br",
		"address": map[string]any{"line1": "Av. Paulista 1000", "city": "São Paulo", "country": "br", "postal_code": "01310-100"},
	}), 201).JSON(t, &ch)
	if ch.KYCStatus != "PENDING" || ch.Nationality != "BR" || ch.Address == nil || ch.Address.Country != "BR" || ch.BirthDate != adult {
		t.Fatalf("created: %+v", ch)
	}
	fieldCases(t, e, "/v1/cardholders", []fieldCase{
		{"underage", map[string]any{"first_name": "A", "last_name": "B", "birth_date": minor}, "birth_date", "underage"},
		{"bad date", map[string]any{"first_name": "A", "last_name": "B", "birth_date": "01/02/1990"}, "birth_date", "invalid"},
		{"phone not E.164", map[string]any{"first_name": "A", "last_name": "B", "phone": "11912345678"}, "phone", "invalid"},
		{"email", map[string]any{"first_name": "A", "last_name": "B", "email": "Ana <ana@example.com>"}, "email", "invalid"},
		{"nationality", map[string]any{"first_name": "A", "last_name": "B", "nationality": "XX"}, "nationality", "invalid"},
		{"name with digits", map[string]any{"first_name": "R2D2", "last_name": "B"}, "first_name", "invalid"},
		{"missing last name", map[string]any{"first_name": "A"}, "last_name", "invalid"},
		{"address without city", map[string]any{"first_name": "A", "last_name": "B", "address": map[string]any{"line1": "x", "country": "US"}}, "address.city", "required"},
	})

	// KYC by the sandbox simulator; an identity change sends it back.
	var v issuance.Cardholder
	mustStatus(t, e.do("POST", "/v1/simulator/cardholders/"+ch.ID+"/verify", nil), 200).JSON(t, &v)
	if v.KYCStatus != "VERIFIED" {
		t.Fatalf("after verify: %s", v.KYCStatus)
	}
	var p issuance.Cardholder
	mustStatus(t, e.do("PATCH", "/v1/cardholders/"+ch.ID, map[string]any{"email": "new@example.com"}), 200).JSON(t, &p)
	if p.KYCStatus != "VERIFIED" || p.Email != "new@example.com" || p.FirstName != "João" {
		t.Fatalf("contact change: %+v", p)
	}
	p = issuance.Cardholder{} // absent (omitempty) fields must not keep old values
	mustStatus(t, e.do("PATCH", "/v1/cardholders/"+ch.ID, []byte(`{"last_name":"Souza","address":null,"phone":""}`)), 200).JSON(t, &p)
	if p.KYCStatus != "PENDING" || p.LastName != "Souza" || p.Address != nil || p.Phone != "" {
		t.Fatalf("identity change: %+v", p)
	}
	fieldError(t, e.do("PATCH", "/v1/cardholders/"+ch.ID, map[string]any{"birth_date": minor}), "birth_date", "underage")
	mustStatus(t, e.do("POST", "/v1/simulator/cardholders/"+ch.ID+"/reject", nil), 200).JSON(t, &p)
	if p.KYCStatus != "REJECTED" {
		t.Fatalf("after reject: %s", p.KYCStatus)
	}
	var other issuance.Cardholder
	mustStatus(t, e.do("POST", "/v1/cardholders", map[string]any{"first_name": "Ana", "last_name": "Lima"}), 201).JSON(t, &other)
	var list struct{ Data []issuance.Cardholder }
	mustStatus(t, e.do("GET", "/v1/cardholders?kyc_status=REJECTED", nil), 200).JSON(t, &list)
	if len(list.Data) != 1 || list.Data[0].ID != ch.ID {
		t.Fatalf("REJECTED cardholders: %+v", list.Data)
	}
	mustStatus(t, e.do("GET", "/v1/cardholders?kyc_status=PENDING", nil), 200).JSON(t, &list)
	if len(list.Data) != 1 || list.Data[0].ID != other.ID {
		t.Fatalf("PENDING cardholders: %+v", list.Data)
	}
}

func TestKYCSimulatorIsSandboxOnly(t *testing.T) {
	e := newEnv(t, withCatalog(t), func(c *rest.Config, _ *issuance.Deps) { c.Sandbox = false })
	prod, key, err := e.svc.CreateTenant(context.Background(), "Production Issuer", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = prod
	var ch issuance.Cardholder
	mustStatus(t, e.doKey(key, "POST", "/v1/cardholders", map[string]any{"first_name": "Ana", "last_name": "Lima"}), 201).JSON(t, &ch)
	r := e.doKey(key, "POST", "/v1/simulator/cardholders/"+ch.ID+"/verify", nil)
	if r.Status != http.StatusForbidden || r.problem(t).Slug != "sandbox_only" {
		t.Fatalf("simulator outside sandbox: %d %s", r.Status, r.Body)
	}
}

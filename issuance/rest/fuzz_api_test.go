package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/softhsm"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/catalog"
	"github.com/cardhost/cardhost/issuance/rest"
)

// fuzzEnv is the REST app over a real PostgreSQL schema and a software
// HSM, with one tenant whose catalog (template, embosser, layout, product),
// cardholder and card exist, called in memory (fiber's App.Test).
type fuzzEnv struct {
	app interface {
		Test(*http.Request, ...int) (*http.Response, error)
	}
	key  string
	ids  map[string]string // {card}, {product}, {cardholder}, ... -> ids
	keys map[string]string // {imk_ac}, {cvk}, ... -> HSM key references
}

func newFuzzEnv(tb testing.TB) *fuzzEnv {
	tb.Helper()
	ctx := context.Background()
	db, hsm := newStore(tb)
	gen := func(typ emv.KeyType, tenant string) string {
		info, err := hsm.GenerateKey(ctx, softhsm.KeyRequest{Type: typ, Tenant: tenant})
		if err != nil {
			tb.Fatal(err)
		}
		return info.Ref
	}
	srv, svc, _ := newServer(tb, rest.Config{Sandbox: true, Version: "fuzz", RateLimit: -1}, db, issuance.Deps{Tenants: db, Catalog: db, Cards: db, Vault: hsm, Sandbox: true,
		Keys: issuance.SystemKeys{PANDEK: gen(emv.KeyPANDEK, ""), PANIndex: gen(emv.KeyPANIDX, ""), CA: gen(emv.KeyCA, ""), ECDH: gen(emv.KeyECDH, "")}})
	tenant, key, err := svc.CreateTenant(ctx, "Fuzz Issuer", true, []string{issuance.ScopeReveal})
	if err != nil {
		tb.Fatal(err)
	}
	// The operator's BIN range for the template's IIN and the imported PAN.
	if _, err := catalog.New(issuance.Deps{Catalog: db}).AssignBINRange(ctx, tenant.ID, "400000"); err != nil {
		tb.Fatal(err)
	}
	e := &fuzzEnv{app: srv.App(), key: key, ids: map[string]string{}, keys: map[string]string{}}
	for name, typ := range map[string]emv.KeyType{"imk_ac": emv.KeyIMKAC, "imk_smi": emv.KeyIMKSMI, "imk_smc": emv.KeyIMKSMC,
		"cvk": emv.KeyCVK, "pvk": emv.KeyPVK, "kek": emv.KeyKEK} {
		e.keys["{"+name+"}"] = gen(typ, tenant.ID)
	}
	create := func(path, body, idField, name string) {
		tb.Helper()
		status, _, out := e.do("POST", path, []byte(e.expand(body)))
		if status != http.StatusCreated {
			tb.Fatalf("setting up %s: %d %s", path, status, out)
		}
		var v map[string]any
		_ = json.Unmarshal(out, &v)
		id, _ := v[idField].(string)
		if id == "" {
			tb.Fatalf("setting up %s: no %s in %s", path, idField, out)
		}
		e.ids["{"+name+"}"] = id
	}
	create("/v1/data-prep-templates", fuzzTemplate, "id", "template")
	create("/v1/embossers", `{"name":"Loopback","transport_key_reference":"{kek}"}`, "id", "embosser")
	create("/v1/card-layouts", `{"layout":"standard-blue-v1"}`, "layout_id", "layout")
	create("/v1/card-products", fuzzProduct, "product_id", "product")
	create("/v1/cardholders", `{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com"}`, "cardholder_id", "cardholder")
	create("/v1/cards", `{"product_id":"{product}","card_holder_name":"Ada Lovelace"}`, "card_id", "card")
	return e
}

const (
	fuzzTemplate = `{"name":"Visa CVN 18","network":"VISA","iin":"40000018","cvn":18,"aid":"A0000000031010","service_code":"201",
		"imk_ac_key_reference":"{imk_ac}","imk_smi_key_reference":"{imk_smi}","imk_smc_key_reference":"{imk_smc}",
		"cvk_key_reference":"{cvk}","pvk_key_reference":"{pvk}"}`
	fuzzProduct = `{"name":"Classic","layout_id":"{layout}","data_prep_template_id":"{template}","default_embosser_id":"{embosser}",
		"currency":"USD","card_type":"VIRTUAL","card_limit":100000,"spending_controls":[{"amount":5000,"interval":"DAILY"}],
		"risk_controls":{"blocked_mcc":["7995"],"allowed_countries":["US"]}}`
)

// expand replaces {name} placeholders with the env's ids and key
// references.
func (e *fuzzEnv) expand(s string) string {
	for _, m := range []map[string]string{e.ids, e.keys} {
		for k, v := range m {
			s = strings.ReplaceAll(s, k, v)
		}
	}
	return s
}

// do calls the app in memory with the tenant's key and a JSON body.
func (e *fuzzEnv) do(method, path string, body []byte) (int, http.Header, []byte) {
	req, _ := http.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.app.Test(req, -1)
	if err != nil {
		return 0, nil, []byte(err.Error())
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

// fuzzRoutes are the JSON endpoints fuzzed, with a valid body each as a
// seed. Placeholders name the env's objects. (PUT /v1/tenant/signing-key
// is left out: once a key is registered every later request would need a
// signature and stop at 401.)
var fuzzRoutes = []struct{ method, path, seed string }{
	{"POST", "/v1/api-keys", `{"name":"fuzz","scopes":["reveal"]}`},
	{"POST", "/v1/data-prep-templates", fuzzTemplate},
	{"POST", "/v1/embossers", `{"name":"Loopback 2","transport_key_reference":"{kek}","manual_issue":true}`},
	{"POST", "/v1/card-layouts", `{"layout":"standard-red-v2"}`},
	{"POST", "/v1/card-products", fuzzProduct},
	{"PATCH", "/v1/card-products/{product}", `{"description":"updated","card_limit":200000}`},
	{"POST", "/v1/cardholders", `{"first_name":"Grace","last_name":"Hopper","email":"grace@example.com"}`},
	{"PATCH", "/v1/cardholders/{cardholder}", `{"email":"ada@example.org"}`},
	{"POST", "/v1/cards", `{"product_id":"{product}","card_holder_name":"Grace Hopper","reference_id":"R-1","metadata":{"k":"v"},
		"spending_controls":[{"amount":100,"interval":"PER_TRANSACTION","mcc":["5411"]}],"usage_type":"ONE_TIME","auto_cancel_trigger":"ON_AUTH"}`},
	{"PATCH", "/v1/cards/{card}", `{"card_limit":5000,"risk_controls":{"allowed_mcc":["5411"],"channels":{"ecommerce":true}},"metadata":null}`},
	{"POST", "/v1/cards/{card}/freeze", `{"reason":"customer request"}`},
	{"POST", "/v1/cards/{card}/unfreeze", `{}`},
	{"POST", "/v1/cards/import", `{"product_id":"{product}","pan":"4000001800000010","expiry":"2812","psn":"01","network":"VISA","cvn":18,
		"imk_ac_key_reference":"{imk_ac}","cvk_key_reference":"{cvk}","pvk_key_reference":"{pvk}","pin_method":"PVV","pvki":"1","pvv":"1234"}`},
	{"POST", "/v1/card-batches", `{"request_id":"batch-1","card_batch_info":[{"product_id":"{product}","card_holder_name":"Batch One"}]}`},
	// GET: the input is a query parameter's value ({q}, URL-escaped).
	{"GET", "/v1/cards?reference_id={q}&limit=2", "R-1"},
	{"GET", "/v1/cards?product_id={q}&cardholder_id={q}&last4={q}", "{product}"},
	{"GET", "/v1/cards?status={q}&starting_after={q}", "ACTIVE"},
	{"GET", "/v1/card-products?status={q}&limit={q}", "ACTIVE"},
	{"GET", "/v1/cardholders?kyc_status={q}", "PENDING"},
	{"GET", "/v1/orders?status={q}&card_id={q}&batch_id={q}", "completed"},
	{"POST", "/v1/certificates", `{"certificate_request_pem":"-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"}`},
}

// FuzzJSONHandlers sends arbitrary bodies to the JSON endpoints of the
// real REST app (real PostgreSQL store, software HSM; route chosen by the
// first input), and arbitrary query parameter values to its list
// endpoints. Seeds are a valid input per route and broken ones (NUL
// characters, deep nesting, huge numbers, invalid UTF-8).
// Whatever the body, the answer must be a 2xx with a JSON body or a 4xx
// problem+json with a slug and its own status: never a 5xx, never a
// panic (which the recover middleware would turn into a 500).
func FuzzJSONHandlers(f *testing.F) {
	for i, r := range fuzzRoutes {
		f.Add(uint8(i), []byte(r.seed))
	}
	for _, broken := range []string{``, `{`, `null`, `[]`, `{"a":1}`, `"x"`, `{"name":"\u0000"}`, `{"name":"` + strings.Repeat("é", 300) + `"}`,
		`{"card_limit":-1}`, `{"card_limit":1e400}`, `{"metadata":{"k":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}}`} {
		f.Add(uint8(len(broken)), []byte(broken))
	}
	for i, b := range []string{
		`{"scopes":["\u0000"]}`, "", "", "", "",
		`{"description":"a\u0000b"}`, `{"first_name":"A\u0000","last_name":"B","email":"a@b.co"}`, `{"first_name":"\u0000"}`,
		`{"product_id":"{product}","card_holder_name":"Ada Lovelace","reference_id":"R\u0000","metadata":{"k":"\u0000"}}`,
		`{"metadata":{"\u0000":1}}`, `{"reason":"\u0000"}`, `{"reason":"` + strings.Repeat("x", 5000) + `"}`,
	} {
		if b != "" {
			f.Add(uint8(i), []byte(b))
		}
	}
	for i, r := range fuzzRoutes {
		if r.method == "GET" {
			for _, q := range []string{"R\x00", "\x00", "\xff\xfe", "%", "' OR 1=1 --", strings.Repeat("9", 40)} {
				f.Add(uint8(i), []byte(q))
			}
		}
	}
	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		path, in := e.expand(r.path), []byte(e.expand(string(body)))
		if r.method == "GET" {
			// At most 1,000 bytes per value: a URL over the server's 16 KiB
			// header buffer is refused (431) by the HTTP layer, which
			// App.Test reports as an error instead.
			in = in[:min(len(in), 1000)]
			path, in = strings.ReplaceAll(path, "{q}", url.QueryEscape(string(in))), nil
		}
		start := time.Now()
		status, h, out := e.do(r.method, path, in)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("%s %s took %v (%d)", r.method, r.path, d, status)
		}
		switch {
		case status >= 200 && status < 300:
			if !json.Valid(out) {
				t.Fatalf("%s %s: %d with a body that is not JSON: %q", r.method, r.path, status, out)
			}
		case status >= 400 && status < 500:
			if ct := h.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("%s %s: %d with content type %q: %s", r.method, r.path, status, ct, out)
			}
			var p rest.Problem
			if err := json.Unmarshal(out, &p); err != nil || p.Slug == "" || p.Status != status {
				t.Fatalf("%s %s: %d with problem %s (%v)", r.method, r.path, status, out, err)
			}
		default:
			t.Fatalf("%s %s with body %q: %d %s", r.method, r.path, body, status, out)
		}
	})
}

package seedwalk

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

const goodWalk = `seed: qpay
guide: 000.txt
title: QPay
tenant: sandbox
setup:
  - name: keys
    method: GET
    path: /v1/data-prep-templates
    expect: {status: 200}
    capture:
      imk: data[0].imk_ac_key_reference
steps:
  - name: Step 1
    method: POST
    path: /issuer/certificates
    headers: {Idempotency-Key: "${uuid:one}"}
    body:
      certificate_request_pem: ${csr}
      key: ${imk}
    expect:
      status: 201
      equal: {certificate_id: "${imk}"}
      present: [hsm_key_reference]
    capture:
      ref: hsm_key_reference
  - name: Step 2
    method: GET
    path: /issuer/cards/${ref}
    eventually: 5s
    pending: issue 99
    expect: {status: 200}
`

func TestParseWalk(t *testing.T) {
	w, err := ParseWalk("good.yaml", []byte(goodWalk))
	if err != nil {
		t.Fatal(err)
	}
	if w.Seed != "qpay" || len(w.Setup) != 1 || len(w.Steps) != 2 || !w.Setup[0].Native || w.Steps[0].Native {
		t.Fatalf("parsed %+v", w)
	}
	s := w.Steps[0]
	if s.Line != 13 || s.Expect.Status != 201 || len(s.Headers) != 1 || s.Headers[0].Value != "${uuid:one}" ||
		len(s.Capture) != 1 || s.Capture[0].Var != "ref" || w.Steps[1].Eventually.Seconds() != 5 || w.Steps[1].Pending != "issue 99" || s.Pending != "" {
		t.Fatalf("step 1 parsed as %+v", s)
	}
}

// TestParseWalkRefusesMalformedFiles: every mistake is named with its
// line, all of them at once.
func TestParseWalkRefusesMalformedFiles(t *testing.T) {
	edit := func(old, new string) string {
		if !strings.Contains(goodWalk, old) {
			t.Fatalf("the good walk has no %q", old)
		}
		return strings.Replace(goodWalk, old, new, 1)
	}
	cases := []struct {
		name, file string
		want       []string // "line:message part"
	}{
		{"not YAML", "seed: [qpay\n", []string{"1:not valid YAML"}},
		{"empty", "", []string{"1:empty walk file"}},
		{"unknown top key", edit("title: QPay\n", "title: QPay\ntitel: x\n"), []string{`4:walk: unknown key "titel"`}},
		{"missing required", edit("tenant: sandbox\n", ""), []string{`1:walk: "tenant" is required`}},
		{"bad tenant", edit("tenant: sandbox", "tenant: mine"), []string{"1:tenant: want sandbox or new"}},
		{"bad signing", edit("tenant: sandbox", "tenant: sandbox\nsigning: rsa"), []string{"1:signing: want ecdsa-p384"}},
		{"unknown step key", edit("    eventually: 5s", "    eventualy: 5s"), []string{`29:steps step: unknown key "eventualy"`}},
		{"key twice", edit("    method: GET\n    path: /issuer", "    method: GET\n    method: GET\n    path: /issuer"), []string{`28:steps step: key "method" given twice`}},
		{"bad method", edit("    method: POST", "    method: FETCH"), []string{`13:step "Step 1": method: want GET`}},
		{"relative path", edit("path: /issuer/certificates", "path: issuer/certificates"), []string{`13:step "Step 1": path: want a path starting with /`}},
		{"no status", edit("    expect: {status: 200}\n", "    expect: {present: [a]}\n"), []string{`9:expect: "status" is required`, `6:step "keys": expect.status is required`}},
		{"status as text", edit("status: 201", "status: created"), []string{"21:expect.status: want an HTTP status"}},
		{"unknown expect key", edit("      present: [hsm_key_reference]", "      contains: [hsm_key_reference]"), []string{`23:expect: unknown key "contains"`}},
		{"bad regex", edit("      present: [hsm_key_reference]", "      match: {card_id: \"^(crd\"}"), []string{"23:expect.match card_id: error parsing regexp"}},
		{"bad path", edit("      ref: hsm_key_reference", "      ref: data[x"), []string{"25:capture ref: path \"data[x\": [ without ]"}},
		{"bad variable name", edit("      ref: hsm_key_reference", "      Ref-1: hsm_key_reference"), []string{`25:capture: "Ref-1" is not a variable name`}},
		{"variable before capture", edit("path: /issuer/cards/${ref}", "path: /issuer/cards/${reff}"), []string{"28:${reff}: no earlier step captures reff"}},
		{"variable used before it is captured", edit("key: ${imk}", "key: ${ref}"), []string{"19:${ref}: no earlier step captures ref"}},
		{"absent path names an unset variable", edit("      present: [hsm_key_reference]", "      absent: [\"${nope}\"]"), []string{"20:${nope}: no earlier step captures nope"}},
		{"unknown generator", edit("${uuid:one}", "${guid:one}"), []string{`16:${guid:one}: unknown generator "guid"`}},
		{"bad time offset", edit("${uuid:one}", "${time:90d}"), []string{"16:${time:90d}: want an offset"}},
		{"pin block without the HSM key", edit("${uuid:one}", "${pin_block:format4:1234}"), []string{"16:${pin_block:format4:1234}: no earlier step captures hsm_public_key_pem"}},
		{"eventually too long", edit("eventually: 5s", "eventually: 5m"), []string{"29:eventually: want a duration from 1ms to 30s"}},
		{"cli in steps", edit("  - name: Step 2\n    method: GET\n    path: /issuer/cards/${ref}\n    eventually: 5s\n    pending: issue 99\n    expect: {status: 200}\n", "  - name: Step 2\n    cli: [tenants, list]\n"), []string{`27:step "Step 2": cli commands belong in setup`}},
		{"setup not native", edit("  - name: keys\n", "  - name: keys\n    native: false\n"), []string{`6:setup step "keys": setup steps use cardhost's own API`}},
		{"steps not a list", "seed: qpay\nguide: g\ntitle: t\ntenant: new\nsteps: {a: b}\n", []string{"5:steps: want a list of steps, got a mapping"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseWalk("bad.yaml", []byte(tc.file))
			var we *WalkError
			if !errors.As(err, &we) {
				t.Fatalf("err = %v, want a *WalkError", err)
			}
			for _, want := range tc.want {
				line, msg, _ := strings.Cut(want, ":")
				if !strings.Contains(err.Error(), "bad.yaml:"+line+":") || !hasError(we, line, msg) {
					t.Errorf("errors:\n%v\nwant one at line %s saying %q", err, line, msg)
				}
			}
		})
	}
}

func hasError(we *WalkError, line, msg string) bool {
	for _, e := range we.Errors {
		if strings.Contains(e.Msg, msg) && strconv.Itoa(e.Line) == line {
			return true
		}
	}
	return false
}

func TestParseMappingRefusesMalformedFiles(t *testing.T) {
	cases := []struct{ name, file, want string }{
		{"bad guide", "qpay:\n  - guide: POST issuer\n    native: POST /v1/cards\n", "2:guide: want METHOD /path"},
		{"native outside v1", "qpay:\n  - guide: POST /issuer\n    native: POST /cards\n", "2:native: want METHOD /v1/path"},
		{"twice", "qpay:\n  - guide: POST /a\n    native: POST /v1/a\n  - guide: POST /a\n    native: POST /v1/b\n", `4:qpay: "POST /a" is mapped twice (first on line 2)`},
		{"unknown key", "qpay:\n  - guide: POST /a\n    native: POST /v1/a\n    nat: x\n", `4:qpay route: unknown key "nat"`},
		{"param from nowhere", "qpay:\n  - guide: GET /a\n    native: GET /v1/a/{id}\n", "2:native: {id} comes neither from the guide path nor from body_to_path"},
		{"path_to_body of no parameter", "qpay:\n  - guide: POST /a/{x}\n    native: POST /v1/a\n    path_to_body: {y: z}\n", `2:path_to_body: "y" is not a parameter`},
		{"not a list", "qpay: {guide: x}\n", "1:qpay: want a list of routes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseMapping("paths.yaml", []byte(tc.file))
			var we *WalkError
			line, msg, _ := strings.Cut(tc.want, ":")
			if !errors.As(err, &we) || !hasError(we, line, msg) {
				t.Fatalf("err = %v, want one at line %s saying %q", err, line, msg)
			}
		})
	}
}

func TestMappingApply(t *testing.T) {
	m, err := ParseMapping("paths.yaml", []byte(`offblocks:
  - guide: POST /accounts/{accountId}/cards
    native: POST /v1/cards
    path_to_body: {accountId: cardholder_id}
    add_body: {product_id: product_id}
pismo:
  - guide: POST /wallet/v2/cards
    native: POST /v1/cards
    header_to_body: {x-customer-id: cardholder_id}
pintopay:
  - guide: POST /api/v1/orders/check
    native: GET /v1/orders/{order_id}
    body_to_path: [order_id]
`))
	if err != nil {
		t.Fatal(err)
	}
	vars := func(n string) (string, bool) { return map[string]string{"product_id": "prd_1"}[n], n == "product_id" }
	noHeader := func(string) string { return "" }
	cases := []struct {
		seed, method, path, body string
		header                   func(string) string
		wantMethod, wantPath     string
		wantBody                 string
	}{
		{"offblocks", "POST", "/accounts/chd_9/cards", `{"type":"VIRTUAL"}`, noHeader, "POST", "/v1/cards", `{"cardholder_id":"chd_9","product_id":"prd_1","type":"VIRTUAL"}`},
		{"offblocks", "POST", "/accounts/chd_9/cards", `{"type":"VIRTUAL","product_id":"prd_2"}`, noHeader, "POST", "/v1/cards", `{"cardholder_id":"chd_9","product_id":"prd_2","type":"VIRTUAL"}`},
		{"pismo", "POST", "/wallet/v2/cards", `{"type":"PLASTIC"}`, func(h string) string { return map[string]string{"x-customer-id": "chd_3"}[h] }, "POST", "/v1/cards", `{"cardholder_id":"chd_3","type":"PLASTIC"}`},
		{"pintopay", "POST", "/api/v1/orders/check", `{"order_id":"ord_5"}`, noHeader, "GET", "/v1/orders/ord_5", ``},
	}
	for _, tc := range cases {
		r, params, err := m.Find(tc.seed, tc.method, tc.path)
		if err != nil {
			t.Fatal(err)
		}
		method, path, body, err := r.Apply(tc.path, params, []byte(tc.body), tc.header, vars)
		if err != nil || method != tc.wantMethod || path != tc.wantPath || string(body) != tc.wantBody {
			t.Errorf("%s %s %s -> %s %s %s (%v), want %s %s %s", tc.seed, tc.method, tc.path, method, path, body, err, tc.wantMethod, tc.wantPath, tc.wantBody)
		}
	}
	if _, _, err := m.Find("offblocks", "GET", "/accounts/x/cards"); err == nil || !strings.Contains(err.Error(), "no mapping for GET /accounts/x/cards") {
		t.Errorf("an unmapped route: %v", err)
	}
	r, params, _ := m.Find("pintopay", "POST", "/api/v1/orders/check")
	if _, _, _, err := r.Apply("/api/v1/orders/check", params, []byte(`{}`), noHeader, vars); err == nil || !strings.Contains(err.Error(), "the body has no order_id") {
		t.Errorf("body_to_path without the field: %v", err)
	}
}

func TestLookup(t *testing.T) {
	v, err := decodeJSON([]byte(`{"data":[{"name":"Visa","id":"tpl_1","n":1},{"name":"UnionPay Classic","id":"tpl_2","n":2}],"errors":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path string
		want string
		ok   bool
	}{
		{"data[name=UnionPay Classic].id", "tpl_2", true},
		{"data[n=1].id", "tpl_1", true},
		{"data[1].name", "UnionPay Classic", true},
		{"data[2].name", "", false},
		{"data[name=Amex].id", "", false},
		{"data.id", "", false},
		{"missing", "", false},
	}
	for _, tc := range cases {
		got, ok := Lookup(v, tc.path)
		if ok != tc.ok || scalarText(got) != tc.want {
			t.Errorf("Lookup(%q) = %v %v, want %q %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
	if x, ok := Lookup(v, "errors"); !ok || !jsonEqual(x, []any{}) {
		t.Errorf("errors = %v %v", x, ok)
	}
}

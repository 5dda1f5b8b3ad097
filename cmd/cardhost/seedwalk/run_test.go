package seedwalk

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestRunner runs a small walk against a stand-in server: the mapping
// rewrites the guide's path and body, captures feed later steps,
// eventually repeats a request until it holds, signed steps carry an RFC
// 9421 signature, and every unmet expectation is reported while later
// steps still run.
func TestRunner(t *testing.T) {
	var polls atomic.Int32
	type seen struct{ method, path, body, sig, digest, idem string }
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, seen{r.Method, r.URL.Path, string(b), r.Header.Get("Signature-Input"), r.Header.Get("Content-Digest"), r.Header.Get("Idempotency-Key")})
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "POST" && r.URL.Path == "/v1/cards":
			var in map[string]any
			json.Unmarshal(b, &in)
			w.WriteHeader(201)
			json.NewEncoder(w).Encode(map[string]any{"card_id": "crd_1", "cardholder_id": in["cardholder_id"], "type": in["type"], "errors": []any{}})
		case r.Method == "GET" && r.URL.Path == "/v1/cards/crd_1":
			status := "PROVISIONED"
			if polls.Add(1) >= 3 {
				status = "ACTIVE"
			}
			json.NewEncoder(w).Encode(map[string]any{"card_id": "crd_1", "status": status})
		default:
			w.WriteHeader(404)
			io.WriteString(w, `{"slug":"route_not_found"}`)
		}
	}))
	defer srv.Close()
	m, err := ParseMapping("paths.yaml", []byte(`offblocks:
  - guide: POST /accounts/{accountId}/cards
    native: POST /v1/cards
    path_to_body: {accountId: cardholder_id}
  - guide: GET /cards/{cardId}
    native: GET /v1/cards/{cardId}
`))
	if err != nil {
		t.Fatal(err)
	}
	w, err := ParseWalk("walk.yaml", []byte(`seed: offblocks
guide: g
title: t
tenant: new
signing: ecdsa-p384
steps:
  - name: create
    method: POST
    path: /accounts/chd_7/cards
    sign: true
    headers: {Idempotency-Key: "${uuid:a}"}
    body: {"type": "VIRTUAL"}
    expect:
      status: 201
      equal: {cardholder_id: chd_7, errors: []}
      match: {card_id: "^crd_"}
    capture: {card_id: card_id}
  - name: poll
    method: GET
    path: /cards/${card_id}
    eventually: 5s
    expect:
      status: 200
      equal: {status: ACTIVE}
  - name: a wrong expectation
    method: GET
    path: /cards/${card_id}
    expect:
      status: 200
      equal: {status: FROZEN}
      absent: [card_id]
  - name: a missing route
    method: GET
    path: /cards/${card_id}/nothing
    expect: {status: 200}
  - name: still runs
    method: GET
    path: /cards/${card_id}
    expect: {status: 200, present: [card_id]}
`))
	if err != nil {
		t.Fatal(err)
	}
	r := &Runner{Base: srv.URL, Key: "chk_test", Mapping: m}
	res := r.Run(context.Background(), w)
	pass := []bool{true, true, false, false, true}
	for i, x := range res {
		if x.Passed() != pass[i] {
			t.Errorf("step %d passed=%v, want %v: %s", i+1, x.Passed(), pass[i], x)
		}
	}
	if f := strings.Join(res[2].Failures, "\n"); !strings.Contains(f, `status is "ACTIVE", want "FROZEN"`) || !strings.Contains(f, "card_id is present, want it absent") {
		t.Errorf("step 3's failures: %s", f)
	}
	if f := strings.Join(res[3].Failures, "\n"); !strings.Contains(f, "offblocks has no mapping for GET /cards/crd_1/nothing") {
		t.Errorf("step 4's failures: %s", f)
	}
	if got[0].method != "POST" || got[0].path != "/v1/cards" || got[0].body != `{"cardholder_id":"chd_7","type":"VIRTUAL"}` ||
		!strings.Contains(got[0].sig, `"@method" "@path" "content-digest" "idempotency-key"`) || !strings.Contains(got[0].sig, `alg="ecdsa-p384-sha384"`) ||
		!strings.HasPrefix(got[0].digest, "sha-256=:") || len(got[0].idem) != 36 {
		t.Errorf("the create reached the server as %+v", got[0])
	}
	if polls.Load() < 3 {
		t.Errorf("the poll was sent %d times, want it repeated until ACTIVE", polls.Load())
	}
	if c := r.Captured(); c["card_id"] != "crd_1" || len(c) != 1 {
		t.Errorf("captured %v", c)
	}
}

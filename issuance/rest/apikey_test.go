package rest_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// keyAnswer is the JSON of an API key as the API shows it.
type keyAnswer struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Prefix string   `json:"prefix"`
	Scopes []string `json:"scopes"`
	Secret *string  `json:"secret"`
}

// createKey creates an API key with the given key's secret and returns it.
func (e *env) createKey(t *testing.T, with, name string, scopes []string, headers ...string) keyAnswer {
	t.Helper()
	var k keyAnswer
	mustStatus(t, e.doKey(with, "POST", "/v1/api-keys", map[string]any{"name": name, "scopes": scopes}, headers...), 201).JSON(t, &k)
	if k.Secret == nil || k.ID == "" {
		t.Fatalf("created key without id or secret: %+v", k)
	}
	return k
}

// listKeys returns the tenant's API keys.
func (e *env) listKeys(t *testing.T) []keyAnswer {
	t.Helper()
	var list struct{ Data []keyAnswer }
	mustStatus(t, e.do("GET", "/v1/api-keys", nil), 200).JSON(t, &list)
	return list.Data
}

// TestAPIKeyScopesAreHeld: a key creates keys only with scopes it holds
// itself (issue 12, point 7). A key without reveal cannot mint one with it.
func TestAPIKeyScopesAreHeld(t *testing.T) {
	e := newEnv(t) // e.key holds reveal
	plain := e.createKey(t, e.key, "reporting", []string{})
	withReveal := e.createKey(t, e.key, "support desk", []string{"reveal"})
	if len(withReveal.Scopes) != 1 || withReveal.Scopes[0] != "reveal" {
		t.Fatalf("a key with reveal minting reveal: scopes %v", withReveal.Scopes)
	}
	before := len(e.listKeys(t))

	for _, idem := range []string{"", "escalate-1"} {
		var headers []string
		if idem != "" {
			headers = []string{"Idempotency-Key", idem}
		}
		r := e.doKey(*plain.Secret, "POST", "/v1/api-keys", map[string]any{"name": "escalated", "scopes": []string{"reveal"}}, headers...)
		if r.Status != 403 {
			t.Fatalf("a key without reveal minting reveal (Idempotency-Key %q): %d %s, want 403", idem, r.Status, r.Body)
		}
		p := r.problem(t)
		if p.Slug != "scope_not_held" || len(p.Errors) != 1 || p.Errors[0].Field != "scopes[0]" || p.Errors[0].Code != "not_held" {
			t.Fatalf("problem %+v, want scope_not_held naming scopes[0]", p)
		}
		if strings.Contains(string(r.Body), "chk_") {
			t.Fatalf("the refusal holds a secret: %s", r.Body)
		}
	}
	if n := len(e.listKeys(t)); n != before {
		t.Fatalf("%d keys after the refused creations, want %d", n, before)
	}
	// Without reveal, it may still mint keys of its own scopes (none).
	e.createKey(t, *plain.Secret, "reporting 2", nil)
	// And a key minted by a key with reveal can mint reveal in turn.
	e.createKey(t, *withReveal.Secret, "support desk 2", []string{"reveal"})
}

// TestAPIKeyName: a key needs a name of 1-64 printable characters, shown
// in the create answer and in listings.
func TestAPIKeyName(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		body any
	}{
		{"missing", map[string]any{"scopes": []string{}}},
		{"empty", map[string]any{"name": ""}},
		{"blank", map[string]any{"name": "   "}},
		{"too long", map[string]any{"name": strings.Repeat("k", 65)}},
		{"control character", map[string]any{"name": "ci\tkey"}},
		{"not ASCII", map[string]any{"name": "chave de pagamento \u00e9"}},
		{"bidi override", map[string]any{"name": "key\u202egnp.exe"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/v1/api-keys", tc.body)
			if r.Status != 422 {
				t.Fatalf("%d %s, want 422", r.Status, r.Body)
			}
			p := r.problem(t)
			if p.Slug != "validation_failed" || len(p.Errors) != 1 || p.Errors[0].Field != "name" {
				t.Fatalf("problem %+v, want validation_failed naming name", p)
			}
		})
	}
	k := e.createKey(t, e.key, "  payments backend (prod) #1  ", nil)
	if k.Name != "payments backend (prod) #1" {
		t.Fatalf("created key named %q, want the name trimmed", k.Name)
	}
	long := e.createKey(t, e.key, strings.Repeat("k", 64), nil)
	found := map[string]string{}
	for _, l := range e.listKeys(t) {
		found[l.ID] = l.Name
		if l.Secret != nil {
			t.Fatalf("a listing shows a secret: %+v", l)
		}
	}
	if found[k.ID] != k.Name || found[long.ID] != long.Name {
		t.Fatalf("listing names %v, want %q and %q", found, k.Name, long.Name)
	}
	for id, name := range found {
		if name == "" {
			t.Fatalf("key %s has no name in the listing", id)
		}
	}
}

// TestAPIKeyReplayWithoutSecret: a key creation replayed with the same
// Idempotency-Key answers the key without its secret, and the idempotency
// table never holds the secret.
func TestAPIKeyReplayWithoutSecret(t *testing.T) {
	e := newEnv(t)
	first := e.do("POST", "/v1/api-keys", map[string]any{"name": "ci", "scopes": []string{"reveal"}}, "Idempotency-Key", "key-once")
	var k keyAnswer
	mustStatus(t, first, 201).JSON(t, &k)
	if k.Secret == nil || !strings.HasPrefix(*k.Secret, "chk_") {
		t.Fatalf("first answer without the secret: %s", first.Body)
	}
	again := mustStatus(t, e.do("POST", "/v1/api-keys", map[string]any{"name": "ci", "scopes": []string{"reveal"}}, "Idempotency-Key", "key-once"), 201)
	if again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay not marked: %v", again.Header)
	}
	var r keyAnswer
	again.JSON(t, &r)
	if r.Secret != nil || strings.Contains(string(again.Body), *k.Secret) || strings.Contains(string(again.Body), `"secret"`) {
		t.Fatalf("the replay hands out the secret: %s", again.Body)
	}
	if r.ID != k.ID || r.Name != "ci" || r.Prefix != k.Prefix {
		t.Fatalf("the replay %+v does not name the created key %+v", r, k)
	}
	// The replay's body is the first one without its secret.
	var firstMap, againMap map[string]any
	json.Unmarshal(first.Body, &firstMap)
	json.Unmarshal(again.Body, &againMap)
	delete(firstMap, "secret")
	if a, b := mustJSON(t, firstMap), mustJSON(t, againMap); a != b {
		t.Fatalf("replay %s, want the first answer without its secret %s", b, a)
	}
	var stored string
	if err := e.db.Pool().QueryRow(context.Background(), `SELECT coalesce(string_agg(convert_from(response_body, 'UTF8'), ' '), '') FROM idempotency_keys WHERE tenant_id = $1`, e.tenant.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stored, k.ID) {
		t.Fatalf("no stored answer for the key creation: %q", stored)
	}
	if strings.Contains(stored, *k.Secret) || strings.Contains(stored, `"secret"`) {
		t.Fatalf("the idempotency table holds the key's secret: %s", stored)
	}
	if n := len(e.listKeys(t)); n != 2 {
		t.Fatalf("%d keys, want 2 (the replay creates none)", n)
	}
	// The secret works; the replay did not change it.
	mustStatus(t, e.doKey(*k.Secret, "GET", "/v1/tenant", nil), 200)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

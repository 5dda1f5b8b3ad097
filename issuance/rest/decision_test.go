package rest_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// decisionEndpoint is the decision endpoint as the API answers it.
type decisionEndpoint struct {
	URL           string  `json:"url"`
	TimeoutMS     int     `json:"timeout_ms"`
	DefaultAction string  `json:"default_action"`
	Secret        *string `json:"secret"`
}

// TestAuthorizationDecisionAPI: PUT, GET and DELETE
// /v1/authorization-decision outside sandbox mode: the defaults (2000 ms,
// DECLINE); the first PUT answers the secret once (a replay without it,
// the idempotency table and the row never hold it in clear); a later PUT
// changes the settings and keeps the secret; bad URLs, timeouts and
// actions answer 422 at their field and change nothing; DELETE, then 404.
func TestAuthorizationDecisionAPI(t *testing.T) {
	ce := newCardEnv(t, withoutSandbox())
	if r := ce.do("GET", "/v1/authorization-decision", nil); r.Status != 404 {
		t.Fatalf("GET before any PUT: %d %s", r.Status, r.Body)
	}
	body := map[string]any{"url": "https://decide.issuer.example/cardhost"}
	first := ce.do("PUT", "/v1/authorization-decision", body, "Idempotency-Key", "decide-1")
	var d decisionEndpoint
	first.JSON(t, &d)
	if first.Status != 200 || d.Secret == nil || !strings.HasPrefix(*d.Secret, "whsec_") || d.TimeoutMS != 2000 || d.DefaultAction != "DECLINE" || d.URL != body["url"] {
		t.Fatalf("first PUT: %d %s", first.Status, first.Body)
	}
	secret := *d.Secret
	replay := ce.do("PUT", "/v1/authorization-decision", body, "Idempotency-Key", "decide-1")
	if replay.Status != 200 || replay.Header.Get("Idempotent-Replayed") != "true" || bytes.Contains(replay.Body, []byte(`"secret"`)) {
		t.Fatalf("replay: %d %s, want the endpoint without its secret", replay.Status, replay.Body)
	}
	var stored int
	if err := ce.db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM idempotency_keys WHERE position($1 in convert_from(response_body, 'UTF8')) > 0`,
		strings.TrimPrefix(secret, "whsec_")).Scan(&stored); err != nil || stored != 0 {
		t.Fatalf("the idempotency table holds the secret (%d rows, %v)", stored, err)
	}
	var sealed []byte
	if err := ce.db.Pool().QueryRow(context.Background(), `SELECT secret_sealed FROM authorization_decision_endpoints`).Scan(&sealed); err != nil ||
		bytes.Contains(sealed, []byte(secret)) || len(sealed) < 40 {
		t.Fatalf("the stored secret is not sealed (%d bytes, %v)", len(sealed), err)
	}

	var changed decisionEndpoint
	r := ce.do("PUT", "/v1/authorization-decision", map[string]any{"url": "https://decide2.issuer.example/x", "timeout_ms": 3000, "default_action": "APPROVE"})
	r.JSON(t, &changed)
	if r.Status != 200 || changed.Secret != nil || changed.TimeoutMS != 3000 || changed.DefaultAction != "APPROVE" {
		t.Fatalf("second PUT: %d %s, want the new settings and no secret", r.Status, r.Body)
	}
	var after []byte
	ce.db.Pool().QueryRow(context.Background(), `SELECT secret_sealed FROM authorization_decision_endpoints`).Scan(&after)
	if !bytes.Equal(after, sealed) {
		t.Fatal("a second PUT changed the secret")
	}

	before := ce.do("GET", "/v1/authorization-decision", nil)
	if before.Status != 200 || bytes.Contains(before.Body, []byte(`"secret"`)) || !bytes.Contains(before.Body, []byte("decide2")) {
		t.Fatalf("GET: %d %s", before.Status, before.Body)
	}
	for _, tc := range []struct {
		body        map[string]any
		field, code string
	}{
		{map[string]any{"url": "http://decide.issuer.example/x"}, "url", "https_required"},
		{map[string]any{"url": "https://127.0.0.1/x"}, "url", "address_refused"},
		{map[string]any{"url": "https://10.0.0.7/x"}, "url", "address_refused"},
		{map[string]any{"url": "https://localhost/x"}, "url", "address_refused"},
		{map[string]any{"url": "https://decide.issuer.example/x", "timeout_ms": 3001}, "timeout_ms", "out_of_range"},
		{map[string]any{"url": "https://decide.issuer.example/x", "timeout_ms": 0}, "timeout_ms", "out_of_range"},
		{map[string]any{"url": "https://decide.issuer.example/x", "default_action": "MAYBE"}, "default_action", "invalid"},
	} {
		r := ce.do("PUT", "/v1/authorization-decision", tc.body)
		if r.Status != 422 {
			t.Errorf("PUT %v: %d %s, want 422", tc.body, r.Status, r.Body)
			continue
		}
		if p := r.problem(t); p.Slug != "validation_failed" || len(p.Errors) == 0 || p.Errors[0].Field != tc.field || p.Errors[0].Code != tc.code {
			t.Errorf("PUT %v: %+v, want %s %s", tc.body, p, tc.field, tc.code)
		}
	}
	if now := ce.do("GET", "/v1/authorization-decision", nil); !bytes.Equal(now.Body, before.Body) {
		t.Fatalf("bad requests changed the endpoint:\n%s\n%s", before.Body, now.Body)
	}
	if r := ce.do("DELETE", "/v1/authorization-decision", nil); r.Status != 204 {
		t.Fatalf("DELETE: %d %s", r.Status, r.Body)
	}
	if r := ce.do("GET", "/v1/authorization-decision", nil); r.Status != 404 {
		t.Fatalf("GET after DELETE: %d %s", r.Status, r.Body)
	}
	if r := ce.do("DELETE", "/v1/authorization-decision", nil); r.Status != 404 {
		t.Fatalf("second DELETE: %d %s", r.Status, r.Body)
	}
}

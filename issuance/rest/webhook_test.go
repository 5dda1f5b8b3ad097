package rest_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// webhookEndpoint is an endpoint as the API answers it.
type webhookEndpoint struct {
	ID             string     `json:"id"`
	URL            string     `json:"url"`
	Description    string     `json:"description"`
	EventTypes     []string   `json:"event_types"`
	Disabled       bool       `json:"disabled"`
	DisabledReason string     `json:"disabled_reason"`
	PreviousUntil  *time.Time `json:"previous_secret_expires_at"`
	Secret         *string    `json:"secret"`
}

// TestWebhookEndpointsAPI: create (the secret in the answer only: a
// replay answers without it and the idempotency table never holds it),
// list and get without secrets, update, disable and enable, rotate (a new
// secret once, the old one signing for 24 h), delete.
func TestWebhookEndpointsAPI(t *testing.T) {
	ce := newCardEnv(t)
	body := map[string]any{"url": "https://hooks.issuer.example/cardhost?token=abc", "event_types": []string{"card.*", "authorization.approved", "card.*"}, "description": "ledger sync"}
	first := ce.do("POST", "/v1/webhook-endpoints", body, "Idempotency-Key", "hook-1")
	var ep webhookEndpoint
	first.JSON(t, &ep)
	if first.Status != 201 || ep.Secret == nil || !strings.HasPrefix(*ep.Secret, "whsec_") || !strings.HasPrefix(ep.ID, "whe_") ||
		strings.Join(ep.EventTypes, ",") != "card.*,authorization.approved" || ep.Disabled || ep.URL != body["url"] {
		t.Fatalf("create: %d %s", first.Status, first.Body)
	}
	secret := *ep.Secret
	replay := ce.do("POST", "/v1/webhook-endpoints", body, "Idempotency-Key", "hook-1")
	if replay.Status != 201 || replay.Header.Get("Idempotent-Replayed") != "true" || bytes.Contains(replay.Body, []byte(secret)) ||
		bytes.Contains(replay.Body, []byte(`"secret"`)) || !bytes.Contains(replay.Body, []byte(ep.ID)) {
		t.Fatalf("replay: %d %v %s, want the endpoint without its secret", replay.Status, replay.Header, replay.Body)
	}
	var stored int
	if err := ce.db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM idempotency_keys WHERE position($1 in convert_from(response_body, 'UTF8')) > 0`,
		strings.TrimPrefix(secret, "whsec_")).Scan(&stored); err != nil || stored != 0 {
		t.Fatalf("the idempotency table holds the secret (%d rows, %v)", stored, err)
	}
	var sealed []byte
	if err := ce.db.Pool().QueryRow(context.Background(), `SELECT secret_sealed FROM webhook_endpoints WHERE id = $1`, ep.ID).Scan(&sealed); err != nil ||
		bytes.Contains(sealed, []byte(secret)) || len(sealed) < 40 {
		t.Fatalf("the stored secret is not sealed (%d bytes, %v)", len(sealed), err)
	}
	for _, path := range []string{"/v1/webhook-endpoints", "/v1/webhook-endpoints/" + ep.ID} {
		r := ce.do("GET", path, nil)
		if r.Status != 200 || bytes.Contains(r.Body, []byte(`"secret"`)) || !bytes.Contains(r.Body, []byte(ep.ID)) {
			t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
		}
	}

	var up webhookEndpoint
	r := ce.do("PATCH", "/v1/webhook-endpoints/"+ep.ID, map[string]any{"event_types": []string{"order.*"}, "description": "orders", "disabled": true})
	r.JSON(t, &up)
	if r.Status != 200 || strings.Join(up.EventTypes, ",") != "order.*" || up.Description != "orders" || !up.Disabled || up.DisabledReason != "manual" || up.URL != ep.URL {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}
	up = webhookEndpoint{}
	ce.do("PATCH", "/v1/webhook-endpoints/"+ep.ID, map[string]any{"disabled": false}).JSON(t, &up)
	if up.Disabled || up.DisabledReason != "" {
		t.Fatalf("enabled again: %+v", up)
	}

	rot := ce.do("POST", "/v1/webhook-endpoints/"+ep.ID+"/rotate-secret", nil, "Idempotency-Key", "rotate-1")
	var rotated webhookEndpoint
	rot.JSON(t, &rotated)
	if rot.Status != 200 || rotated.Secret == nil || *rotated.Secret == secret || !strings.HasPrefix(*rotated.Secret, "whsec_") || rotated.PreviousUntil == nil ||
		rotated.PreviousUntil.Sub(time.Now()) < 23*time.Hour {
		t.Fatalf("rotate: %d %s", rot.Status, rot.Body)
	}
	if r := ce.do("POST", "/v1/webhook-endpoints/"+ep.ID+"/rotate-secret", nil, "Idempotency-Key", "rotate-1"); r.Status != 200 ||
		bytes.Contains(r.Body, []byte(*rotated.Secret)) || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("rotate replay: %d %s", r.Status, r.Body)
	}

	if r := ce.do("DELETE", "/v1/webhook-endpoints/"+ep.ID, nil); r.Status != 204 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	for _, m := range []string{"GET", "DELETE"} {
		if r := ce.do(m, "/v1/webhook-endpoints/"+ep.ID, nil); r.Status != 404 {
			t.Fatalf("%s after delete: %d %s", m, r.Status, r.Body)
		}
	}
}

// TestWebhookBadInput: outside sandbox mode, malformed or unsafe URLs,
// unknown event types and out-of-range values answer 422 naming the
// field, and change nothing.
func TestWebhookBadInput(t *testing.T) {
	ce := newCardEnv(t, withoutSandbox())
	good := func(k string, v any) map[string]any {
		m := map[string]any{"url": "https://hooks.issuer.example/x", "event_types": []string{"card.*"}}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	var ep webhookEndpoint
	ce.do("POST", "/v1/webhook-endpoints", good("description", "kept")).JSON(t, &ep)
	before := ce.do("GET", "/v1/webhook-endpoints", nil).Body
	for _, tc := range []struct {
		method, path string
		body         any
		field, code  string
	}{
		{"POST", "/v1/webhook-endpoints", good("url", "http://hooks.issuer.example/x"), "url", "https_required"},
		{"POST", "/v1/webhook-endpoints", good("url", "https://127.0.0.1:8443/x"), "url", "address_refused"},
		{"POST", "/v1/webhook-endpoints", good("url", "https://[::1]/x"), "url", "address_refused"},
		{"POST", "/v1/webhook-endpoints", good("url", "https://10.1.2.3/x"), "url", "address_refused"},
		{"POST", "/v1/webhook-endpoints", good("url", "https://169.254.169.254/latest/meta-data/"), "url", "address_refused"},
		{"POST", "/v1/webhook-endpoints", good("url", "https://localhost/x"), "url", "address_refused"},
		{"POST", "/v1/webhook-endpoints", good("url", "not a url"), "url", "invalid"},
		{"POST", "/v1/webhook-endpoints", good("url", "https://user:pw@hooks.issuer.example/x"), "url", "invalid"},
		{"POST", "/v1/webhook-endpoints", good("url", nil), "url", "invalid"},
		{"POST", "/v1/webhook-endpoints", good("event_types", []string{"card.thawed"}), "event_types[0]", "unknown"},
		{"POST", "/v1/webhook-endpoints", good("event_types", []string{"card.frozen", "*"}), "event_types[1]", "unknown"},
		{"POST", "/v1/webhook-endpoints", good("event_types", []string{}), "event_types", "invalid"},
		{"POST", "/v1/webhook-endpoints", good("description", strings.Repeat("d", 257)), "description", "invalid"},
		{"POST", "/v1/webhook-endpoints", good("secret", "whsec_mine"), "secret", "unknown"},
		{"PATCH", "/v1/webhook-endpoints/" + ep.ID, map[string]any{"url": "http://hooks.issuer.example/x"}, "url", "https_required"},
		{"PATCH", "/v1/webhook-endpoints/" + ep.ID, map[string]any{"event_types": []string{"cards.*"}}, "event_types[0]", "unknown"},
		{"POST", "/v1/webhook-endpoints/" + ep.ID + "/recover", map[string]any{"since": "last tuesday"}, "since", "invalid"},
		{"POST", "/v1/webhook-endpoints/" + ep.ID + "/recover", map[string]any{"since": time.Now().Add(-40 * 24 * time.Hour).Format(time.RFC3339)}, "since", "invalid"},
		{"GET", "/v1/events?type=" + url.QueryEscape("card.thawed"), nil, "type", "unknown"},
		{"GET", "/v1/events?card_id=nope", nil, "card_id", "invalid"},
		{"GET", "/v1/events?starting_after=nope", nil, "starting_after", "invalid"},
		{"GET", "/v1/events?created_after=yesterday", nil, "created_after", "invalid"},
		{"GET", "/v1/events?limit=1000", nil, "limit", "out_of_range"},
	} {
		r := ce.do(tc.method, tc.path, tc.body)
		if r.Status != 422 {
			t.Errorf("%s %s %v: %d %s, want 422", tc.method, tc.path, tc.body, r.Status, r.Body)
			continue
		}
		p := r.problem(t)
		if p.Slug != "validation_failed" || len(p.Errors) == 0 || p.Errors[0].Field != tc.field || p.Errors[0].Code != tc.code {
			t.Errorf("%s %s %v: %+v, want %s %s", tc.method, tc.path, tc.body, p, tc.field, tc.code)
		}
	}
	if after := ce.do("GET", "/v1/webhook-endpoints", nil).Body; !bytes.Equal(before, after) {
		t.Fatalf("bad requests changed the endpoints:\n%s\n%s", before, after)
	}
	if r := ce.do("POST", "/v1/webhook-endpoints/"+ep.ID+"/recover", map[string]any{"since": time.Now().Add(-time.Hour).Format(time.RFC3339)}); r.Status != 202 {
		t.Fatalf("a valid recovery: %d %s", r.Status, r.Body)
	}
	// The limit of endpoints per tenant.
	for i := 1; i < 20; i++ {
		ce.do("POST", "/v1/webhook-endpoints", good("description", fmt.Sprint(i)))
	}
	if r := ce.do("POST", "/v1/webhook-endpoints", good("description", "one too many")); r.Status != 409 || r.problem(t).Slug != "webhook_endpoint_limit" {
		t.Fatalf("the 21st endpoint: %d %s", r.Status, r.Body)
	}
}

// TestEventsAPI: the tenant's events, newest first, filtered by type
// (and group), card and time, paged by cursor; one event; its attempts;
// redelivery answers the endpoints it is pending for.
func TestEventsAPI(t *testing.T) {
	ce := newCardEnv(t)
	var ep webhookEndpoint
	ce.do("POST", "/v1/webhook-endpoints", map[string]any{"url": "http://127.0.0.1:9/hook", "event_types": []string{"card.*"}}).JSON(t, &ep)
	mid := time.Now()
	var cards [3]struct {
		ID string `json:"card_id"`
	}
	for i := range cards {
		ce.do("POST", "/v1/cards", map[string]any{"product_id": ce.cat.product, "card_holder_name": "EVENT WALK"}).JSON(t, &cards[i])
	}
	ce.do("POST", "/v1/cards/"+cards[0].ID+"/freeze", map[string]any{}).JSON(t, &struct{}{})
	settle(t, ce.env)
	type event struct {
		ID, Type, Subject string
		Time              time.Time
	}
	list := func(q string) (out []event, more bool) {
		var l struct {
			Data    []event `json:"data"`
			HasMore bool    `json:"has_more"`
		}
		r := ce.do("GET", "/v1/events"+q, nil)
		if r.Status != 200 {
			t.Fatalf("GET /v1/events%s: %d %s", q, r.Status, r.Body)
		}
		r.JSON(t, &l)
		return l.Data, l.HasMore
	}
	all, _ := list("?limit=100")
	for i := 1; i < len(all); i++ {
		if all[i].ID >= all[i-1].ID {
			t.Fatalf("not newest first: %v", all)
		}
	}
	if all[0].Type != "card.frozen" || all[0].Subject != cards[0].ID {
		t.Fatalf("newest event %+v, want card.frozen of %s", all[0], cards[0].ID)
	}
	if got, _ := list("?card_id=" + cards[0].ID); len(got) < 2 || got[0].Type != "card.frozen" {
		t.Fatalf("card filter: %+v", got)
	}
	for _, e := range func() []event { got, _ := list("?type=card.frozen"); return got }() {
		if e.Type != "card.frozen" {
			t.Fatalf("type filter let %s through", e.Type)
		}
	}
	group, _ := list("?type=card.*&limit=100")
	for _, e := range group {
		if !strings.HasPrefix(e.Type, "card.") {
			t.Fatalf("group filter let %s through", e.Type)
		}
	}
	if recent, _ := list("?type=card.created&created_after=" + url.QueryEscape(mid.UTC().Format(time.RFC3339Nano))); len(recent) != 3 {
		t.Fatalf("time filter: %d card.created since the cards were made, want 3", len(recent))
	}
	// Pages of two cover the list exactly once.
	var paged []event
	for cursor := ""; ; {
		page, more := list("?limit=2" + cursor)
		paged = append(paged, page...)
		if !more {
			break
		}
		cursor = "&starting_after=" + page[len(page)-1].ID
	}
	if len(paged) != len(all) || paged[len(paged)-1].ID != all[len(all)-1].ID {
		t.Fatalf("pages: %d events, the whole list %d", len(paged), len(all))
	}

	one := ce.do("GET", "/v1/events/"+all[0].ID, nil)
	var got struct {
		ID, Type, SpecVersion, TenantID string
		Data                            map[string]any
	}
	one.JSON(t, &got)
	if one.Status != 200 || got.ID != all[0].ID || got.Data["id"] != cards[0].ID || !bytes.Contains(one.Body, []byte(`"specversion":"1.0"`)) {
		t.Fatalf("GET event: %d %s", one.Status, one.Body)
	}
	if r := ce.do("GET", "/v1/events/"+all[0].ID+"/attempts", nil); r.Status != 200 || string(bytes.TrimSpace(r.Body)) != `{"data":[]}` {
		t.Fatalf("attempts of an event not yet sent: %d %s", r.Status, r.Body)
	}
	r := ce.do("POST", "/v1/events/"+all[0].ID+"/redeliver", nil)
	if r.Status != 202 || !bytes.Contains(r.Body, []byte(ep.ID)) {
		t.Fatalf("redeliver: %d %s", r.Status, r.Body)
	}
	for _, id := range []string{"019cebab-0000-7000-8000-000000000000", "not-an-id"} {
		if r := ce.do("GET", "/v1/events/"+id, nil); r.Status != 404 {
			t.Fatalf("GET a missing event %s: %d", id, r.Status)
		}
	}
}

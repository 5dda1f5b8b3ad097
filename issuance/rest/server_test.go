package rest_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/rest"
	"github.com/cardhost/cardhost/issuance/rest/reference"
)

func TestAuthAndProblems(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, key, method, path string
		body                    any
		headers                 []string
		status                  int
		slug                    string
	}{
		{"no key", "", "GET", "/v1/tenant", nil, nil, 401, "unauthorized"},
		{"malformed key", "nope", "GET", "/v1/tenant", nil, nil, 401, "unauthorized"},
		{"unknown key", "chk_" + strings.Repeat("A", 43), "GET", "/v1/tenant", nil, nil, 401, "unauthorized"},
		{"unknown route", e.key, "GET", "/v1/nothing-here", nil, nil, 404, "route_not_found"},
		{"wrong method", e.key, "DELETE", "/v1/tenant", nil, nil, 405, "method_not_allowed"},
		{"malformed JSON", e.key, "POST", "/v1/api-keys", []byte(`{"scopes":`), nil, 400, "malformed_json"},
		{"unknown field", e.key, "POST", "/v1/api-keys", []byte(`{"scopez":[]}`), nil, 422, "validation_failed"},
		{"wrong type", e.key, "POST", "/v1/api-keys", []byte(`{"scopes":"reveal"}`), nil, 422, "validation_failed"},
		{"bad scope", e.key, "POST", "/v1/api-keys", map[string]any{"name": "admin", "scopes": []string{"admin"}}, nil, 422, "validation_failed"},
		{"two values", e.key, "POST", "/v1/api-keys", []byte(`{} {}`), nil, 400, "malformed_json"},
		{"wrong content type", e.key, "POST", "/v1/api-keys", []byte(`{}`), []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type"},
		{"bad idempotency key", e.key, "POST", "/v1/api-keys", []byte(`{}`), []string{"Idempotency-Key", "has space"}, 422, "validation_failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.doKey(tc.key, tc.method, tc.path, tc.body, tc.headers...)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d (%s)", r.Status, tc.status, r.Body)
			}
			p := r.problem(t)
			if p.Slug != tc.slug || p.Status != tc.status || p.RequestID == "" || p.RequestID != r.Header.Get("X-Request-Id") {
				t.Fatalf("problem %+v, want slug %s with the request id", p, tc.slug)
			}
		})
	}
	// Nothing was created by the rejected requests: still one key.
	var list struct{ Data []json.RawMessage }
	e.do("GET", "/v1/api-keys", nil).JSON(t, &list)
	if len(list.Data) != 1 {
		t.Fatalf("%d API keys after rejected requests, want 1", len(list.Data))
	}
}

func TestIdempotencyReplayMismatchAndConcurrency(t *testing.T) {
	e := newEnv(t)
	body := map[string]any{"name": "idempotent", "scopes": []string{}}
	first := e.do("POST", "/v1/api-keys", body, "Idempotency-Key", "create-1")
	if first.Status != 201 {
		t.Fatalf("first create: %d %s", first.Status, first.Body)
	}
	again := e.do("POST", "/v1/api-keys", body, "Idempotency-Key", "create-1")
	// The replay is the first answer without the key's secret, which is
	// shown once (TestAPIKeyReplayWithoutSecret).
	var firstKey map[string]any
	first.JSON(t, &firstKey)
	delete(firstKey, "secret")
	var againKey map[string]any
	again.JSON(t, &againKey)
	if again.Status != 201 || again.Header.Get("Idempotent-Replayed") != "true" || mustJSON(t, againKey) != mustJSON(t, firstKey) {
		t.Fatalf("replay: %d %q %s", again.Status, again.Header.Get("Idempotent-Replayed"), again.Body)
	}
	other := e.do("POST", "/v1/api-keys", map[string]any{"name": "idempotent", "scopes": []string{"reveal"}}, "Idempotency-Key", "create-1")
	if other.Status != 422 || other.problem(t).Slug != "idempotency_key_reused" {
		t.Fatalf("different body: %d %s", other.Status, other.Body)
	}
	// Concurrent duplicates: exactly one key is created; the others replay
	// or are told the request is in flight.
	results := concurrently(12, func() response { return e.do("POST", "/v1/api-keys", body, "Idempotency-Key", "race-1") })
	created := map[string]bool{}
	for _, r := range results {
		switch r.Status {
		case 201:
			var k struct{ ID string }
			r.JSON(t, &k)
			created[k.ID] = true
		case 409:
			if r.problem(t).Slug != "idempotency_request_in_progress" {
				t.Fatalf("409 with slug %s", r.Body)
			}
		default:
			t.Fatalf("concurrent duplicate answered %d %s", r.Status, r.Body)
		}
	}
	if len(created) != 1 {
		t.Fatalf("%d distinct keys created by concurrent duplicates, want 1", len(created))
	}
	var list struct{ Data []json.RawMessage }
	e.do("GET", "/v1/api-keys", nil).JSON(t, &list)
	if len(list.Data) != 3 { // bootstrap key + create-1 + race-1
		t.Fatalf("%d keys, want 3", len(list.Data))
	}
}

func TestRevokedKeyFailsAtOnce(t *testing.T) {
	e := newEnv(t)
	var k struct{ ID, Secret string }
	e.do("POST", "/v1/api-keys", map[string]any{"name": "revoked"}).JSON(t, &k)
	if r := e.doKey(k.Secret, "GET", "/v1/tenant", nil); r.Status != 200 {
		t.Fatalf("new key: %d", r.Status)
	}
	if r := e.do("POST", "/v1/api-keys/"+k.ID+"/revoke", nil); r.Status != 204 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if r := e.doKey(k.Secret, "GET", "/v1/tenant", nil); r.Status != 401 {
		t.Fatalf("revoked key answered %d", r.Status)
	}
}

func TestHealthReadyMetricsOpenAPI(t *testing.T) {
	e := newEnv(t)
	if r := e.doKey("", "GET", "/healthz", nil); r.Status != 200 {
		t.Fatalf("healthz %d", r.Status)
	}
	var ready struct {
		Status string
		Checks map[string]string
	}
	r := e.doKey("", "GET", "/readyz", nil)
	r.JSON(t, &ready)
	if r.Status != 200 || ready.Status != "ready" || ready.Checks["postgres"] != "ok" {
		t.Fatalf("readyz %d %+v", r.Status, ready)
	}
	e.do("GET", "/v1/tenant", nil)
	m := e.doKey("", "GET", "/metrics", nil)
	for _, want := range []string{`cardhost_http_requests_total{method="GET",route="/v1/tenant",status="200"}`, "cardhost_http_request_duration_seconds_bucket"} {
		if !strings.Contains(string(m.Body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	r = e.doKey("", "GET", "/openapi.json", nil)
	r.JSON(t, &doc)
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	// Every route fiber serves is documented, with its method; the /docs
	// page's script is an asset of that page, not an operation.
	for _, rt := range e.srv.App().GetRoutes(true) {
		if rt.Method == http.MethodHead || rt.Method == http.MethodOptions || rt.Path == "/docs/"+reference.Script {
			continue
		}
		p := openAPIPath(rt.Path)
		if _, ok := doc.Paths[p][strings.ToLower(rt.Method)]; !ok {
			t.Errorf("route %s %s is not in /openapi.json", rt.Method, rt.Path)
		}
	}
}

func openAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// TestBodyTooLarge: a body over the limit is refused with 413 problem
// details before it is read (sent over a raw connection: the server answers
// as soon as it sees Content-Length, so an HTTP client still uploading the
// body would see a reset instead of the answer).
func TestBodyTooLarge(t *testing.T) {
	e := newEnv(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/api-keys HTTP/1.1\r\nHost: cardhost\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", e.key, 2<<20)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	r := response{Status: resp.StatusCode, Header: resp.Header, Body: body}
	if r.Status != 413 || r.problem(t).Slug != "body_too_large" {
		t.Fatalf("oversized body: %d %s", r.Status, body)
	}
	// The HTTP layer refused it before routing; it is still counted.
	m := e.doKey("", "GET", "/metrics", nil)
	if want := `cardhost_http_requests_total{method="POST",route="unmatched",status="413"} 1`; !strings.Contains(string(m.Body), want) {
		t.Fatalf("/metrics lacks %s", want)
	}
}

// TestFailedAuthenticationsAreLimitedPerClientAddress: a client address
// that keeps presenting bad API keys is answered 429 before any key look-up
// (valid or not); other addresses are served. Behind a trusted proxy the
// client address comes from X-Forwarded-For, read from the right, so an
// address the client writes into the header itself changes nothing.
func TestFailedAuthenticationsAreLimitedPerClientAddress(t *testing.T) {
	e := newEnv(t, func(c *rest.Config, _ *issuance.Deps) {
		c.RateLimit, c.AuthFailureLimit = 100, 1 // 1 failure a second, burst 2
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	const bad = "chk_test_0000000000000000000000000000000000000000"
	from := func(key, xff string) response { return e.doKey(key, "GET", "/v1/tenant", nil, "X-Forwarded-For", xff) }
	for i := 0; i < 2; i++ {
		if r := from(bad, "198.51.100.7"); r.Status != 401 {
			t.Fatalf("failure %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	r := from(bad, "198.51.100.7")
	if r.Status != 429 || r.problem(t).Slug != "rate_limited" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("third failure within the second: %d %s (Retry-After %q)", r.Status, r.Body, r.Header.Get("Retry-After"))
	}
	// The address is refused before its key is looked up, even a valid one.
	if r := from(e.key, "198.51.100.7"); r.Status != 429 {
		t.Fatalf("valid key from the limited address: %d", r.Status)
	}
	// A client that writes another address into the header is still itself.
	if r := from(e.key, "203.0.113.99, 198.51.100.7"); r.Status != 429 {
		t.Fatalf("spoofed X-Forwarded-For: %d", r.Status)
	}
	// Another client, and one behind a second trusted hop, are served.
	if r := from(e.key, "198.51.100.8"); r.Status != 200 {
		t.Fatalf("another address: %d %s", r.Status, r.Body)
	}
	if r := from(e.key, "198.51.100.9, 127.0.0.1"); r.Status != 200 {
		t.Fatalf("another address behind two proxies: %d %s", r.Status, r.Body)
	}
}

// TestUntrustedPeersCannotChooseTheirAddress: without trusted proxies the
// peer's address is the client's, whatever X-Forwarded-For says.
func TestUntrustedPeersCannotChooseTheirAddress(t *testing.T) {
	e := newEnv(t, func(c *rest.Config, _ *issuance.Deps) { c.RateLimit, c.AuthFailureLimit = 100, 1 })
	const bad = "chk_test_0000000000000000000000000000000000000000"
	for i, xff := range []string{"198.51.100.1", "198.51.100.2"} {
		if r := e.doKey(bad, "GET", "/v1/tenant", nil, "X-Forwarded-For", xff); r.Status != 401 {
			t.Fatalf("failure %d: %d", i+1, r.Status)
		}
	}
	if r := e.doKey(bad, "GET", "/v1/tenant", nil, "X-Forwarded-For", "198.51.100.3"); r.Status != 429 {
		t.Fatalf("a new X-Forwarded-For from an untrusted peer escaped the limit: %d", r.Status)
	}
}

package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// consoleClient is a browser without JavaScript: a cookie jar, no
// redirects followed.
type consoleClient struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newConsoleClient(t *testing.T, base string) *consoleClient {
	jar, _ := cookiejar.New(nil)
	return &consoleClient{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *consoleClient) do(method, path string, form url.Values) (int, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var consoleCSRF = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (c *consoleClient) signIn(key string) {
	c.t.Helper()
	_, page := c.do("GET", "/console/login", nil)
	m := consoleCSRF.FindStringSubmatch(page)
	if m == nil {
		c.t.Fatal("no CSRF token on the sign-in page")
	}
	if status, _ := c.do("POST", "/console/login", url.Values{"csrf_token": {m[1]}, "api_key": {key}}); status != http.StatusSeeOther {
		c.t.Fatalf("sign-in: %d", status)
	}
}

// TestConsoleOverHTTP: on the real server, the overview counts the
// tenant's decisions and its decline reasons in plain words, and the
// live stream (server-sent events, read here without a browser) sends an
// authorization decided after it opened, with the masked number only.
// CARDHOST_CONSOLE=false turns the console off.
func TestConsoleOverHTTP(t *testing.T) {
	env := testEnv(t)
	a := startApp(t, env)
	api := newAPIClient(t, a.base(), a.SandboxKey)
	var received atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received.Add(1)
		w.WriteHeader(204)
	}))
	defer receiver.Close()
	var endpoint struct {
		ID string `json:"id"`
	}
	api.do("POST", "/v1/webhook-endpoints", map[string]any{"url": receiver.URL, "event_types": []string{"card.*"}}).must(t, 201).decode(t, &endpoint)
	var card struct {
		ID     string `json:"card_id"`
		Masked string `json:"masked_pan"`
	}
	api.do("POST", "/v1/cards", map[string]any{"product_id": virtualProduct(t, api), "card_holder_name": "ADA LOVELACE", "card_limit": 10000}).must(t, 201).decode(t, &card)
	var revealed struct {
		PAN string `json:"pan"`
	}
	api.do("POST", "/v1/cards/"+card.ID+"/reveal", nil).must(t, 200).decode(t, &revealed)
	api.do("POST", "/v1/simulator/authorizations", map[string]any{"card_id": card.ID, "amount": 3000}).must(t, 201)
	api.do("POST", "/v1/simulator/authorizations", map[string]any{"card_id": card.ID, "amount": 20000}).must(t, 201) // over the limit

	c := newConsoleClient(t, a.base())
	c.signIn(a.SandboxKey)
	status, page := c.do("GET", "/console/", nil)
	text := strings.Join(strings.Fields(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(page, " ")), " ")
	if status != 200 || !strings.Contains(text, "2 requests, 1 approved") || !strings.Contains(text, "The card limit was exceeded card_limit_exceeded 1") {
		t.Fatalf("overview (%d): %s", status, text)
	}

	// The stream, opened before the next authorization.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", a.base()+"/console/stream/events", nil)
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var sim struct {
		ID string `json:"authorization_id"`
	}
	api.do("POST", "/v1/simulator/authorizations", map[string]any{"card_id": card.ID, "amount": 1234, "merchant_name": "<b>CORNER SHOP</b>"}).must(t, 201).decode(t, &sim)
	sc := bufio.NewScanner(resp.Body)
	var event []string
	found := false
	for sc.Scan() && !found {
		line := sc.Text()
		if line != "" {
			event = append(event, line)
			continue
		}
		e := strings.Join(event, "\n")
		event = nil
		if strings.Contains(e, "id: "+sim.ID) {
			found = true
			if strings.Contains(e, revealed.PAN) || !strings.Contains(e, card.Masked) || !strings.Contains(e, "12.34 USD") ||
				!strings.Contains(strings.ToUpper(e), "&LT;B&GT;CORNER SHOP") || !strings.Contains(e, "event: authorization") {
				t.Fatalf("stream event:\n%s", e)
			}
		}
	}
	if !found {
		t.Fatalf("the stream did not send %s (%v)", sim.ID, sc.Err())
	}

	// The record's page shows its timeline: the capture that followed it.
	var capture struct {
		ID string `json:"authorization_id"`
	}
	api.do("POST", "/v1/simulator/authorizations/"+sim.ID+"/capture", map[string]any{"amount": 1000}).must(t, 201).decode(t, &capture)
	status, page = c.do("GET", "/console/authorizations/"+sim.ID, nil)
	if status != 200 || !strings.Contains(page, card.Masked) || !strings.Contains(page, `href="/console/authorizations/`+capture.ID+`"`) || strings.Contains(page, revealed.PAN) {
		t.Fatalf("record page (%d):\n%s", status, page)
	}
	status, page = c.do("GET", "/console/cards/"+card.ID, nil)
	if status != 200 || !strings.Contains(page, `<tr class="then">`) || !strings.Contains(page, "The card limit was exceeded") {
		t.Fatalf("card page timeline (%d)", status)
	}

	// Events and webhook deliveries: the card's card.created, its attempt,
	// and a redelivery that makes another.
	var created string
	waitFor(t, 20*time.Second, "card.created delivered and listed", func() bool {
		_, page := c.do("GET", "/console/events?type=card.created&card_id="+card.ID, nil)
		m := regexp.MustCompile(`href="/console/events/([0-9a-f-]{36})"`).FindStringSubmatch(page)
		if m == nil {
			return false
		}
		created = m[1]
		_, ev := c.do("GET", "/console/events/"+created, nil)
		return strings.Contains(ev, ">delivered<")
	})
	status, page = c.do("GET", "/console/cards/"+card.ID, nil)
	if status != 200 || !strings.Contains(page, `href="/console/events/`+created+`"`) {
		t.Fatalf("the card page does not list its events (%d)", status)
	}
	before := received.Load()
	token := consoleCSRF.FindStringSubmatch(page)[1]
	if status, _ := c.do("POST", "/console/events/"+created+"/redeliver", url.Values{"endpoint_id": {endpoint.ID}}); status != http.StatusForbidden {
		t.Fatalf("redeliver without the CSRF token: %d", status)
	}
	if status, _ := c.do("POST", "/console/events/"+created+"/redeliver", url.Values{"csrf_token": {token}, "endpoint_id": {"wh_nope"}}); status != http.StatusNotFound {
		t.Fatalf("redeliver to no such endpoint: %d", status)
	}
	status, _ = c.do("POST", "/console/events/"+created+"/redeliver", url.Values{"csrf_token": {token}, "endpoint_id": {endpoint.ID}})
	if status != http.StatusSeeOther {
		t.Fatalf("redeliver: %d", status)
	}
	// The attempt is recorded after the endpoint answered: wait for the page.
	waitFor(t, 20*time.Second, "the redelivery's attempt on the event page", func() bool {
		_, page := c.do("GET", "/console/events/"+created+"?redelivered="+endpoint.ID, nil)
		return strings.Count(page, ">delivered<") >= 2 && strings.Contains(page, "Redelivery pending for "+endpoint.ID)
	})
	if received.Load() <= before {
		t.Fatal("the endpoint did not receive the redelivery")
	}
	if status, _ := c.do("GET", "/console/events/0190a0a0-0000-7000-8000-000000000000", nil); status != 404 {
		t.Fatalf("no such event: %d", status)
	}
	// Another tenant's session sees neither the event nor the card.
	_, otherKey := cliTenant(t, env, "Other issuer", false)
	oc := newConsoleClient(t, a.base())
	oc.signIn(otherKey)
	for _, path := range []string{"/console/events/" + created, "/console/cards/" + card.ID, "/console/authorizations/" + sim.ID} {
		if status, page := oc.do("GET", path, nil); status != 404 || strings.Contains(page, card.Masked) {
			t.Errorf("another tenant's session, %s: %d", path, status)
		}
	}
	if _, page := oc.do("GET", "/console/events", nil); strings.Contains(page, created) {
		t.Error("another tenant's session lists the event")
	}

	// Without a session the stream answers 401 (EventSource gives up).
	if r, err := http.Get(a.base() + "/console/stream/events"); err != nil || r.StatusCode != 401 {
		t.Fatalf("stream without a session: %v %v", r, err)
	}
	cancel()
}

// TestConsoleOff: CARDHOST_CONSOLE=false serves no console.
func TestConsoleOff(t *testing.T) {
	env := testEnv(t)
	env["CARDHOST_CONSOLE"] = "false"
	a := startApp(t, env)
	if status, _ := a.get(t, "", "/console/login"); status != 404 {
		t.Fatalf("/console/login with the console off: %d", status)
	}
}

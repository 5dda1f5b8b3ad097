package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/console"
)

// TestSignIn: a wrong key answers the form again with an error and counts
// toward the failed-authentication limit; the right key opens a session in
// an HttpOnly, SameSite=Strict cookie (not Secure over plain HTTP) and the
// pages answer without JavaScript.
func TestSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser(e.base)
	if p := b.get("/console/"); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/console/login" {
		t.Fatalf("no session: %d to %q, want 303 to the sign-in page", p.Status, p.Header.Get("Location"))
	}
	wrong := "chk_" + strings.Repeat("A", 43)
	p := b.post("/console/login", url.Values{"csrf_token": {b.csrf("/console/login")}, "api_key": {wrong}}).must(t, http.StatusUnauthorized)
	if !strings.Contains(p.Body, "Unknown or revoked API key") || !strings.Contains(p.Body, `name="api_key"`) {
		t.Fatalf("a wrong key does not answer the form with an error:\n%s", p.Body)
	}
	// The limit is 2 a second, burst 4 (AuthFailureLimit 2), shared with
	// the API: more wrong keys from this address are answered 429, even a
	// right one, and so is the API.
	limited := false
	for range 6 {
		p = b.post("/console/login", url.Values{"csrf_token": {b.csrf("/console/login")}, "api_key": {wrong}})
		if p.Status == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("failed sign-ins are not limited")
	}
	req, _ := http.NewRequest("GET", e.base+"/v1/tenant", nil)
	req.Header.Set("Authorization", "Bearer "+e.a.key)
	if r := b.do(req); r.Status != http.StatusTooManyRequests {
		t.Fatalf("the API after failed console sign-ins: %d, want 429 (one limit for both doors)", r.Status)
	}
	time.Sleep(2500 * time.Millisecond) // the bucket refills

	b.signIn(e.a.key)
	var ck *http.Cookie
	u, _ := url.Parse(e.base + "/console/")
	for _, c := range b.hc.Jar.Cookies(u) {
		if c.Name == "cardhost_console" {
			ck = c
		}
	}
	if ck == nil {
		t.Fatal("no session cookie")
	}
	// The jar does not keep the attributes: read them from a sign-in answer.
	b2 := e.browser(e.base)
	p = b2.post("/console/login", url.Values{"csrf_token": {b2.csrf("/console/login")}, "api_key": {e.a.key}}).must(t, http.StatusSeeOther)
	set := strings.Join(p.Header.Values("Set-Cookie"), "\n")
	for _, want := range []string{"cardhost_console=", "HttpOnly", "SameSite=Strict", "path=/console"} {
		if !strings.Contains(set, want) {
			t.Errorf("session cookie lacks %s: %s", want, set)
		}
	}
	if strings.Contains(strings.ToLower(set), "secure") {
		t.Errorf("session cookie is Secure over plain HTTP: %s", set)
	}

	// Every page reads without JavaScript: plain HTML with the data in it.
	c := e.card(e.a, "")
	for path, want := range map[string]string{
		"/console/":                       "authorizations per second",
		"/console/stream":                 "Live authorizations",
		"/console/cards":                  c.MaskedPAN(),
		"/console/cards?last4=" + c.Last4: c.MaskedPAN(),
		"/console/cards/" + c.ID:          "ACTIVE",
		"/console/products":               "Data prep templates",
		"/console/keys":                   "this session",
	} {
		p := b.get(path).must(t, http.StatusOK)
		if !strings.Contains(p.Body, want) {
			t.Errorf("%s does not show %q", path, want)
		}
		if p.Header.Get("Cache-Control") != "no-store" || !strings.Contains(p.Header.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("%s headers: Cache-Control %q, CSP %q", path, p.Header.Get("Cache-Control"), p.Header.Get("Content-Security-Policy"))
		}
	}
}

// TestCSRF: every state-changing form needs the session's token (and the
// sign-in form its own); a refused form changes nothing.
func TestCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser(e.base)
	if p := b.post("/console/login", url.Values{"api_key": {e.a.key}}); p.Status != http.StatusForbidden {
		t.Fatalf("sign-in without its token: %d, want 403", p.Status)
	}
	b.signIn(e.a.key)
	c := e.card(e.a, "")
	path := "/console/cards/" + c.ID + "/status/freeze"
	token := b.csrf("/console/cards/" + c.ID)
	for name, form := range map[string]url.Values{"no token": {}, "wrong token": {"csrf_token": {"x" + token[1:]}}} {
		if p := b.post(path, form); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "CSRF") {
			t.Errorf("%s: %d, want 403 naming the CSRF token", name, p.Status)
		}
	}
	if p := b.post(path, url.Values{"csrf_token": {token}}, "Origin", "https://evil.example"); p.Status != http.StatusForbidden {
		t.Errorf("another site's Origin: %d, want 403", p.Status)
	}
	if p := b.post("/console/logout", url.Values{}); p.Status != http.StatusForbidden {
		t.Errorf("logout without token: %d, want 403", p.Status)
	}
	if got, _ := e.svc.Card(context.Background(), e.a.ID, c.ID); got.Status != issuance.StatusActive {
		t.Fatalf("refused forms changed the card: %s", got.Status)
	}
	p := b.post(path, url.Values{"csrf_token": {token}}).must(t, http.StatusSeeOther)
	if p.Header.Get("Location") != "/console/cards/"+c.ID+"?done=freeze" {
		t.Fatalf("freeze redirects to %q", p.Header.Get("Location"))
	}
	if !strings.Contains(b.get(p.Header.Get("Location")).Body, "The card is frozen.") {
		t.Error("no notice after freezing")
	}
	if got, _ := e.svc.Card(context.Background(), e.a.ID, c.ID); got.Status != issuance.StatusFrozen {
		t.Fatalf("after freeze: %s", got.Status)
	}
	// A move the transition table refuses answers the card page with the
	// API's status and message.
	p = b.post(path, url.Values{"csrf_token": {token}}).must(t, http.StatusConflict)
	if !strings.Contains(p.Body, `class="error"`) {
		t.Errorf("refused freeze shows no error:\n%s", p.Body)
	}
}

// TestSessionEnds: after the idle timeout or the maximum age, at logout
// and when the key is revoked, the session cookie opens nothing and the
// browser is sent to sign in.
func TestSessionEnds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	expired := func(b *browser, why string) {
		t.Helper()
		p := b.get("/console/cards")
		if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/console/login") {
			t.Fatalf("%s: %d to %q, want 303 to the sign-in page", why, p.Status, p.Header.Get("Location"))
		}
		hx, _ := http.NewRequest("GET", b.base+"/console/cards", nil)
		hx.Header.Set("HX-Request", "true")
		if p := b.do(hx); p.Header.Get("HX-Redirect") == "" {
			t.Errorf("%s: an htmx request gets no HX-Redirect", why)
		}
	}

	b := e.browser(e.base)
	b.signIn(e.a.key)
	e.clock.Advance(29 * time.Minute)
	b.get("/console/cards").must(t, http.StatusOK) // used: the idle time starts again
	e.clock.Advance(29 * time.Minute)
	b.get("/console/cards").must(t, http.StatusOK)
	e.clock.Advance(31 * time.Minute)
	expired(b, "idle 31 minutes")

	b = e.browser(e.base)
	b.signIn(e.a.key)
	for range 25 { // used every 29 minutes, but 12 hours after sign-in it ends
		e.clock.Advance(29 * time.Minute)
		if b.get("/console/cards").Status != http.StatusOK {
			break
		}
	}
	expired(b, "older than 12 hours")

	b = e.browser(e.base)
	b.signIn(e.a.key)
	u, _ := url.Parse(e.base + "/console/")
	cookies := b.hc.Jar.Cookies(u)
	b.post("/console/logout", url.Values{"csrf_token": {b.csrf("/console/cards")}}).must(t, http.StatusSeeOther)
	replay := e.browser(e.base)
	replay.hc.Jar.SetCookies(u, cookies)
	expired(replay, "after logout (the old cookie)")

	k, secret, err := e.svc.CreateAPIKey(context.Background(), e.a.ID, issuance.Operator, issuance.KeyRequest{Name: "to revoke"})
	if err != nil {
		t.Fatal(err)
	}
	b = e.browser(e.base)
	b.signIn(secret)
	b.get("/console/cards").must(t, http.StatusOK)
	if err := e.svc.RevokeAPIKey(context.Background(), e.a.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	expired(b, "after its key was revoked")
	if p := b.post("/console/login", url.Values{"csrf_token": {b.csrf("/console/login")}, "api_key": {secret}}); p.Status != http.StatusUnauthorized {
		t.Fatalf("sign-in with a revoked key: %d", p.Status)
	}
}

// TestSessionsAcrossInstances: a session opened on one instance works on
// another over the same database (several instances behind one load
// balancer), and a logout on one ends it on both.
func TestSessionsAcrossInstances(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	other := e.serve(console.Config{})
	b := e.browser(e.base)
	b.signIn(e.a.key)
	u, _ := url.Parse(e.base + "/console/")
	b2 := e.browser(other)
	o, _ := url.Parse(other + "/console/")
	b2.hc.Jar.SetCookies(o, b.hc.Jar.Cookies(u))
	b2.get("/console/cards").must(t, http.StatusOK)
	b2.post("/console/logout", url.Values{"csrf_token": {b2.csrf("/console/keys")}}).must(t, http.StatusSeeOther)
	if p := b.get("/console/cards"); p.Status != http.StatusSeeOther {
		t.Fatalf("first instance after a logout on the second: %d", p.Status)
	}
}

// TestSigningKeyEndsSession: a session opened before its tenant registered
// a request-signing key ends at the next request (the console cannot sign,
// so it may not act for such a tenant, as sign-in already refuses it): a
// form is refused and changes nothing, a page sends the browser to sign in
// with the reason, and another tenant's session goes on.
func TestSigningKeyEndsSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	c := e.card(e.a, "")
	forms, pages, other := e.browser(e.base), e.browser(e.base), e.browser(e.base)
	forms.signIn(e.a.key)
	pages.signIn(e.a.key)
	other.signIn(e.b.key)
	token := forms.csrf("/console/cards/" + c.ID)
	pages.get("/console/cards/"+c.ID).must(t, http.StatusOK)
	u, _ := url.Parse(e.base + "/console/")
	cookies := forms.hc.Jar.Cookies(u)

	if err := e.db.SetSigningKey(ctx, e.a.ID, "-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----\n", "k1", "ecdsa-p256-sha256"); err != nil {
		t.Fatal(err)
	}
	ended := func(p page, what string) {
		t.Helper()
		if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/console/login?why=signing" {
			t.Fatalf("%s after the tenant registered a signing key: %d to %q, want 303 to /console/login?why=signing\n%s", what, p.Status, p.Header.Get("Location"), p.Body)
		}
	}
	ended(forms.post("/console/cards/"+c.ID+"/status/freeze", url.Values{"csrf_token": {token}}), "a freeze")
	if got, _ := e.svc.Card(ctx, e.a.ID, c.ID); got.Status != issuance.StatusActive {
		t.Fatalf("the freeze changed the card: %s", got.Status)
	}
	ended(pages.get("/console/cards/"+c.ID), "the card page")
	// The session is over, not just refused: its cookie opens nothing.
	replay := e.browser(e.base)
	replay.hc.Jar.SetCookies(u, cookies)
	if p := replay.get("/console/cards"); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/console/login?why=expired" {
		t.Fatalf("the ended session's cookie: %d to %q, want 303 to /console/login?why=expired", p.Status, p.Header.Get("Location"))
	}
	p := pages.get("/console/login?why=signing").must(t, http.StatusOK)
	if !strings.Contains(p.Body, "requires signed API requests (RFC 9421)") {
		t.Error("the sign-in page does not say why the session ended")
	}
	other.get("/console/cards").must(t, http.StatusOK)
}

package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cardhost/cardhost/issuance"
)

// TestRevokeKey: the keys page's revoke button revokes the key at once
// (it no longer authenticates to the API), only with the session's CSRF
// token, and only the session's tenant's keys (another tenant's key id
// answers 404 and that key keeps working).
func TestRevokeKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	// api answers GET /v1/tenant with the key secret.
	api := func(b *browser, secret string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", e.base+"/v1/tenant", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		return b.do(req).Status
	}
	k, secret, err := e.svc.CreateAPIKey(ctx, e.a.ID, issuance.Operator, issuance.KeyRequest{Name: "to revoke"})
	if err != nil {
		t.Fatal(err)
	}
	kept, keptSecret, err := e.svc.CreateAPIKey(ctx, e.a.ID, issuance.Operator, issuance.KeyRequest{Name: "to keep"})
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser(e.base)
	b.signIn(e.a.key)
	if s := api(b, secret); s != http.StatusOK {
		t.Fatalf("the key before revoking: %d", s)
	}
	page := b.get("/console/keys").must(t, http.StatusOK)
	if !strings.Contains(page.Body, `action="/console/keys/`+k.ID+`/revoke"`) {
		t.Fatal("the keys page has no revoke button for the key")
	}
	token := b.csrf("/console/keys")

	// Without the token (or with a wrong one): 403, the key still works.
	for name, form := range map[string]url.Values{"no token": {}, "wrong token": {"csrf_token": {"x" + token[1:]}}} {
		if p := b.post("/console/keys/"+kept.ID+"/revoke", form); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "CSRF") {
			t.Errorf("revoke with %s: %d, want 403 naming the CSRF token", name, p.Status)
		}
	}
	if s := api(b, keptSecret); s != http.StatusOK {
		t.Fatalf("a key after refused revokes: %d, want 200", s)
	}

	// Another tenant's key: 404, and it keeps working.
	keysB, err := e.svc.APIKeys(ctx, e.b.ID)
	if err != nil || len(keysB) == 0 {
		t.Fatalf("Issuer B's keys: %v (%d)", err, len(keysB))
	}
	for _, id := range []string{keysB[0].ID, "key_nope", "not-a-key"} {
		if p := b.post("/console/keys/"+id+"/revoke", url.Values{"csrf_token": {token}}); p.Status != http.StatusNotFound {
			t.Errorf("revoking %s: %d, want 404", id, p.Status)
		}
	}
	if s := api(b, e.b.key); s != http.StatusOK {
		t.Fatalf("Issuer B's key after Issuer A's session tried to revoke it: %d, want 200", s)
	}

	// With the token: revoked, the API refuses it, the page says so.
	p := b.post("/console/keys/"+k.ID+"/revoke", url.Values{"csrf_token": {token}}).must(t, http.StatusSeeOther)
	if p.Header.Get("Location") != "/console/keys?done=revoked" {
		t.Fatalf("revoke redirects to %q", p.Header.Get("Location"))
	}
	if s := api(b, secret); s != http.StatusUnauthorized {
		t.Fatalf("the revoked key authenticates: %d, want 401", s)
	}
	page = b.get(p.Header.Get("Location")).must(t, http.StatusOK)
	if !strings.Contains(page.Body, "The key is revoked.") || strings.Contains(page.Body, `action="/console/keys/`+k.ID+`/revoke"`) {
		t.Error("the keys page after the revoke shows no notice, or still offers to revoke the key")
	}
	if s := api(b, keptSecret); s != http.StatusOK {
		t.Fatalf("another key after the revoke: %d, want 200", s)
	}
}

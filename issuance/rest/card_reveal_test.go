package rest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/issuance"
)

func TestRevealNeedsScopeOutsideSandboxAndIsAudited(t *testing.T) {
	e := newEnv(t, withCards(t), withoutSandbox())
	ctx := context.Background()
	prod, plainKey := newTenantKeySandbox(t, e, "Production issuer", false)
	ce := setUpCards(t, e, plainKey, prod.ID)
	c := ce.createCard(t, ce.cat.product, nil)

	// A key without the reveal scope is refused, and nothing is audited.
	if r := ce.do("POST", "/v1/cards/"+c.CardID+"/reveal", nil); r.Status != 403 || r.problem(t).Slug != "forbidden" {
		t.Fatalf("reveal without scope: %d %s", r.Status, r.Body)
	}
	k, secret, err := e.svc.CreateAPIKey(ctx, prod.ID, issuance.Operator, issuance.KeyRequest{Name: "reveal", Scopes: []string{issuance.ScopeReveal}})
	if err != nil {
		t.Fatal(err)
	}
	r := ce.doKey(secret, "POST", "/v1/cards/"+c.CardID+"/reveal", nil, "X-Request-Id", "req-reveal-1")
	if r.Status != 200 || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("reveal with scope: %d %s", r.Status, r.Body)
	}
	var v struct{ PAN, CVV2, Expiry string }
	r.JSON(t, &v)
	if len(v.PAN) != 16 || len(v.CVV2) != 3 || v.Expiry != c.Expiry || !strings.HasSuffix(v.PAN, c.Last4) {
		t.Fatalf("revealed %d-digit PAN, %d-digit CVV2, expiry %s", len(v.PAN), len(v.CVV2), v.Expiry)
	}
	trail, err := e.db.AuditTrail(ctx, prod.ID, c.CardID)
	if err != nil {
		t.Fatal(err)
	}
	if len(trail) != 1 || trail[0].Action != issuance.AuditReveal || trail[0].APIKeyID != k.ID || trail[0].RequestID != "req-reveal-1" ||
		time.Since(trail[0].At) > time.Minute {
		t.Fatalf("audit trail %+v", trail)
	}
	// The audit row holds who/when/which, never the values.
	var row string
	if err := e.db.Pool().QueryRow(ctx, `SELECT row_to_json(a)::text FROM card_audit a WHERE id = $1`, trail[0].ID).Scan(&row); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(row, v.PAN) || strings.Contains(row, `"`+v.CVV2+`"`) {
		t.Fatal("the audit row holds card data")
	}
	// Reveals are never stored for idempotent replay.
	r = ce.doKey(secret, "POST", "/v1/cards/"+c.CardID+"/reveal", nil, "Idempotency-Key", "rev-1")
	if r.Status != 200 || r.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("reveal with an idempotency key: %d", r.Status)
	}
	var stored int
	if err := e.db.Pool().QueryRow(ctx, `SELECT count(*) FROM idempotency_keys WHERE key = 'rev-1'`).Scan(&stored); err != nil || stored != 0 {
		t.Fatalf("reveal response stored for replay (%d, %v)", stored, err)
	}
	if trail, _ := e.db.AuditTrail(ctx, prod.ID, c.CardID); len(trail) != 2 {
		t.Fatalf("%d audit entries after two reveals", len(trail))
	}
	// The trail over the API: oldest first, who and when, never the values.
	r = ce.do("GET", "/v1/cards/"+c.CardID+"/audit-trail", nil)
	var got struct {
		Data []struct {
			ID        string    `json:"id"`
			Action    string    `json:"action"`
			APIKeyID  string    `json:"api_key_id"`
			RequestID string    `json:"request_id"`
			At        time.Time `json:"at"`
		} `json:"data"`
	}
	if r.Status != 200 {
		t.Fatalf("audit trail: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &got)
	if len(got.Data) != 2 || got.Data[0].ID != trail[0].ID || got.Data[0].Action != issuance.AuditReveal ||
		got.Data[0].APIKeyID != k.ID || got.Data[0].RequestID != "req-reveal-1" || got.Data[1].At.Before(got.Data[0].At) {
		t.Fatalf("audit trail over the API: %s", r.Body)
	}
	if strings.Contains(string(r.Body), v.PAN) {
		t.Fatal("the audit trail answer holds the PAN")
	}
	// Another tenant's card is not found.
	if r := e.do("GET", "/v1/cards/"+c.CardID+"/audit-trail", nil); r.Status != 404 || r.problem(t).Slug != "not_found" {
		t.Fatalf("another tenant's audit trail: %d %s", r.Status, r.Body)

	}
	// Sandbox tenants may reveal without the scope.
	sb, sbKey := newTenantKeySandbox(t, e, "Sandbox issuer", true)
	se := setUpCards(t, e, sbKey, sb.ID)
	sc := se.createCard(t, se.cat.product, nil)
	mustStatus(t, se.do("POST", "/v1/cards/"+sc.CardID+"/reveal", nil), 200)
}

package rest_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/bins"
	"github.com/cardhost/cardhost/issuance/catalog"
	"github.com/cardhost/cardhost/issuance/rest"
	"github.com/cardhost/cardhost/issuance/subaccount"
)

// subAccountView is a sub-account as the API answers it.
type subAccountView struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	ParentID  string `json:"parent_id"`
	Sandbox   bool   `json:"sandbox"`
	CreatedAt string `json:"created_at"`
}

// newSubAccount creates a sub-account of the tenant of c over the API.
func newSubAccount(t *testing.T, c *apiClient, name string) subAccountView {
	t.Helper()
	var s subAccountView
	c.do("POST", "/v1/sub-accounts", map[string]any{"name": name}).must(t, 201).decode(t, &s)
	return s
}

// mustSlug fails the test unless the answer has the status and slug.
func mustSlug(t *testing.T, a apiAnswer, status int, slug string) {
	t.Helper()
	if a.Status != status || a.slug() != slug {
		t.Fatalf("%s %s: %d %s, want %d %s", a.Method, a.Path, a.Status, a.Body, status, slug)
	}
}

// TestSubAccounts creates sub-accounts over real HTTP and PostgreSQL and
// acts for them with x-on-behalf-of: the request is the sub-account's (its
// tenant, its objects, its idempotency keys, its events), every id that is
// not one of the caller's own sub-accounts answers 404
// sub_account_not_found alike, and a sub-account's own key may neither act
// for its parent or a sibling nor own sub-accounts (403
// sub_accounts_not_allowed).
func TestSubAccounts(t *testing.T) {
	e := newEnv(t, withCards(t))
	parent := &apiClient{e: e, key: e.key}
	ctx := context.Background()

	// Create, list, get.
	s1 := newSubAccount(t, parent, "  Sub One  ")
	if !issuance.ValidID("ten", s1.ID) || s1.Name != "Sub One" || s1.ParentID != e.tenant.ID || !s1.Sandbox {
		t.Fatalf("created sub-account %+v: want a ten_ id, the trimmed name, the parent %s and its sandbox mode", s1, e.tenant.ID)
	}
	s2 := newSubAccount(t, parent, "Sub Two")
	var list struct {
		Data    []subAccountView `json:"data"`
		HasMore bool             `json:"has_more"`
	}
	parent.do("GET", "/v1/sub-accounts", nil).must(t, 200).decode(t, &list)
	if len(list.Data) != 2 || list.Data[0].ID != s2.ID || list.Data[1].ID != s1.ID || list.HasMore {
		t.Fatalf("GET /v1/sub-accounts: %+v, want sub two then sub one", list)
	}
	parent.do("GET", "/v1/sub-accounts?limit=1", nil).must(t, 200).decode(t, &list)
	if len(list.Data) != 1 || !list.HasMore {
		t.Fatalf("GET /v1/sub-accounts?limit=1: %+v", list)
	}
	var got subAccountView
	parent.do("GET", "/v1/sub-accounts/"+s1.ID, nil).must(t, 200).decode(t, &got)
	if got != s1 {
		t.Fatalf("GET /v1/sub-accounts/%s: %+v, want %+v", s1.ID, got, s1)
	}
	for _, name := range []string{"", "   ", strings.Repeat("n", 201)} {
		ans := parent.do("POST", "/v1/sub-accounts", map[string]any{"name": name})
		mustSlug(t, ans, 422, "validation_failed")
	}
	mustSlug(t, parent.do("POST", "/v1/sub-accounts", map[string]any{"name": "x", "account_type": "COMPANY"}), 422, "validation_failed") // unknown fields are refused

	// The creation is published as tenant.created of the sub-account, with its parent.
	var data json.RawMessage
	if err := e.db.Pool().QueryRow(ctx, `SELECT data FROM outbox WHERE type = 'tenant.created' AND tenant_id = $1`, s1.ID).Scan(&data); err != nil {
		t.Fatalf("tenant.created of the sub-account: %v", err)
	}
	var ev struct{ ID, Name, ParentID string }
	if err := json.Unmarshal(data, &ev); err != nil || ev.ID != s1.ID || !strings.Contains(string(data), `"parent_id":"`+e.tenant.ID+`"`) {
		t.Fatalf("tenant.created payload %s", data)
	}

	// Acting for a sub-account: GET /v1/tenant is the sub-account.
	as1 := &apiClient{e: e, key: e.key, onBehalfOf: s1.ID}
	as2 := &apiClient{e: e, key: e.key, onBehalfOf: s2.ID}
	var ten struct {
		ID       string `json:"id"`
		ParentID string `json:"parent_id"`
	}
	as1.do("GET", "/v1/tenant", nil).must(t, 200).decode(t, &ten)
	if ten.ID != s1.ID || ten.ParentID != e.tenant.ID {
		t.Fatalf("GET /v1/tenant on behalf of %s: %+v", s1.ID, ten)
	}
	ten.ID, ten.ParentID = "", ""
	parent.do("GET", "/v1/tenant", nil, "x-on-behalf-of", "").must(t, 200).decode(t, &ten)
	if ten.ID != e.tenant.ID || ten.ParentID != "" {
		t.Fatalf("GET /v1/tenant with an empty x-on-behalf-of: %+v, want the parent itself", ten)
	}
	// Sent twice: refused, nothing guessed.
	req, _ := http.NewRequest("GET", e.base+"/v1/tenant", nil)
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Add("x-on-behalf-of", s1.ID)
	req.Header.Add("x-on-behalf-of", s2.ID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("x-on-behalf-of sent twice: %d, want 400", resp.StatusCode)
	}

	// Ids that are not one of the parent's sub-accounts answer alike.
	other, otherKey := newTenantKey(t, e, "Foreign Parent")
	foreign := &apiClient{e: e, key: otherKey}
	foreignSub := newSubAccount(t, foreign, "Foreign Sub")
	for name, id := range map[string]string{"a missing id": missingID(s1.ID), "not an id": "garbage id \u00e9", "another top-level tenant": other.ID,
		"another tenant's sub-account": foreignSub.ID, "the parent itself": e.tenant.ID, "a long id": strings.Repeat("t", 300)} {
		for _, path := range []string{"/v1/tenant", "/v1/cards"} {
			ans := parent.do("GET", path, nil, "x-on-behalf-of", id)
			if ans.Status != 404 || ans.slug() != "sub_account_not_found" || strings.Contains(string(ans.Body), foreignSub.ID) {
				t.Errorf("x-on-behalf-of %s on %s: %d %s, want 404 sub_account_not_found", name, path, ans.Status, ans.Body)
			}
		}
		if name != "not an id" && name != "a long id" {
			mustSlug(t, parent.do("GET", "/v1/sub-accounts/"+id, nil), 404, "sub_account_not_found")
		}
	}
	// The foreign parent cannot act for our sub-account, nor read it.
	mustSlug(t, foreign.do("GET", "/v1/cards", nil, "x-on-behalf-of", s1.ID), 404, "sub_account_not_found")
	mustSlug(t, foreign.do("GET", "/v1/sub-accounts/"+s1.ID, nil), 404, "sub_account_not_found")
	foreign.do("GET", "/v1/sub-accounts", nil).must(t, 200).decode(t, &list)
	if len(list.Data) != 1 || list.Data[0].ID != foreignSub.ID {
		t.Fatalf("the foreign parent's sub-accounts: %+v", list.Data)
	}

	// A key of the sub-account itself (made by the parent acting for it).
	var subKey struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	as1.do("POST", "/v1/api-keys", map[string]any{"name": "sub one's own"}).must(t, 201).decode(t, &subKey)
	own := &apiClient{e: e, key: subKey.Secret}
	own.do("GET", "/v1/tenant", nil).must(t, 200).decode(t, &ten)
	if ten.ID != s1.ID {
		t.Fatalf("the sub-account's own key is tenant %s", ten.ID)
	}
	// its parent, a sibling, itself, a missing id: all alike
	for _, id := range []string{e.tenant.ID, s2.ID, s1.ID, missingID(s2.ID)} {
		mustSlug(t, own.do("GET", "/v1/cards", nil, "x-on-behalf-of", id), 403, "sub_accounts_not_allowed")
	}
	mustSlug(t, own.do("POST", "/v1/sub-accounts", map[string]any{"name": "grandchild"}), 403, "sub_accounts_not_allowed")
	mustSlug(t, own.do("GET", "/v1/sub-accounts", nil), 403, "sub_accounts_not_allowed")
	mustSlug(t, as1.do("POST", "/v1/sub-accounts", map[string]any{"name": "grandchild"}), 403, "sub_accounts_not_allowed")
	var n int
	if err := e.db.Pool().QueryRow(ctx, `SELECT count(*) FROM tenants WHERE name = 'grandchild'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("grandchildren stored: %d (%v)", n, err)
	}
	// The database keeps it one level deep too, and the link fixed.
	if _, err := e.db.Pool().Exec(ctx, `INSERT INTO tenants (id, name, created_at, parent_id) VALUES ('ten_grandchild', 'g', now(), $1)`, s1.ID); err == nil {
		t.Fatal("the database stored a sub-account of a sub-account")
	}
	if _, err := e.db.Pool().Exec(ctx, `UPDATE tenants SET parent_id = NULL WHERE id = $1`, s1.ID); err == nil {
		t.Fatal("the database let a sub-account's parent change")
	}

	// Objects: the sub-account's catalog, made by the parent acting for it
	// with the parent's HSM keys and in the parent's BIN ranges.
	pk := newCatalogKeys(t, e, e.tenant.ID)
	subCat := createCatalog(t, e, e.key, pk, "x-on-behalf-of", s1.ID)
	parentCat := createCatalog(t, e, e.key, pk)
	var ranges struct {
		Data []struct {
			Prefix    string `json:"prefix"`
			Inherited bool   `json:"inherited"`
		} `json:"data"`
	}
	as1.do("GET", "/v1/bin-ranges", nil).must(t, 200).decode(t, &ranges)
	if len(ranges.Data) != 3 || !ranges.Data[0].Inherited {
		t.Fatalf("the sub-account's BIN ranges: %+v, want its parent's three, inherited", ranges.Data)
	}
	ranges.Data = nil
	parent.do("GET", "/v1/bin-ranges", nil).must(t, 200).decode(t, &ranges)
	if len(ranges.Data) != 3 || ranges.Data[0].Inherited {
		t.Fatalf("the parent's BIN ranges: %+v", ranges.Data)
	}
	// Imports stay in the sub-account's own ranges: the parent's are refused.
	imp := map[string]any{"pan": luhnPAN(t, pk.bins.visa), "expiry": time.Now().AddDate(2, 0, 0).Format("0601"), "network": "VISA", "cvn": 18,
		"imk_ac_key_reference": pk.imkAC, "cvk_key_reference": pk.cvk, "product_id": subCat.product}
	mustSlug(t, as1.do("POST", "/v1/cards/import", imp), 422, "pan_outside_bin_ranges")
	// A range a sub-account issues in cannot be taken back from the parent.
	if err := catalog.New(issuance.Deps{Catalog: e.db}).RemoveBINRange(ctx, e.tenant.ID, pk.bins.visa); issuance.SlugOf(err) != bins.SlugInUse {
		t.Fatalf("removing the parent's range its sub-account has a template in: %v, want %s", err, bins.SlugInUse)
	}

	var subCard, parentCard struct {
		ID     string `json:"card_id"`
		Status string `json:"status"`
	}
	as1.do("POST", "/v1/cards", map[string]any{"product_id": subCat.product, "card_holder_name": "SUB CARD"}).must(t, 201).decode(t, &subCard)
	parent.do("POST", "/v1/cards", map[string]any{"product_id": parentCat.product, "card_holder_name": "PARENT CARD"}).must(t, 201).decode(t, &parentCard)
	var cardTenant string
	if err := e.db.Pool().QueryRow(ctx, `SELECT tenant_id FROM cards WHERE id = $1`, subCard.ID).Scan(&cardTenant); err != nil || cardTenant != s1.ID {
		t.Fatalf("the card made on behalf of the sub-account belongs to %q (%v)", cardTenant, err)
	}
	// Isolation both ways, and between siblings: 404 as for a missing card.
	as1.do("GET", "/v1/cards/"+subCard.ID, nil).must(t, 200)
	for name, probe := range map[string]apiAnswer{
		"the parent without the header":   parent.do("GET", "/v1/cards/"+subCard.ID, nil),
		"the sibling":                     as2.do("GET", "/v1/cards/"+subCard.ID, nil),
		"the sub-account, parent's card":  as1.do("GET", "/v1/cards/"+parentCard.ID, nil),
		"the sub-account's key, parent's": own.do("GET", "/v1/cards/"+parentCard.ID, nil),
		"a missing card":                  as1.do("GET", "/v1/cards/"+missingID(subCard.ID), nil),
		"the parent's product":            as1.do("POST", "/v1/cards", map[string]any{"product_id": parentCat.product, "card_holder_name": "SUB WITH PARENT PRODUCT"}),
	} {
		if probe.Status != 404 {
			t.Errorf("%s: %s %s answered %d %s, want 404", name, probe.Method, probe.Path, probe.Status, probe.Body)
		}
	}
	var cards struct {
		Data []struct {
			ID string `json:"card_id"`
		}
	}
	parent.do("GET", "/v1/cards", nil).must(t, 200).decode(t, &cards)
	if len(cards.Data) != 1 || cards.Data[0].ID != parentCard.ID {
		t.Fatalf("the parent's own cards: %+v", cards.Data)
	}
	as1.do("GET", "/v1/cards", nil).must(t, 200).decode(t, &cards)
	if len(cards.Data) != 1 || cards.Data[0].ID != subCard.ID {
		t.Fatalf("the sub-account's cards: %+v", cards.Data)
	}
	as2.do("GET", "/v1/cards", nil).must(t, 200).decode(t, &cards)
	if len(cards.Data) != 0 {
		t.Fatalf("the sibling's cards: %+v", cards.Data)
	}

	// Audit: the reveal made on behalf names the parent's key and tenant;
	// one made with the sub-account's own key names neither tenant.
	as1.do("POST", "/v1/cards/"+subCard.ID+"/reveal", nil).must(t, 200)
	own.do("POST", "/v1/cards/"+subCard.ID+"/reveal", nil).must(t, 200)
	var trail struct {
		Data []struct {
			Action      string `json:"action"`
			APIKeyID    string `json:"api_key_id"`
			KeyTenantID string `json:"api_key_tenant_id"`
			RequestID   string `json:"request_id"`
		} `json:"data"`
	}
	own.do("GET", "/v1/cards/"+subCard.ID+"/audit-trail", nil).must(t, 200).decode(t, &trail)
	var parentKeys struct{ Data []struct{ ID string } }
	parent.do("GET", "/v1/api-keys", nil).must(t, 200).decode(t, &parentKeys)
	if len(trail.Data) != 2 || trail.Data[0].Action != "card.reveal" || trail.Data[0].APIKeyID != parentKeys.Data[0].ID || trail.Data[0].KeyTenantID != e.tenant.ID ||
		trail.Data[1].APIKeyID != subKey.ID || trail.Data[1].KeyTenantID != "" {
		t.Fatalf("audit trail %+v: want the parent's key %s of %s, then the sub-account's own key %s", trail.Data, parentKeys.Data[0].ID, e.tenant.ID, subKey.ID)
	}
	var auditTenant, auditKeyTenant string
	if err := e.db.Pool().QueryRow(ctx, `SELECT tenant_id, api_key_tenant_id FROM card_audit WHERE card_id = $1 ORDER BY at, id LIMIT 1`, subCard.ID).
		Scan(&auditTenant, &auditKeyTenant); err != nil || auditTenant != s1.ID || auditKeyTenant != e.tenant.ID {
		t.Fatalf("card_audit row: tenant %q, key tenant %q (%v)", auditTenant, auditKeyTenant, err)
	}
	mustSlug(t, parent.do("GET", "/v1/cards/"+subCard.ID+"/audit-trail", nil), 404, "not_found")

	// Idempotency keys are per tenant the request acts as: the same key
	// and body for the parent, each sub-account and again.
	body := map[string]any{"layout": "idempotent-layout"}
	first := parent.do("POST", "/v1/card-layouts", body, "Idempotency-Key", "shared-key").must(t, 201)
	forS1 := as1.do("POST", "/v1/card-layouts", body, "Idempotency-Key", "shared-key").must(t, 201)
	forS2 := as2.do("POST", "/v1/card-layouts", body, "Idempotency-Key", "shared-key").must(t, 201)
	againS1 := as1.do("POST", "/v1/card-layouts", body, "Idempotency-Key", "shared-key").must(t, 201)
	if forS1.Header.Get("Idempotent-Replayed") != "" || forS2.Header.Get("Idempotent-Replayed") != "" || string(first.Body) == string(forS1.Body) || string(forS1.Body) == string(forS2.Body) {
		t.Fatalf("the parent's Idempotency-Key replayed for a sub-account: %s / %s / %s", first.Body, forS1.Body, forS2.Body)
	}
	if againS1.Header.Get("Idempotent-Replayed") != "true" || string(againS1.Body) != string(forS1.Body) {
		t.Fatalf("the sub-account's own retry: %v %s, want the replay of %s", againS1.Header, againS1.Body, forS1.Body)
	}
	mustSlug(t, as1.do("POST", "/v1/card-layouts", map[string]any{"layout": "other"}, "Idempotency-Key", "shared-key"), 422, "idempotency_key_reused")

	// Money: a deposit on behalf of the sub-account is its balance alone.
	as1.do("POST", "/v1/simulator/deposits", map[string]any{"currency": "USD", "amount": 5000}).must(t, 201)
	var bal struct {
		Data []struct {
			Currency  string `json:"currency"`
			Available int64  `json:"available"`
		} `json:"data"`
	}
	as1.do("GET", "/v1/balances", nil).must(t, 200).decode(t, &bal)
	if len(bal.Data) != 1 || bal.Data[0].Available != 5000 {
		t.Fatalf("the sub-account's balances: %+v", bal.Data)
	}
	parent.do("GET", "/v1/balances", nil).must(t, 200).decode(t, &bal)
	if len(bal.Data) != 0 {
		t.Fatalf("the parent's balances after its sub-account's deposit: %+v", bal.Data)
	}

	// Events: the sub-account's, in its Events API, delivered to its own
	// endpoints (one the parent registered acting for it included); not
	// to the parent's endpoints, not to a sibling's, not in the parent's
	// own Events API.
	var hook, subHook, siblingHook struct{ ID string }
	parent.do("POST", "/v1/webhook-endpoints", map[string]any{"url": "https://hooks.parent.example/x", "event_types": []string{"card.*"}}).must(t, 201).decode(t, &hook)
	as1.do("POST", "/v1/webhook-endpoints", map[string]any{"url": "https://hooks.parent.example/x", "event_types": []string{"card.*"}}).must(t, 201).decode(t, &subHook)
	as2.do("POST", "/v1/webhook-endpoints", map[string]any{"url": "https://hooks.sub-two.example/x", "event_types": []string{"card.*"}}).must(t, 201).decode(t, &siblingHook)
	var late struct {
		ID string `json:"card_id"`
	}
	as1.do("POST", "/v1/cards", map[string]any{"product_id": subCat.product, "card_holder_name": "SUB LATE"}).must(t, 201).decode(t, &late)
	settle(t, e)
	var evs struct {
		Data []struct {
			ID       string `json:"id"`
			TenantID string `json:"tenantid"`
			Subject  string `json:"subject"`
		} `json:"data"`
	}
	as1.do("GET", "/v1/events?type=card.created&card_id="+late.ID, nil).must(t, 200).decode(t, &evs)
	if len(evs.Data) != 1 || evs.Data[0].TenantID != s1.ID {
		t.Fatalf("the sub-account's card.created: %+v", evs.Data)
	}
	parent.do("GET", "/v1/events?card_id="+late.ID, nil).must(t, 200).decode(t, &evs)
	if len(evs.Data) != 0 {
		t.Fatalf("the parent's own events list its sub-account's: %+v", evs.Data)
	}
	deliveries := map[string]int{}
	rows, err := e.db.Pool().Query(ctx, `SELECT d.endpoint_id, d.tenant_id FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id WHERE ev.subject = $1`, late.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var endpoint, tenant string
		if err := rows.Scan(&endpoint, &tenant); err != nil {
			t.Fatal(err)
		}
		if tenant != s1.ID {
			t.Errorf("a delivery of the sub-account's event belongs to %s", tenant)
		}
		deliveries[endpoint]++
	}
	if deliveries[subHook.ID] < 2 || deliveries[hook.ID] != 0 || deliveries[siblingHook.ID] != 0 { // card.created, card.activated
		t.Fatalf("deliveries of the sub-account's card events by endpoint: %v; want its own endpoint's (%s) only", deliveries, subHook.ID)
	}
}

// TestSubAccountScopesAndSignatures runs a production server: a parent's
// key acting for its sub-account keeps exactly its scopes (no reveal
// without the reveal scope; no key with a scope it does not hold), and a
// parent that signs its requests must cover x-on-behalf-of, so that a
// signed request cannot be replayed for another sub-account.
func TestSubAccountScopesAndSignatures(t *testing.T) {
	sandbox := newEnv(t, withCards(t))
	prod := sandbox.instance(withoutSandbox())
	ctx := context.Background()
	p, plainKey, err := prod.svc.CreateTenant(ctx, "Production Parent", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, revealKey, err := prod.svc.CreateAPIKey(ctx, p.ID, issuance.Operator, issuance.KeyRequest{Name: "reveal", Scopes: []string{issuance.ScopeReveal}})
	if err != nil {
		t.Fatal(err)
	}
	plain := &apiClient{e: prod, key: plainKey}
	sub := newSubAccount(t, plain, "Production Sub")
	if sub.Sandbox {
		t.Fatal("a production tenant's sub-account is in sandbox mode")
	}
	asPlain := &apiClient{e: prod, key: plainKey, onBehalfOf: sub.ID}
	asReveal := &apiClient{e: prod, key: revealKey, onBehalfOf: sub.ID}
	// No simulator through a sub-account of a production tenant.
	mustSlug(t, asPlain.do("POST", "/v1/simulator/deposits", map[string]any{"currency": "USD", "amount": 1}), 403, "sandbox_only")

	k := newCatalogKeys(t, prod, p.ID)
	cat := createCatalog(t, prod, plainKey, k, "x-on-behalf-of", sub.ID)
	var card struct {
		ID string `json:"card_id"`
	}
	asPlain.do("POST", "/v1/cards", map[string]any{"product_id": cat.product, "card_holder_name": "SCOPED CARD"}).must(t, 201).decode(t, &card)
	mustSlug(t, asPlain.do("POST", "/v1/cards/"+card.ID+"/reveal", nil), 403, "forbidden")
	var rev struct{ PAN string }
	asReveal.do("POST", "/v1/cards/"+card.ID+"/reveal", nil).must(t, 200).decode(t, &rev)
	if len(rev.PAN) != 16 || !strings.HasPrefix(rev.PAN, k.bins.visa) {
		t.Fatalf("revealed PAN %q, want 16 digits in the parent's range %s", rev.PAN, k.bins.visa)
	}
	ans := asPlain.do("POST", "/v1/api-keys", map[string]any{"name": "widened", "scopes": []string{"reveal"}})
	mustSlug(t, ans, 403, "scope_not_held")
	var subKeys struct{ Data []json.RawMessage }
	asPlain.do("GET", "/v1/api-keys", nil).must(t, 200).decode(t, &subKeys)
	if len(subKeys.Data) != 0 {
		t.Fatalf("the sub-account has keys after a refused creation: %d", len(subKeys.Data))
	}

	// The parent (the sandbox env's tenant) signs its requests.
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e := sandbox
	s := newSubAccount(t, &apiClient{e: e, key: e.key}, "Signed Sub")
	other := newSubAccount(t, &apiClient{e: e, key: e.key}, "Other Signed Sub")
	mustStatus(t, e.do("PUT", "/v1/tenant/signing-key", map[string]any{"key_id": "parent-key", "public_key_pem": publicPEM(t, priv)}), 200)
	body := []byte(`{"layout": "signed-layout"}`)
	now := time.Now()
	signed := e.signedDo("POST", "/v1/card-layouts", body, "parent-key", priv, now, nil, "Idempotency-Key", "signed-1", "x-on-behalf-of", s.ID)
	mustStatus(t, signed, 201)
	// The header added after signing (or changed) is not covered: refused.
	sigRejected(t, e.signedDo("POST", "/v1/card-layouts", body, "parent-key", priv, now, func(r *http.Request) { r.Header.Set("x-on-behalf-of", s.ID) },
		"Idempotency-Key", "signed-2"), "x-on-behalf-of")
	forged := e.signedDo("POST", "/v1/card-layouts", body, "parent-key", priv, now, func(r *http.Request) { r.Header.Set("x-on-behalf-of", other.ID) },
		"Idempotency-Key", "signed-1", "x-on-behalf-of", s.ID)
	if forged.Status != 401 {
		t.Fatalf("a signed request replayed for another sub-account: %d %s, want 401", forged.Status, forged.Body)
	}
	var layouts struct{ Data []json.RawMessage }
	resp := e.signedDo("GET", "/v1/card-layouts", nil, "parent-key", priv, time.Now(), nil, "x-on-behalf-of", other.ID)
	mustStatus(t, resp, 200).JSON(t, &layouts)
	if len(layouts.Data) != 0 {
		t.Fatalf("the other sub-account has %d layouts after the forged request", len(layouts.Data))
	}
}

// TestSubAccountRequestsAreLogged: every request a parent's key makes for
// a sub-account leaves a log line naming the request, the key, the parent
// and the sub-account (the log is the audit of requests that touch no
// card data); the request log names both tenants as well.
func TestSubAccountRequestsAreLogged(t *testing.T) {
	db, _ := newStore(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	deps := issuance.Deps{Tenants: db}
	reg := prometheus.NewRegistry()
	srv, err := rest.New(rest.Config{RateLimit: -1}, rest.Deps{Tenants: db, Idempotency: db, SubAccounts: subaccount.New(db, deps)}, log, reg, reg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	parent, key, err := issuance.NewService(deps).CreateTenant(context.Background(), "Logged Parent", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, base: "http://" + ln.Addr().String()}
	c := &apiClient{e: e, key: key}
	sub := newSubAccount(t, c, "Logged Sub")
	c.onBehalfOf = sub.ID
	ans := c.do("GET", "/v1/tenant", nil, "X-Request-Id", "logged-request-1").must(t, 200)
	if !strings.Contains(string(ans.Body), sub.ID) {
		t.Fatalf("GET /v1/tenant on behalf: %s", ans.Body)
	}
	var found, requestLine bool
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["request_id"] != "logged-request-1" {
			continue
		}
		if rec["tenant_id"] != sub.ID || rec["api_key_tenant_id"] != parent.ID {
			t.Errorf("log line of the request on behalf names tenant %v, key tenant %v: %s", rec["tenant_id"], rec["api_key_tenant_id"], line)
		}
		switch rec["msg"] {
		case "request on behalf of a sub-account":
			found = rec["api_key_id"] != "" && rec["route"] == "/v1/tenant"
		case "request":
			requestLine = true
		}
	}
	if !found || !requestLine {
		t.Fatalf("no audit line (%v) or request line (%v) for the request on behalf:\n%s", found, requestLine, logs.String())
	}
	if strings.Contains(logs.String(), key) {
		t.Fatal("the API key secret reached the log")
	}
}

package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/ledger"
)

// TestTenantIsolation: a session never sees another tenant's objects:
// their ids answer 404 (pages and forms alike, and the form changes
// nothing), and searches list only the session's tenant.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mine, theirs := e.card(e.a, ""), e.card(e.b, "Lin")
	// A key that may reveal, so that the reveal reaches the card look-up.
	_, secret, err := e.svc.CreateAPIKey(context.Background(), e.a.ID, issuance.Operator, issuance.KeyRequest{Name: "support", Scopes: []string{issuance.ScopeReveal}})
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser(e.base)
	b.signIn(secret)
	token := b.csrf("/console/cards/" + mine.ID)
	for _, p := range []page{
		b.get("/console/cards/" + theirs.ID),
		b.post("/console/cards/"+theirs.ID+"/status/freeze", url.Values{"csrf_token": {token}}),
		b.post("/console/cards/"+theirs.ID+"/controls", url.Values{"csrf_token": {token}, "card_limit": {"100"}}),
		b.post("/console/cards/"+theirs.ID+"/reveal", url.Values{"csrf_token": {token}}),
		b.get("/console/cards/not-a-card"),
		b.get("/console/nowhere"),
	} {
		if p.Status != http.StatusNotFound || strings.Contains(p.Body, theirs.MaskedPAN()) {
			t.Errorf("another tenant's card: %d (want 404 without its data)", p.Status)
		}
	}
	if got, _ := e.svc.Card(context.Background(), e.b.ID, theirs.ID); got.Status != issuance.StatusActive || got.Controls().CardLimit != nil && *got.Controls().CardLimit == 100 {
		t.Fatalf("another tenant's card changed: %s", got.Status)
	}
	for _, path := range []string{"/console/cards", "/console/cards?last4=" + theirs.Last4, "/console/cards?cardholder_id=" + theirs.CardholderID} {
		if p := b.get(path); strings.Contains(p.Body, theirs.ID) {
			t.Errorf("%s lists another tenant's card", path)
		}
	}
	keysB, _ := e.svc.APIKeys(context.Background(), e.b.ID)
	if p := b.get("/console/keys"); strings.Contains(p.Body, "Issuer B") || strings.Contains(p.Body, keysB[0].ID) || strings.Count(p.Body, `action="/console/keys/key_`) != 2 {
		t.Errorf("keys page shows other tenants' keys")
	}
}

// TestScopes: the console applies the session key's scopes as the API
// does: without the reveal scope no reveal (403, nothing audited) and no
// key with that scope; with it, the reveal answers the number and the
// audit trail names the key and the request.
func TestScopes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.card(e.a, "")
	pan := e.pan(e.a, c.ID)
	ctx := context.Background()

	audited, _ := e.svc.CardAuditTrail(ctx, e.a.ID, c.ID) // e.pan's own reveal
	plain := e.browser(e.base)
	plain.signIn(e.a.key)
	p := plain.get("/console/cards/"+c.ID).must(t, http.StatusOK)
	if strings.Contains(p.Body, "/reveal") || !strings.Contains(p.Body, "needs a key with the") {
		t.Error("the card page offers a reveal to a key without the scope")
	}
	token := plain.csrf("/console/cards/" + c.ID)
	p = plain.post("/console/cards/"+c.ID+"/reveal", url.Values{"csrf_token": {token}}).must(t, http.StatusForbidden)
	if strings.Contains(p.Body, pan) {
		t.Fatal("a refused reveal shows the number")
	}
	p = plain.post("/console/keys", url.Values{"csrf_token": {token}, "name": {"escalate"}, "scope_reveal": {"1"}}).must(t, http.StatusForbidden)
	if !strings.Contains(p.Body, "does not hold this scope") {
		t.Errorf("no field error for a scope not held:\n%s", p.Body)
	}
	// Bad input shows the API's field error next to the field.
	p = plain.post("/console/keys", url.Values{"csrf_token": {token}, "name": {"   "}}).must(t, http.StatusUnprocessableEntity)
	if !strings.Contains(p.Body, "1-64 printable ASCII characters") {
		t.Errorf("no field error for an empty name")
	}
	if trail, _ := e.svc.CardAuditTrail(ctx, e.a.ID, c.ID); len(trail) != len(audited) {
		t.Fatalf("refused reveal audited: %v", trail)
	}

	k, secret, err := e.svc.CreateAPIKey(ctx, e.a.ID, issuance.Operator, issuance.KeyRequest{Name: "support", Scopes: []string{issuance.ScopeReveal}})
	if err != nil {
		t.Fatal(err)
	}
	rb := e.browser(e.base)
	rb.signIn(secret)
	token = rb.csrf("/console/cards/" + c.ID)
	p = rb.post("/console/cards/"+c.ID+"/reveal", url.Values{"csrf_token": {token}}).must(t, http.StatusOK)
	if !strings.Contains(strings.ReplaceAll(p.Body, " ", ""), pan) || p.Header.Get("Cache-Control") != "no-store" {
		t.Fatal("the reveal does not show the number, or may be cached")
	}
	trail, err := e.svc.CardAuditTrail(ctx, e.a.ID, c.ID)
	if err != nil || len(trail) != len(audited)+1 {
		t.Fatalf("audit trail after a console reveal: %d entries (%v), want %d", len(trail), err, len(audited)+1)
	}
	if last := trail[len(trail)-1]; last.APIKeyID != k.ID || last.RequestID != p.Header.Get("X-Request-Id") || last.Action != issuance.AuditReveal {
		t.Fatalf("audit trail after a console reveal: %+v (%v), request %s", trail, err, p.Header.Get("X-Request-Id"))
	}
	// A key with the scope may give it; the secret shows once.
	p = rb.post("/console/keys", url.Values{"csrf_token": {token}, "name": {"second support"}, "scope_reveal": {"1"}}).must(t, http.StatusCreated)
	if m := regexpKey.FindString(p.Body); m == "" {
		t.Fatal("the new key's secret is not shown")
	} else if strings.Contains(rb.get("/console/keys").Body, m) {
		t.Fatal("the secret is shown again")
	}
}

// TestNoPANInPages: no page but the reveal's answer holds a card number;
// everywhere else it is masked (first six, last four).
func TestNoPANInPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.card(e.a, "Grace")
	pan := e.pan(e.a, c.ID)
	if !strings.HasPrefix(c.MaskedPAN(), pan[:6]) || !strings.HasSuffix(c.MaskedPAN(), pan[len(pan)-4:]) || strings.Contains(c.MaskedPAN(), pan[6:len(pan)-4]) {
		t.Fatalf("masked %s", c.MaskedPAN())
	}
	b := e.browser(e.base)
	b.signIn(e.a.key)
	for _, path := range []string{"/console/", "/console/stream", "/console/cards", "/console/cards/" + c.ID, "/console/products", "/console/keys",
		"/console/cards?last4=" + c.Last4} {
		p := b.get(path).must(t, http.StatusOK)
		if strings.Contains(p.Body, pan) || strings.Contains(p.Body, pan[6:len(pan)-4]) {
			t.Errorf("%s shows the card number", path)
		}
		if path != "/console/" && path != "/console/products" && path != "/console/keys" && path != "/console/stream" && !strings.Contains(p.Body, c.MaskedPAN()) {
			t.Errorf("%s does not show the masked number", path)
		}
	}
}

// TestControlsEditor: the editor saves through the API's validation; bad
// input answers the form with the API's field errors next to the fields
// and changes nothing.
func TestControlsEditor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.card(e.a, "")
	b := e.browser(e.base)
	b.signIn(e.a.key)
	path := "/console/cards/" + c.ID + "/controls"
	token := b.csrf("/console/cards/" + c.ID)
	bad := url.Values{"csrf_token": {token}, "card_limit": {"-5"},
		"spending_controls[0].amount": {"1000"}, "spending_controls[0].interval": {"HOURLY"},
		"risk_controls.blocked_mcc": {"54111"}, "risk_controls.allowed_countries": {"XX"}}
	p := b.post(path, bad).must(t, http.StatusUnprocessableEntity)
	for _, want := range []string{"a positive amount of minor units", "one of PER_TRANSACTION", "a four-digit MCC", "an ISO 3166-1 alpha-2 country code",
		`value="54111"`, `value="-5"`} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("the refused form lacks %q", want)
		}
	}
	p = b.post(path, url.Values{"csrf_token": {token}, "card_limit": {"ten"}}).must(t, http.StatusUnprocessableEntity)
	if !strings.Contains(p.Body, "a whole number of minor units") {
		t.Error("a card limit that is not a number has no field error")
	}
	if got, _ := e.svc.Card(context.Background(), e.a.ID, c.ID); got.Controls().CardLimit != nil && *got.Controls().CardLimit < 0 {
		t.Fatal("refused controls were saved")
	}
	good := url.Values{"csrf_token": {token}, "card_limit": {"50000"},
		"spending_controls[0].amount": {"1000"}, "spending_controls[0].interval": {"DAILY"},
		"spending_controls[1].count": {"3"}, "spending_controls[1].interval": {"WEEKLY"}, "spending_controls[1].mcc": {"5411, 5812"},
		"risk_controls.blocked_mcc": {"7995"}, "risk_controls.allowed_countries": {"us, de"}, "risk_controls.channels.atm": {"blocked"}}
	b.post(path, good).must(t, http.StatusSeeOther)
	got, _ := e.svc.Card(context.Background(), e.a.ID, c.ID)
	ctl := got.Controls()
	if ctl.CardLimit == nil || *ctl.CardLimit != 50000 || len(ctl.SpendingControls) != 2 || *ctl.SpendingControls[1].Count != 3 ||
		strings.Join(ctl.SpendingControls[1].MCC, ",") != "5411,5812" || strings.Join(ctl.RiskControls.BlockedMCC, ",") != "7995" ||
		strings.Join(ctl.RiskControls.AllowedCountries, ",") != "US,DE" || ctl.RiskControls.Channels.ATM == nil || *ctl.RiskControls.Channels.ATM {
		t.Fatalf("saved controls: %+v", ctl)
	}
	// The editor shows what was saved; clearing the fields removes it.
	p = b.get("/console/cards/"+c.ID+"?done=controls").must(t, http.StatusOK)
	if !strings.Contains(p.Body, "The controls are saved.") || !strings.Contains(p.Body, `value="50000"`) || !strings.Contains(p.Body, `value="5411, 5812"`) ||
		!strings.Contains(p.Body, `<td>WEEKLY</td><td>5411, 5812</td>`) || !strings.Contains(p.Body, "available 500.00 USD") {
		t.Error("the editor does not show the saved controls")
	}
	b.post(path, url.Values{"csrf_token": {token}}).must(t, http.StatusSeeOther)
	got, _ = e.svc.Card(context.Background(), e.a.ID, c.ID)
	if ctl := got.Controls(); ctl.CardLimit != nil || len(ctl.SpendingControls) != 0 || len(ctl.RiskControls.BlockedMCC) != 0 {
		t.Fatalf("cleared controls: %+v", ctl)
	}
}

// TestHTMLEscaped: what tenants and acquirers write is text, never markup.
func TestHTMLEscaped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const evil = "<script>alert(1)</script>"
	ctx := context.Background()
	c, _, err := e.svc.CreateCard(ctx, e.a.ID, issuance.CardRequest{ProductID: e.a.product, CardHolderName: "ADA LOVELACE", ReferenceID: evil})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.CreateAPIKey(ctx, e.a.ID, issuance.Operator, issuance.KeyRequest{Name: evil}); err != nil {
		t.Fatal(err)
	}
	b := e.browser(e.base)
	b.signIn(e.a.key)
	for _, path := range []string{"/console/cards/" + c.ID, "/console/cards", "/console/keys", "/console/cards?reference_id=" + url.QueryEscape(evil)} {
		p := b.get(path).must(t, http.StatusOK)
		if strings.Contains(p.Body, evil) || !strings.Contains(p.Body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s does not escape what tenants wrote", path)
		}
	}
	p := b.get("/console/cards?last4=12ab").must(t, http.StatusUnprocessableEntity)
	if !strings.Contains(p.Body, "four digits") {
		t.Error("a bad search shows no field error")
	}
}

// TestSigningTenantRefused: a tenant whose API requests must be signed
// (RFC 9421) cannot sign in with the key alone, or the console would be
// the door that needs less than the API.
func TestSigningTenantRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if err := e.db.SetSigningKey(context.Background(), e.a.ID, "-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----\n", "k1", "ecdsa-p256-sha256"); err != nil {
		t.Fatal(err)
	}
	b := e.browser(e.base)
	p := b.post("/console/login", url.Values{"csrf_token": {b.csrf("/console/login")}, "api_key": {e.a.key}}).must(t, http.StatusForbidden)
	if !strings.Contains(p.Body, "signed API requests") || strings.Contains(strings.Join(p.Header.Values("Set-Cookie"), ";"), "cardhost_console=") && !strings.Contains(strings.Join(p.Header.Values("Set-Cookie"), ";"), "cardhost_console=;") {
		t.Fatalf("signing tenant sign-in:\n%s", p.Body)
	}
}

// TestNotInOpenAPI: the console's pages are not API operations.
func TestNotInOpenAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.browser(e.base).get("/openapi.json").must(t, http.StatusOK)
	if strings.Contains(p.Body, "/console") {
		t.Fatal("/openapi.json lists console routes")
	}
}

var regexpKey = regexp.MustCompile(`chk_[A-Za-z0-9_-]{43}`)

// TestBalances: the overview shows the program balance per currency and a
// funded card's page its balance, from the money ledger.
func TestBalances(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	base, err := e.cat.Product(ctx, e.a.ID, e.a.product)
	if err != nil {
		t.Fatal(err)
	}
	base.ID, base.Name, base.FundingMode = "", "Prepaid", ledger.ModePrepaid
	prepaid, err := e.cat.CreateProduct(ctx, e.a.ID, base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.money.Deposit(ctx, e.a.ID, ledger.DepositRequest{Currency: "USD", Amount: 100000}); err != nil {
		t.Fatal(err)
	}
	c, _, err := e.svc.CreateCard(ctx, e.a.ID, issuance.CardRequest{ProductID: prepaid.ID, CardHolderName: "ADA LOVELACE"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.money.Recharge(ctx, e.a.ID, c.ID, ledger.AmountRequest{Amount: 2500}); err != nil {
		t.Fatal(err)
	}
	b := e.browser(e.base)
	b.signIn(e.a.key)
	p := b.get("/console/").must(t, http.StatusOK)
	if !strings.Contains(p.Body, "Program balances") || !strings.Contains(p.Body, "975.00 USD") {
		t.Errorf("the overview does not show the program balance (1000.00 less 25.00 moved to the card)")
	}
	p = b.get("/console/cards/"+c.ID).must(t, http.StatusOK)
	if !strings.Contains(p.Body, `id="card-balance"`) || !strings.Contains(p.Body, "<strong>25.00 USD</strong>") {
		t.Errorf("the card page does not show the card's balance")
	}
	// A LIMIT card has limits, not a balance; Issuer B has no balance.
	if p := b.get("/console/cards/" + e.card(e.a, "").ID); strings.Contains(p.Body, `id="card-balance"`) {
		t.Error("a LIMIT card shows a balance")
	}
	ob := e.browser(e.base)
	ob.signIn(e.b.key)
	if p := ob.get("/console/"); strings.Contains(p.Body, "Program balances") {
		t.Error("another tenant sees the balances")
	}
}

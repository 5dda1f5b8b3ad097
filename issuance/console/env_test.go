package console_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cardhost/cardhost/cmd/cardhost/sandbox"
	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/softhsm"
	hostpg "github.com/cardhost/cardhost/host/postgres"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/catalog"
	"github.com/cardhost/cardhost/issuance/console"
	"github.com/cardhost/cardhost/issuance/ledger"
	"github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/issuance/postgres/pgtest"
	"github.com/cardhost/cardhost/issuance/rest"
	"github.com/cardhost/cardhost/issuance/webhook"
	whpg "github.com/cardhost/cardhost/issuance/webhook/postgres"
)

// env is the REST API with the console mounted, as cmd/cardhost wires
// them, on a real TCP port over a fresh PostgreSQL schema, in production
// mode (so that the reveal scope matters), with two seeded tenants and a
// clock the test moves.
type env struct {
	t      *testing.T
	db     *postgres.DB
	svc    *issuance.Service
	cat    *catalog.Service
	ledger *hostpg.Ledger
	hooks  *webhook.Service
	money  *ledger.Service
	clock  *clock
	base   string
	a, b   tenant
}

type tenant struct {
	issuance.Tenant
	key     string // an API key without scopes
	product string
}

// clock is the console's clock: real time plus what the test added.
type clock struct {
	mu  sync.Mutex
	add time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.add)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.add += d
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t, postgres.Config{})
	mk := make([]byte, 32)
	rand.Read(mk)
	hsm, err := softhsm.New(softhsm.Config{MasterKeyHex: emv.Sensitive(hex.EncodeToString(mk))}, db.KeyStore())
	if err != nil {
		t.Fatal(err)
	}
	seeder := &sandbox.Seeder{DB: db, HSM: hsm, Log: slog.New(slog.DiscardHandler), Out: io.Discard}
	if err := seeder.EnsurePlatformKeys(ctx); err != nil {
		t.Fatal(err)
	}
	keys, err := db.SystemKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deps := issuance.Deps{Tenants: db, Catalog: db, Cards: db, Keys: keys, Vault: hsm, Logger: slog.New(slog.DiscardHandler)}
	e := &env{t: t, db: db, svc: issuance.NewService(deps), cat: catalog.New(deps), ledger: hostpg.New(db), clock: &clock{},
		hooks: webhook.NewService(webhook.Deps{Store: whpg.New(db), Vault: hsm, SealKeyRef: keys.PANDEK}),
		money: ledger.NewService(ledger.Deps{Store: db, Cards: db, Logger: slog.New(slog.DiscardHandler)})}
	for _, tn := range []*tenant{&e.a, &e.b} {
		name := "Issuer A"
		if tn == &e.b {
			name = "Issuer B"
		}
		if tn.Tenant, tn.key, err = e.svc.CreateTenant(ctx, name, false, nil); err != nil {
			t.Fatal(err)
		}
		if err := seeder.SeedTenant(ctx, tn.ID); err != nil {
			t.Fatal(err)
		}
		ps, _, err := e.cat.Products(ctx, tn.ID, issuance.ProductFilter{})
		if err != nil || len(ps) == 0 {
			t.Fatalf("seeded products of %s: %v (%d)", name, err, len(ps))
		}
		tn.product = ps[0].ID
	}
	e.base = e.serve(console.Config{})
	return e
}

// serve starts another instance (REST API and console over the same
// database) and returns its base URL.
func (e *env) serve(cfg console.Config) string {
	e.t.Helper()
	reg := prometheus.NewRegistry()
	srv, err := rest.New(rest.Config{Version: "test", AuthFailureLimit: 2},
		rest.Deps{Tenants: e.db, Idempotency: e.db, Service: e.svc, Catalog: e.cat, Authorizations: e.ledger, Webhooks: e.hooks, Ledger: e.money, IsUnavailable: postgres.IsUnavailable},
		slog.New(slog.DiscardHandler), reg, reg)
	if err != nil {
		e.t.Fatal(err)
	}
	co, err := console.New(cfg, console.Deps{API: srv, Sessions: e.db, Service: e.svc, Catalog: e.cat, Records: e.ledger, Webhooks: e.hooks, Money: e.money, Now: e.clock.Now}, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	co.Mount(srv.App())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	go srv.Serve(ln)
	e.t.Cleanup(func() {
		co.Shutdown()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String()
}

// card creates a card of the tenant (with a cardholder named name when
// name is not empty).
func (e *env) card(tn tenant, name string) issuance.Card {
	e.t.Helper()
	ctx := context.Background()
	req := issuance.CardRequest{ProductID: tn.product, CardHolderName: "ADA LOVELACE"}
	if name != "" {
		ch, err := e.cat.CreateCardholder(ctx, tn.ID, issuance.Cardholder{FirstName: name, LastName: "Tester", Email: "t@example.com"})
		if err != nil {
			e.t.Fatal(err)
		}
		req.CardholderID = ch.ID
	}
	c, _, err := e.svc.CreateCard(ctx, tn.ID, req)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// pan is a card's full number, read as the operator would.
func (e *env) pan(tn tenant, cardID string) string {
	e.t.Helper()
	r, err := e.svc.RevealCard(context.Background(), issuance.Operator, tn.ID, cardID)
	if err != nil {
		e.t.Fatal(err)
	}
	return r.PAN.Reveal()
}

// browser is a client with a cookie jar that does not follow redirects
// (so that tests see them), like a browser without JavaScript.
type browser struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func (e *env) browser(base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, base: base, hc: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is an answer.
type page struct {
	Status int
	Header http.Header
	Body   string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{Status: resp.StatusCode, Header: resp.Header, Body: string(body)}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.base+path, nil)
	return b.do(req)
}

// post sends a form; headers are name, value pairs.
func (b *browser) post(path string, form url.Values, headers ...string) page {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return b.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf is the CSRF token of the forms on the page at path.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	p := b.get(path)
	m := csrfRE.FindStringSubmatch(p.Body)
	if m == nil {
		b.t.Fatalf("no CSRF token on %s (%d)", path, p.Status)
	}
	return m[1]
}

// signIn signs in with key and checks the redirect to the overview.
func (b *browser) signIn(key string) {
	b.t.Helper()
	p := b.post("/console/login", url.Values{"csrf_token": {b.csrf("/console/login")}, "api_key": {key}})
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/console/" {
		b.t.Fatalf("sign-in: %d to %q, want 303 to /console/\n%s", p.Status, p.Header.Get("Location"), p.Body)
	}
}

// must checks a page's status.
func (p page) must(t *testing.T, status int) page {
	t.Helper()
	if p.Status != status {
		t.Fatalf("status %d, want %d\n%s", p.Status, status, p.Body)
	}
	return p
}

package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/cardhost/cardhost/issuance/ca"
	"github.com/cardhost/cardhost/issuance/catalog"
	"github.com/cardhost/cardhost/issuance/cvv2"
	"github.com/cardhost/cardhost/issuance/reissue"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cardhost/cardhost/emv/softhsm"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/ledger"
	"github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/issuance/postgres/pgtest"
	"github.com/cardhost/cardhost/issuance/rest"
	"github.com/cardhost/cardhost/issuance/subaccount"
	"github.com/cardhost/cardhost/issuance/webhook"
	whpg "github.com/cardhost/cardhost/issuance/webhook/postgres"
)

// env is a REST server on a real TCP port over a fresh PostgreSQL schema
// and a software HSM with a temporary master key.
type env struct {
	t      *testing.T
	db     *postgres.DB
	hsm    *softhsm.HSM
	svc    *issuance.Service
	ca     *ca.Service
	srv    *rest.Server
	base   string
	tenant issuance.Tenant
	key    string // the tenant's API key
	cfg    rest.Config
	deps   issuance.Deps
	bins   map[string]tenantBINs // BIN ranges assigned to the env's tenants (assignBINs)
}

type envOption func(*rest.Config, *issuance.Deps)

// newStore returns a fresh PostgreSQL schema and a software HSM with a
// temporary master key.
func newStore(tb testing.TB) (*postgres.DB, *softhsm.HSM) {
	tb.Helper()
	db := pgtest.New(tb, postgres.Config{})
	mk := filepath.Join(tb.TempDir(), "master.key")
	if _, err := softhsm.GenerateMasterKeyFile(mk, nil); err != nil {
		tb.Fatal(err)
	}
	hsm, err := softhsm.New(softhsm.Config{MasterKeyFile: mk}, db.KeyStore())
	if err != nil {
		tb.Fatal(err)
	}
	return db, hsm
}

// newServer builds a REST server over db for the services of deps (the
// card service, the catalog, the certificate authority and the CVV2
// tries), as cmd/cardhost wires it.
func newServer(tb testing.TB, cfg rest.Config, db *postgres.DB, deps issuance.Deps) (*rest.Server, *issuance.Service, *ca.Service) {
	tb.Helper()
	reg := prometheus.NewRegistry()
	svc, authority := issuance.NewService(deps), ca.New(deps, db)
	vault, _ := deps.Vault.(webhook.Vault)
	hooks := webhook.NewService(webhook.Deps{Store: whpg.New(db), Vault: vault, SealKeyRef: deps.Keys.PANDEK, Sandbox: cfg.Sandbox, Now: deps.Now})
	money := ledger.NewService(ledger.Deps{Store: db, Cards: db, Now: deps.Now})
	srv, err := rest.New(cfg, rest.Deps{Tenants: db, Idempotency: db, Service: svc, Catalog: catalog.New(deps), CA: authority, CVV2: cvv2.New(deps), Reissue: reissue.New(svc, deps, db), Webhooks: hooks,
		Ledger: money, SubAccounts: subaccount.New(db, deps), IsUnavailable: postgres.IsUnavailable,
		Ready: []rest.ReadyCheck{{Name: "postgres", Check: db.Ping}}}, slog.New(slog.DiscardHandler), reg, reg)
	if err != nil {
		tb.Fatal(err)
	}
	return srv, svc, authority
}

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	db, hsm := newStore(t)
	e := &env{t: t, db: db, hsm: hsm, bins: map[string]tenantBINs{}}
	e.serve(rest.Config{Sandbox: true, Version: "test", RateLimit: -1}, issuance.Deps{Tenants: db, Vault: hsm, Sandbox: true}, opts...)
	var err error
	e.tenant, e.key, err = e.svc.CreateTenant(context.Background(), "Test Issuer", true, []string{issuance.ScopeReveal})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// instance returns another server over the env's database and HSM (a
// second instance of the service, with the same platform keys), with the
// env's tenant and key; opts change its configuration.
func (e *env) instance(opts ...envOption) *env {
	e.t.Helper()
	o := &env{t: e.t, db: e.db, hsm: e.hsm, tenant: e.tenant, key: e.key, bins: e.bins}
	o.serve(e.cfg, e.deps, opts...)
	return o
}

// serve builds the env's service and server from cfg and deps changed by
// opts, and serves it on a loopback port until the test ends.
func (e *env) serve(cfg rest.Config, deps issuance.Deps, opts ...envOption) {
	e.t.Helper()
	for _, o := range opts {
		o(&cfg, &deps)
	}
	e.cfg, e.deps = cfg, deps
	e.srv, e.svc, e.ca = newServer(e.t, cfg, e.db, deps)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	go e.srv.Serve(ln)
	srv := e.srv
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	e.base = "http://" + ln.Addr().String()
}

// response is a decoded HTTP response.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v (failing the test on error).
func (r response) JSON(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
}

// problem decodes a problem+json body and checks its content type.
func (r response) problem(t *testing.T) rest.Problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json (body %s)", ct, r.Body)
	}
	var p rest.Problem
	r.JSON(t, &p)
	return p
}

// do sends a request with the env's API key; body may be nil, a []byte or
// a value to encode as JSON. headers are name, value pairs.
func (e *env) do(method, path string, body any, headers ...string) response {
	return e.doKey(e.key, method, path, body, headers...)
}

func (e *env) doKey(key, method, path string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// concurrently sends n requests at once and returns their answers.
func concurrently(n int, send func() response) []response {
	results := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = send()
		}()
	}
	wg.Wait()
	return results
}

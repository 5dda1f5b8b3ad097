package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/softhsm"
	"github.com/cardhost/cardhost/issuance"
	issuancepg "github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/issuance/postgres/pgtest"
	"github.com/cardhost/cardhost/issuance/webhook"
	whpg "github.com/cardhost/cardhost/issuance/webhook/postgres"
	"github.com/cardhost/cardhost/issuance/webhook/sender"
	"github.com/cardhost/cardhost/kafka"
)

// clock is a clock a test moves by hand; nil-safe users fall back to
// the real time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// harness is a real PostgreSQL schema, a software HSM, the webhook store
// and service over them.
type harness struct {
	t     *testing.T
	db    *issuancepg.DB
	hsm   *softhsm.HSM
	store *whpg.Store
	svc   *webhook.Service
	iss   *issuance.Service
	now   func() time.Time
}

func newHarness(t *testing.T, now func() time.Time) *harness {
	t.Helper()
	db := pgtest.New(t, issuancepg.Config{})
	mk := filepath.Join(t.TempDir(), "master.key")
	if _, err := softhsm.GenerateMasterKeyFile(mk, nil); err != nil {
		t.Fatal(err)
	}
	hsm, err := softhsm.New(softhsm.Config{MasterKeyFile: mk}, db.KeyStore())
	if err != nil {
		t.Fatal(err)
	}
	dek, err := hsm.GenerateKey(context.Background(), softhsm.KeyRequest{Type: emv.KeyPANDEK})
	if err != nil {
		t.Fatal(err)
	}
	if now == nil {
		now = time.Now
	}
	store := whpg.New(db)
	return &harness{t: t, db: db, hsm: hsm, store: store, now: now,
		svc: webhook.NewService(webhook.Deps{Store: store, Vault: hsm, SealKeyRef: dek.Ref, Sandbox: true, Now: now}),
		iss: issuance.NewService(issuance.Deps{Tenants: db, Vault: hsm, Sandbox: true, Now: now})}
}

// tenant creates a tenant and returns its id.
func (h *harness) tenant(name string) string {
	h.t.Helper()
	ten, _, err := h.iss.CreateTenant(context.Background(), name, true, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return ten.ID
}

// emit writes a card event of the tenant to the outbox, as a change's
// transaction does.
func (h *harness) emit(tenant, typ, card string) kafka.Event {
	h.t.Helper()
	now := h.now()
	e, err := kafka.NewEvent(typ, card, tenant, kafka.CardData{ID: card, TenantID: tenant, Status: "FROZEN", Type: "VIRTUAL",
		Currency: "EUR", CreatedAt: now.UTC(), UpdatedAt: now.UTC()}, now)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx := context.Background()
	if err := pgx.BeginFunc(ctx, h.db.Pool(), func(tx pgx.Tx) error { return issuancepg.InsertEvents(ctx, tx, []kafka.Event{e}) }); err != nil {
		h.t.Fatal(err)
	}
	return e
}

// endpoint registers an endpoint and returns it with its secret.
func (h *harness) endpoint(tenant, url string, types ...string) (webhook.Endpoint, string) {
	h.t.Helper()
	e, secret, err := h.svc.CreateEndpoint(context.Background(), tenant, webhook.EndpointRequest{URL: url, EventTypes: types})
	if err != nil {
		h.t.Fatal(err)
	}
	return e, secret.Reveal()
}

// run starts a dispatcher over the harness until the test ends (or stop
// is called) and returns it with its stop function.
func (h *harness) run(cfg webhook.Config, tlsRoots *x509.CertPool) (*webhook.Dispatcher, func()) {
	h.t.Helper()
	s := sender.New(sender.Config{AllowPrivate: true, TLS: &tls.Config{RootCAs: tlsRoots, MinVersion: tls.VersionTLS12}})
	d := webhook.NewDispatcher(cfg, h.store, h.hsm, s, nil, nil, h.now)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done; s.Close() }) }
	h.t.Cleanup(stop)
	return d, stop
}

// received is one request a receiver got.
type received struct {
	ID, Timestamp, Signature, ContentType string
	Body                                  []byte
	At                                    time.Time
}

// receiver is an HTTPS endpoint on loopback that records what it gets
// and answers with respond (200 when nil).
type receiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	got     []received
	active  int
	most    int // most requests in flight at once
	respond func(n int, w http.ResponseWriter, r *http.Request)
}

func newReceiver(t *testing.T, respond func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	rc := &receiver{respond: respond}
	rc.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{ID: r.Header.Get("webhook-id"), Timestamp: r.Header.Get("webhook-timestamp"),
			Signature: r.Header.Get("webhook-signature"), ContentType: r.Header.Get("Content-Type"), Body: body, At: time.Now()})
		n := len(rc.got)
		rc.active++
		rc.most = max(rc.most, rc.active)
		rc.mu.Unlock()
		defer func() { rc.mu.Lock(); rc.active--; rc.mu.Unlock() }()
		if rc.respond != nil {
			rc.respond(n, w, r)
		}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// roots trusts httptest's TLS certificate (every TLS test server shares it).
func (rc *receiver) roots() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(rc.srv.Certificate())
	return p
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
	}
}

// verifiedBy checks a received request's signature the way an issuer
// would, with the standard library only (not package whsig): one of the
// space-separated v1 signatures is base64(HMAC-SHA256(secret, id.ts.body)).
func verifiedBy(secret string, r received) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(r.ID + "." + r.Timestamp + "."))
	mac.Write(r.Body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, s := range strings.Split(r.Signature, " ") {
		if hmac.Equal([]byte(s), []byte(want)) {
			return true
		}
	}
	return false
}

package host_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/host"
	hostpg "github.com/cardhost/cardhost/host/postgres"
	"github.com/cardhost/cardhost/issuance/webhook"
	whpg "github.com/cardhost/cardhost/issuance/webhook/postgres"
	"github.com/cardhost/cardhost/issuance/webhook/sender"
	"github.com/cardhost/cardhost/issuance/whsig"
	"github.com/cardhost/cardhost/kafka"
)

// issuerReceiver is a tenant's decision endpoint: it verifies each
// request's Standard Webhooks signature and answers what answer returns
// (after sleep).
type issuerReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	secret whsig.Secret
	status int
	body   string
	sleep  time.Duration
	got    []host.IssuerRequest
	bad    int // requests whose signature did not verify
	// slowAmount: a request for this amount waits a second more.
	slowAmount int64
	// location, when set, is sent as the answer's Location header.
	location string
}

func newIssuerReceiver(t *testing.T) *issuerReceiver {
	r := &issuerReceiver{status: 200, body: `{"approved": true}`}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		secret, status, body, sleep, location := r.secret, r.status, r.body, r.sleep, r.location
		var q host.IssuerRequest
		if whsig.Verify(req.Header, b, time.Now(), time.Minute, secret) != nil || json.Unmarshal(b, &q) != nil ||
			req.Header.Get("webhook-id") != q.ID {
			r.bad++
		}
		r.got = append(r.got, q)
		if r.slowAmount != 0 && q.Amount == r.slowAmount {
			sleep += time.Second
		}
		r.mu.Unlock()
		select {
		case <-time.After(sleep):
		case <-req.Context().Done():
			return
		}
		if location != "" {
			w.Header().Set("Location", location)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *issuerReceiver) answer(status int, body string, sleep time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status, r.body, r.sleep = status, body, sleep
}

func (r *issuerReceiver) calls() (int, []host.IssuerRequest, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got), append([]host.IssuerRequest(nil), r.got...), r.bad
}

// decided reads who decided the card's newest authorization, from its
// stored record and from its event.
func (e *hostEnv) decided(cardID string) (record, event string, latency *int64) {
	e.t.Helper()
	err := e.db.Pool().QueryRow(context.Background(), `SELECT decided_by, issuer_latency_ms FROM authorizations
		WHERE card_id = $1 ORDER BY decided_at DESC, id DESC LIMIT 1`, cardID).Scan(&record, &latency)
	if err != nil {
		e.t.Fatal(err)
	}
	var d kafka.AuthorizationData
	if err := e.lastEvent(cardID).DecodeData(&d); err != nil {
		e.t.Fatal(err)
	}
	if (d.IssuerLatencyMS == nil) != (latency == nil) {
		e.t.Fatalf("event latency %v, record latency %v", d.IssuerLatencyMS, latency)
	}
	return record, d.DecidedBy, latency
}

// decisionEnv is a host whose tenant has a decision endpoint (rcv),
// set through the webhook service over the env's database and HSM.
type decisionEnv struct {
	*hostEnv
	rcv    *issuerReceiver
	svc    *webhook.Service
	engine *host.Engine
	client *terminal.Client
	put    func(timeoutMS int, action string)
}

// tune, when given, changes the env (its ISO decision timeout, the
// decisions' Reserve) before the engine starts.
func newDecisionEnv(t *testing.T, tune ...func(*hostEnv)) *decisionEnv {
	e := newHostEnv(t)
	ctx := context.Background()
	rcv := newIssuerReceiver(t)
	store := whpg.New(e.db)
	svc := webhook.NewService(webhook.Deps{Store: store, Decisions: store, Vault: e.hsm, SealKeyRef: e.keys[emv.KeyPANDEK], Sandbox: true})
	put := func(timeoutMS int, action string) {
		t.Helper()
		_, secret, err := svc.PutDecision(ctx, e.tenant, webhook.DecisionRequest{URL: rcv.srv.URL + "/decide", TimeoutMS: &timeoutMS, DefaultAction: action})
		if err != nil {
			t.Fatal(err)
		}
		if secret != nil {
			rcv.mu.Lock()
			rcv.secret = secret
			rcv.mu.Unlock()
		}
	}
	put(500, webhook.ActionDecline)
	e.decisions = host.DecisionsConfig{
		Load: func(ctx context.Context) ([]host.DecisionEndpoint, error) {
			eps, err := svc.OpenDecisions(ctx)
			out := make([]host.DecisionEndpoint, len(eps))
			for i, d := range eps {
				out[i] = host.DecisionEndpoint{TenantID: d.TenantID, URL: d.URL, Timeout: time.Duration(d.TimeoutMS) * time.Millisecond,
					DefaultApprove: d.DefaultAction == webhook.ActionApprove, Secret: d.Secret}
			}
			return out, err
		},
		Caller: sender.New(sender.Config{AllowPrivate: true}),
	}
	for _, f := range tune {
		f(e)
	}
	engine, addr := e.serve(hostpg.New(e.db), e.hsm, nil, prometheus.NewRegistry())
	e.addr = addr
	client := e.dial()
	return &decisionEnv{hostEnv: e, rcv: rcv, svc: svc, engine: engine, client: client, put: put}
}

// TestIssuerDecisions, over TCP, PostgreSQL and real HTTP: the tenant's
// decision endpoint (set through the webhook service, its secret sealed
// in the database) is asked for each authorization the host's checks
// approved, with a signed request; approve, decline with a reason,
// partial approval (and its refusal without field 48.04), non-2xx,
// garbage, a redirect (not followed), a body over the limit, and a
// timeout under each default action decide as docs/webhooks.md says, and
// the record and its event say who decided. A host decline asks no one.
func TestIssuerDecisions(t *testing.T) {
	d := newDecisionEnv(t)
	e, rcv, svc, engine, client, put, ctx := d.hostEnv, d.rcv, d.svc, d.engine, d.client, d.put, context.Background()
	limit := int64(5000)
	card := e.newCard(cardOpts{limit: &limit})
	spent := int64(0)

	step := func(what string, m msg, code, reason, by string, amount int64, asked bool) {
		t.Helper()
		before, _, _ := rcv.calls()
		a := e.send(client, e.build(card, m))
		if a.code != code {
			t.Fatalf("%s: answered %s, want %s", what, a.code, code)
		}
		if got := e.lastReason(card.ID); got != reason {
			t.Fatalf("%s: reason %s, want %s", what, got, reason)
		}
		rec, ev, latency := e.decided(card.ID)
		if rec != by || ev != by {
			t.Fatalf("%s: decided_by %s (record) and %s (event), want %s", what, rec, ev, by)
		}
		if (latency != nil) != asked {
			t.Fatalf("%s: issuer latency %v, asked %v", what, latency, asked)
		}
		n, got, bad := rcv.calls()
		if want := before; asked {
			want++
			if n != want {
				t.Fatalf("%s: the issuer was asked %d times, want %d", what, n-before, 1)
			}
			if bad != 0 {
				t.Fatalf("%s: %d requests without a valid signature", what, bad)
			}
			q := got[n-1]
			if q.CardID != card.ID || q.Type != host.IssuerRequestType || q.Amount != m.amountOr(1000) || q.Currency != "USD" || q.MCC != "5411" ||
				q.PartialApproval != m.partial || q.TimeoutAt.IsZero() {
				t.Fatalf("%s: the issuer was asked %+v", what, q)
			}
		} else if n != before {
			t.Fatalf("%s: the issuer was asked", what)
		}
		if code == "00" || code == "10" {
			spent += amount
			if a.amount != amount {
				t.Fatalf("%s: approved %d, want %d", what, a.amount, amount)
			}
		}
		if _, total, _ := e.cardState(card.ID); total != spent {
			t.Fatalf("%s: card total %d, want %d", what, total, spent)
		}
	}

	rcv.answer(200, `{"approved": true}`, 0)
	step("issuer approves", msg{}, "00", "approved", "issuer", 1000, true)
	rcv.answer(200, `{"approved": false, "reason": "insufficient_funds"}`, 0)
	step("issuer declines, insufficient funds", msg{}, "51", "issuer_insufficient_funds", "issuer", 0, true)
	rcv.answer(200, `{"approved": false}`, 0)
	step("issuer declines", msg{}, "05", "issuer_declined", "issuer", 0, true)
	rcv.answer(200, `{"approved": true, "amount": 400}`, 0)
	step("issuer approves part, acquirer allows it", msg{partial: true}, "10", "partial_approval", "issuer", 400, true)
	step("issuer approves part, acquirer does not allow it", msg{}, "05", "issuer_declined", "issuer", 0, true)
	rcv.answer(500, `{"approved": true}`, 0)
	step("issuer answers 500, default DECLINE", msg{}, "05", "issuer_unavailable", "issuer_error", 0, true)
	rcv.answer(200, `not json`, 0)
	step("issuer answers garbage, default DECLINE", msg{}, "05", "issuer_unavailable", "issuer_error", 0, true)
	// A redirect is not followed (its target would approve), and a body
	// over 64 KiB is not read (it approves too).
	var followed atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		followed.Add(1)
		io.WriteString(w, `{"approved": true}`)
	}))
	defer target.Close()
	rcv.mu.Lock()
	rcv.location = target.URL + "/decide"
	rcv.mu.Unlock()
	rcv.answer(http.StatusTemporaryRedirect, "", 0)
	step("issuer redirects, default DECLINE", msg{}, "05", "issuer_unavailable", "issuer_error", 0, true)
	if n := followed.Load(); n != 0 {
		t.Fatalf("the redirect was followed %d times", n)
	}
	rcv.mu.Lock()
	rcv.location = ""
	rcv.mu.Unlock()
	rcv.answer(200, `{"approved": true, "pad": "`+strings.Repeat("x", 100<<10)+`"}`, 0)
	step("issuer answers 100 KiB, default DECLINE", msg{}, "05", "issuer_unavailable", "issuer_error", 0, true)
	rcv.answer(200, `{"approved": true}`, 2*time.Second)
	start := time.Now()
	step("issuer too slow, default DECLINE", msg{}, "05", "issuer_unavailable", "issuer_timeout", 0, true)
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("a 500 ms timeout took %v", d)
	}
	put(300, webhook.ActionApprove)
	engine.RefreshDecisionEndpoints(ctx)
	step("issuer too slow, default APPROVE", msg{}, "00", "approved", "issuer_timeout", 1000, true)
	rcv.answer(200, `{"approved": true}`, 0)
	step("host's checks decline first: the issuer is not asked", msg{amount: 9000}, "51", "card_limit_exceeded", "host", 0, false)
	n, _, _ := rcv.calls()
	if a := e.send(client, e.build(card, msg{processing: "200000"})); a.code != "00" {
		t.Fatalf("refund: answered %s", a.code)
	}
	if rec, _, _ := e.decided(card.ID); rec != "host" {
		t.Fatalf("refund: decided_by %s", rec)
	}
	if m, _, _ := rcv.calls(); m != n {
		t.Fatal("a refund was sent to the issuer")
	}
	spent -= 1000

	// Without an endpoint the host decides alone again.
	if err := svc.DeleteDecision(ctx, e.tenant); err != nil {
		t.Fatal(err)
	}
	engine.RefreshDecisionEndpoints(ctx)
	step("no endpoint: the host decides", msg{}, "00", "approved", "host", 1000, false)
}

func (m msg) amountOr(d int64) int64 {
	if m.amount == 0 {
		return d
	}
	return m.amount
}

// TestIssuerCallOutsideTheCardLock: while the issuer takes its time over
// one request, a second request of the same card is decided (the first
// has let go of the card): the call holds no lock, and the answers still
// add up (both approvals counted once each).
func TestIssuerCallOutsideTheCardLock(t *testing.T) {
	d := newDecisionEnv(t)
	d.rcv.slowAmount = 1111
	d.put(3000, webhook.ActionDecline)
	d.engine.RefreshDecisionEndpoints(context.Background())
	d.rcv.answer(200, `{"approved": true}`, 0)
	card := d.newCard(cardOpts{})
	other := d.dial()
	type res struct {
		a  answer
		at time.Time
	}
	slow, fast := make(chan res, 1), make(chan res, 1)
	go func() { a := d.send(d.client, d.build(card, msg{amount: 1111})); slow <- res{a, time.Now()} }()
	time.Sleep(200 * time.Millisecond) // the slow request is at the issuer
	go func() { a := d.send(other, d.build(card, msg{amount: 2222})); fast <- res{a, time.Now()} }()
	f, s := <-fast, <-slow
	if f.a.code != "00" || s.a.code != "00" {
		t.Fatalf("answers %s and %s, want 00 00", s.a.code, f.a.code)
	}
	if !f.at.Before(s.at) {
		t.Fatal("the second request of the card waited for the first one's issuer call")
	}
	if _, total, _ := d.cardState(card.ID); total != 1111+2222 {
		t.Fatalf("card total %d, want %d", total, 1111+2222)
	}
}

// TestIssuerDecisionDeadline: the ISO decision timeout
// (CARDHOST_ISO_DECISION_TIMEOUT) bounds the issuer call. An issuer slower
// than it, whose timeout_ms is longer, is given up at that deadline less
// the reserve kept for the commit: issuer_timeout, and the default action
// answered before the deadline (not 91). When the deadline leaves less
// than 50 ms for a call, the host calls no one and applies the default
// action: stand_in.
func TestIssuerDecisionDeadline(t *testing.T) {
	ctx := context.Background()
	t.Run("issuer slower than the ISO deadline", func(t *testing.T) {
		d := newDecisionEnv(t, func(e *hostEnv) { e.isoDecisionTimeout, e.decisions.Reserve = 3*time.Second, time.Second })
		d.put(3000, webhook.ActionDecline)
		d.engine.RefreshDecisionEndpoints(ctx)
		d.rcv.answer(200, `{"approved": true}`, 10*time.Second)
		card := d.newCard(cardOpts{})
		start := time.Now()
		if a := d.send(d.client, d.build(card, msg{})); a.code != "05" {
			t.Fatalf("answered %s, want 05 (default DECLINE) before the ISO deadline", a.code)
		}
		if r := d.lastReason(card.ID); r != "issuer_unavailable" {
			t.Fatalf("reason %s, want issuer_unavailable", r)
		}
		if rec, ev, latency := d.decided(card.ID); rec != "issuer_timeout" || ev != "issuer_timeout" || latency == nil {
			t.Fatalf("decided_by %s (record), %s (event), latency %v; want issuer_timeout", rec, ev, latency)
		}
		// timeout_at is the ISO deadline less the reserve (about 2 s from
		// the request), not timeout_ms (3 s) from the call.
		n, got, _ := d.rcv.calls()
		if n != 1 || !got[0].TimeoutAt.Before(start.Add(3*time.Second)) {
			t.Fatalf("%d calls, timeout_at %v for a request sent at %v", n, got, start)
		}
	})
	t.Run("no time left for a call", func(t *testing.T) {
		// 2 s less a reserve of 1.98 s: 20 ms at most for the call.
		d := newDecisionEnv(t, func(e *hostEnv) {
			e.isoDecisionTimeout, e.decisions.Reserve = 2*time.Second, 2*time.Second-20*time.Millisecond
		})
		d.put(3000, webhook.ActionApprove)
		d.engine.RefreshDecisionEndpoints(ctx)
		d.rcv.answer(200, `{"approved": false}`, 0) // were it asked, it would decline
		card := d.newCard(cardOpts{})
		if a := d.send(d.client, d.build(card, msg{})); a.code != "00" {
			t.Fatalf("answered %s, want 00 (default APPROVE)", a.code)
		}
		if rec, ev, latency := d.decided(card.ID); rec != "stand_in" || ev != "stand_in" || latency != nil {
			t.Fatalf("decided_by %s (record), %s (event), latency %v; want stand_in without latency", rec, ev, latency)
		}
		if n, _, _ := d.rcv.calls(); n != 0 {
			t.Fatalf("the issuer was called %d times", n)
		}
	})
}

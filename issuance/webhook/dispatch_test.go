package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/webhook"
	"github.com/cardhost/cardhost/kafka"
)

// fast is a dispatcher configuration for tests: short polls, a short
// schedule without jitter.
func fast(schedule ...time.Duration) webhook.Config {
	if len(schedule) == 0 {
		schedule = []time.Duration{0, 100 * time.Millisecond, 100 * time.Millisecond}
	}
	return webhook.Config{Schedule: schedule, Jitter: -1, PollInterval: 20 * time.Millisecond, Timeout: 5 * time.Second}
}

// TestDeliverySigned: an event is POSTed once to the endpoint of its
// tenant that subscribes to it, as CloudEvents JSON, with the Standard
// Webhooks headers and a signature an issuer verifies with the standard
// library; an endpoint subscribed to other types and another tenant's get
// nothing, nor does an event from before the endpoint existed. The
// attempt is in the Events API.
func TestDeliverySigned(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	a, b := h.tenant("Tenant A"), h.tenant("Tenant B")
	early := h.emit(a, kafka.TypeCardFrozen, "crd_EARLY")
	rc := newReceiver(t, nil)
	other := newReceiver(t, nil)
	ep, secret := h.endpoint(a, rc.srv.URL+"/hooks?token=t0k3n", "card.*")
	h.endpoint(a, other.srv.URL, "authorization.*")
	h.endpoint(b, other.srv.URL, "card.*")
	ev := h.emit(a, kafka.TypeCardFrozen, "crd_01")
	h.run(fast(), rc.roots())

	waitFor(t, 10*time.Second, "the delivery", func() bool { return len(rc.requests()) == 1 })
	time.Sleep(200 * time.Millisecond)
	got := rc.requests()
	if len(got) != 1 || len(other.requests()) != 0 {
		t.Fatalf("deliveries: %d to the endpoint, %d to the others; want 1 and 0", len(got), len(other.requests()))
	}
	r := got[0]
	if r.ID != ev.ID || r.ContentType != "application/json" || !verifiedBy(secret, r) {
		t.Fatalf("delivery %+v: want webhook-id %s, JSON and a valid signature", r, ev.ID)
	}
	ts, _ := strconv.ParseInt(r.Timestamp, 10, 64)
	if d := time.Since(time.Unix(ts, 0)); d < -2*time.Second || d > 10*time.Second {
		t.Errorf("webhook-timestamp %s is %v from now", r.Timestamp, d)
	}
	var body kafka.Event
	if err := json.Unmarshal(r.Body, &body); err != nil || !body.Equal(ev) {
		t.Fatalf("body %s: want the event %+v (%v)", r.Body, ev, err)
	}
	if verifiedBy(secret, received{ID: r.ID, Timestamp: r.Timestamp, Signature: r.Signature, Body: append(r.Body, ' ')}) {
		t.Fatal("the independent verifier accepts a changed body: it proves nothing")
	}
	waitFor(t, 5*time.Second, "the attempt recorded", func() bool { att, _ := h.svc.Attempts(ctx, a, ev.ID); return len(att.Data) == 1 })
	att, err := h.svc.Attempts(ctx, a, ev.ID)
	if err != nil || len(att.Data) != 1 || !att.Data[0].Delivered || att.Data[0].StatusCode != 200 || att.Data[0].EndpointID != ep.ID || att.Data[0].Attempt != 1 {
		t.Fatalf("attempts: %+v, %v", att, err)
	}
	if _, err := h.svc.Attempts(ctx, b, ev.ID); !errors.Is(err, issuance.ErrNotFound) {
		t.Fatalf("tenant B reads tenant A's attempts: %v", err)
	}
	list, _, err := h.svc.Events(ctx, a, webhook.EventFilter{})
	if err != nil || len(list) != 3 || list[0].ID != ev.ID || list[1].ID != early.ID || list[2].Type != kafka.TypeTenantCreated {
		t.Fatalf("events of A: %v, %v; want the delivered, the early and tenant.created, newest first", list, err)
	}
}

// TestRetryOnShortSchedule: failures are retried on the schedule with
// the same webhook-id until a 2xx; a delivery that fails every attempt of
// the schedule stops, failed. Every attempt is listed with its status,
// duration and, when it failed, why.
func TestRetryOnShortSchedule(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	ten := h.tenant("Retry")
	flaky := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= 2 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	down := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	_, secret := h.endpoint(ten, flaky.srv.URL, "card.frozen")
	h.endpoint(ten, down.srv.URL, "card.frozen")
	ev := h.emit(ten, kafka.TypeCardFrozen, "crd_01")
	h.run(fast(0, 150*time.Millisecond, 300*time.Millisecond), flaky.roots())

	waitFor(t, 10*time.Second, "three attempts to each endpoint", func() bool { return len(flaky.requests()) == 3 && len(down.requests()) == 3 })
	time.Sleep(600 * time.Millisecond) // a fourth attempt would come by now
	got := flaky.requests()
	if len(got) != 3 || len(down.requests()) != 3 {
		t.Fatalf("attempts: %d and %d, want 3 and 3 (the schedule has three)", len(got), len(down.requests()))
	}
	for i, r := range got {
		if r.ID != ev.ID || !verifiedBy(secret, r) {
			t.Fatalf("attempt %d: webhook-id %s, want %s, with a valid signature", i+1, r.ID, ev.ID)
		}
	}
	if gap := got[1].At.Sub(got[0].At); gap < 140*time.Millisecond {
		t.Errorf("second attempt %v after the first, want the schedule's 150ms", gap)
	}
	if gap := got[2].At.Sub(got[1].At); gap < 290*time.Millisecond {
		t.Errorf("third attempt %v after the second, want the schedule's 300ms", gap)
	}
	waitFor(t, 5*time.Second, "six attempts recorded", func() bool { att, _ := h.svc.Attempts(ctx, ten, ev.ID); return len(att.Data) == 6 })
	att, err := h.svc.Attempts(ctx, ten, ev.ID)
	if err != nil || len(att.Data) != 6 {
		t.Fatalf("attempts: %+v, %v", att, err)
	}
	var codes []string
	for _, a := range att.Data {
		codes = append(codes, strconv.Itoa(a.Attempt)+":"+strconv.Itoa(a.StatusCode))
	}
	s := strings.Join(codes, " ")
	for _, want := range []string{"1:500", "2:500", "3:200", "1:502", "2:502", "3:502"} {
		if !strings.Contains(s, want) {
			t.Fatalf("attempts %s: want %s among them", s, want)
		}
	}
	// As GET /v1/events/{id}/attempts answers them: each has its duration
	// in milliseconds, a failed one says why, a delivered one has no error.
	b, _ := json.Marshal(att)
	var answer struct{ Data []map[string]any }
	if err := json.Unmarshal(b, &answer); err != nil || len(answer.Data) != 6 {
		t.Fatalf("attempts as JSON: %s, %v", b, err)
	}
	for _, a := range answer.Data {
		ms, isNum := a["duration_ms"].(float64)
		msg, _ := a["error"].(string)
		if !isNum || ms < 0 || ms != float64(int64(ms)) || (a["delivered"] == true) != (msg == "") ||
			(msg != "" && !strings.Contains(msg, strconv.Itoa(int(a["status_code"].(float64))))) {
			t.Errorf("attempt %v: want a duration_ms of 0 or more, and an error naming the status exactly when not delivered", a)
		}
	}
}

// TestRetryAfterHonoured: a 503 with Retry-After: 1 is retried no sooner
// than a second later, though the schedule says 50ms.
func TestRetryAfterHonoured(t *testing.T) {
	h := newHarness(t, nil)
	ten := h.tenant("Retry-After")
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	h.endpoint(ten, rc.srv.URL, "card.*")
	h.emit(ten, kafka.TypeCardFrozen, "crd_01")
	h.run(fast(0, 50*time.Millisecond), rc.roots())
	waitFor(t, 10*time.Second, "the retry", func() bool { return len(rc.requests()) == 2 })
	got := rc.requests()
	if gap := got[1].At.Sub(got[0].At); gap < 950*time.Millisecond {
		t.Fatalf("retried %v after a Retry-After of 1s", gap)
	}
}

// TestGoneDisablesEndpoint: a 410 disables the endpoint at once (reason
// gone), fails its other pending deliveries, publishes
// webhook_endpoint.disabled, and nothing more is sent to it.
func TestGoneDisablesEndpoint(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	ten := h.tenant("Gone")
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) })
	ep, _ := h.endpoint(ten, rc.srv.URL, "card.*")
	h.emit(ten, kafka.TypeCardFrozen, "crd_01")
	_, stop := h.run(webhook.Config{Schedule: []time.Duration{0, time.Hour}, PollInterval: 20 * time.Millisecond, PerEndpoint: 1}, rc.roots())
	waitFor(t, 10*time.Second, "the endpoint to be disabled", func() bool {
		e, err := h.svc.Endpoint(ctx, ten, ep.ID)
		return err == nil && e.Disabled
	})
	e, _ := h.svc.Endpoint(ctx, ten, ep.ID)
	if e.DisabledReason != webhook.DisabledGone || e.DisabledAt == nil {
		t.Fatalf("endpoint %+v: want disabled, reason gone", e)
	}
	h.emit(ten, kafka.TypeCardUnfrozen, "crd_01")
	time.Sleep(300 * time.Millisecond)
	stop()
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("the endpoint got %d requests, want 1 (nothing after its 410)", n)
	}
	var reason, subject string
	if err := h.db.Pool().QueryRow(ctx, `SELECT data->>'reason', subject FROM outbox WHERE type = $1 AND data->>'id' = $2`,
		kafka.TypeWebhookEndpointDisabled, ep.ID).Scan(&reason, &subject); err != nil || reason != "gone" || subject != ten {
		t.Fatalf("webhook_endpoint.disabled in the outbox: %q %q %v", reason, subject, err)
	}
	var pending int
	h.db.Pool().QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'pending'`, ep.ID).Scan(&pending)
	if pending != 0 {
		t.Fatalf("%d deliveries still pending to a disabled endpoint", pending)
	}
}

// TestFailingFiveDaysDisablesEndpoint: an endpoint that failed every
// attempt for 5 days is disabled (reason failing, with failing_since),
// and the event says so; a delivered attempt in between starts the count
// again.
func TestFailingFiveDaysDisablesEndpoint(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	h := newHarness(t, clk.Now)
	ctx := context.Background()
	ten := h.tenant("Failing")
	var up atomic.Bool
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		if !up.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	ep, _ := h.endpoint(ten, rc.srv.URL, "card.*")
	cfg := webhook.Config{Schedule: []time.Duration{0, time.Hour, time.Hour, time.Hour}, Jitter: -1, PollInterval: 20 * time.Millisecond}
	h.run(cfg, rc.roots())
	endpoint := func() webhook.Endpoint {
		e, err := h.svc.Endpoint(ctx, ten, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	attempts := func(n int) {
		waitFor(t, 10*time.Second, strconv.Itoa(n)+" attempts", func() bool { return len(rc.requests()) == n })
	}

	start := clk.Now()
	h.emit(ten, kafka.TypeCardFrozen, "crd_01")
	attempts(1)
	waitFor(t, 5*time.Second, "failing_since", func() bool { return endpoint().FailingSince != nil })
	if e := endpoint(); !e.FailingSince.Equal(start) || e.Disabled {
		t.Fatalf("after a failure: %+v", e)
	}
	clk.Add(4 * 24 * time.Hour) // 4 days later: failing, not yet disabled
	attempts(2)
	time.Sleep(100 * time.Millisecond)
	if endpoint().Disabled {
		t.Fatal("disabled after 4 days of failures")
	}
	clk.Add(24*time.Hour + time.Minute) // past 5 days
	attempts(3)
	waitFor(t, 5*time.Second, "the endpoint to be disabled", func() bool { return endpoint().Disabled })
	e := endpoint()
	if e.DisabledReason != webhook.DisabledFailing || !e.FailingSince.Equal(start) {
		t.Fatalf("disabled endpoint: %+v, want reason failing since %v", e, start)
	}
	var data []byte
	if err := h.db.Pool().QueryRow(ctx, `SELECT data FROM outbox WHERE type = $1`, kafka.TypeWebhookEndpointDisabled).Scan(&data); err != nil {
		t.Fatal(err)
	}
	var p kafka.WebhookEndpointData
	if err := json.Unmarshal(data, &p); err != nil || p.ID != ep.ID || p.Reason != "failing" || p.FailingSince == nil || !p.FailingSince.Equal(start) {
		t.Fatalf("event data %s: %v", data, err)
	}
	if strings.Contains(string(data), rc.srv.URL) {
		t.Fatal("the event names the endpoint's URL")
	}

	// Enabled again, a success clears failing_since.
	f := false
	if _, err := h.svc.UpdateEndpoint(ctx, ten, ep.ID, webhook.EndpointPatch{Disabled: &f}); err != nil {
		t.Fatal(err)
	}
	up.Store(true)
	h.emit(ten, kafka.TypeCardUnfrozen, "crd_01")
	attempts(4)
	waitFor(t, 5*time.Second, "failing_since cleared", func() bool { return endpoint().FailingSince == nil })
}

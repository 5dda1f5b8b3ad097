package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/webhook"
	"github.com/cardhost/cardhost/kafka"
)

// TestRedeliver: an event delivered once is sent again on request, with
// the same webhook-id, to one endpoint or to every subscribed one; a
// disabled or unsubscribed endpoint is refused, another tenant's event or
// endpoint is not found.
func TestRedeliver(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	ten, other := h.tenant("Redeliver"), h.tenant("Other")
	rc1, rc2, rc3 := newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil)
	ep1, secret := h.endpoint(ten, rc1.srv.URL, "card.frozen")
	ep2, _ := h.endpoint(ten, rc2.srv.URL, "card.*")
	ep3, _ := h.endpoint(ten, rc3.srv.URL, "order.*")
	otherEP, _ := h.endpoint(other, rc3.srv.URL, "card.*")
	ev := h.emit(ten, kafka.TypeCardFrozen, "crd_01")
	h.run(fast(), rc1.roots())
	waitFor(t, 10*time.Second, "the first deliveries", func() bool { return len(rc1.requests()) == 1 && len(rc2.requests()) == 1 })
	// Recorded: a redelivery while a delivery is pending is that delivery.
	waitFor(t, 5*time.Second, "the first attempts recorded", func() bool {
		att, err := h.svc.Attempts(ctx, ten, ev.ID)
		return err == nil && len(att.Data) == 2
	})

	r, err := h.svc.Redeliver(ctx, ten, ev.ID, webhook.RedeliverRequest{EndpointID: ep1.ID})
	if err != nil || len(r.EndpointIDs) != 1 || r.EndpointIDs[0] != ep1.ID {
		t.Fatalf("Redeliver to one endpoint: %+v, %v", r, err)
	}
	waitFor(t, 10*time.Second, "the redelivery", func() bool { return len(rc1.requests()) == 2 })
	if got := rc1.requests()[1]; got.ID != ev.ID || !verifiedBy(secret, got) {
		t.Fatalf("redelivery %+v: want webhook-id %s, signed", got, ev.ID)
	}
	// Recorded before the next redelivery (a pending one would absorb it).
	waitFor(t, 5*time.Second, "three attempts recorded", func() bool {
		att, err := h.svc.Attempts(ctx, ten, ev.ID)
		return err == nil && len(att.Data) == 3
	})
	r, err = h.svc.Redeliver(ctx, ten, ev.ID, webhook.RedeliverRequest{})
	if err != nil || strings.Join(r.EndpointIDs, ",") != strings.Join(sorted(ep1.ID, ep2.ID), ",") {
		t.Fatalf("Redeliver to every subscribed endpoint: %+v, %v", r, err)
	}
	waitFor(t, 10*time.Second, "the redelivery to both", func() bool { return len(rc1.requests()) == 3 && len(rc2.requests()) == 2 })
	waitFor(t, 5*time.Second, "five attempts recorded", func() bool {
		att, err := h.svc.Attempts(ctx, ten, ev.ID)
		return err == nil && len(att.Data) == 5
	})

	for name, tc := range map[string]struct {
		tenant, event, endpoint string
		slug                    string
	}{
		"unsubscribed endpoint":     {ten, ev.ID, ep3.ID, webhook.SlugNotSubscribed},
		"another tenant's endpoint": {ten, ev.ID, otherEP.ID, issuance.SlugNotFound},
		"a missing endpoint":        {ten, ev.ID, "whe_00000000000000000000000000", issuance.SlugNotFound},
	} {
		if _, err := h.svc.Redeliver(ctx, tc.tenant, tc.event, webhook.RedeliverRequest{EndpointID: tc.endpoint}); issuance.SlugOf(err) != tc.slug {
			t.Errorf("%s: %v, want %s", name, err, tc.slug)
		}
	}
	if _, err := h.svc.Redeliver(ctx, other, ev.ID, webhook.RedeliverRequest{}); !errors.Is(err, issuance.ErrNotFound) {
		t.Errorf("another tenant's event: %v", err)
	}
	yes := true
	if _, err := h.svc.UpdateEndpoint(ctx, ten, ep1.ID, webhook.EndpointPatch{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Redeliver(ctx, ten, ev.ID, webhook.RedeliverRequest{EndpointID: ep1.ID}); issuance.SlugOf(err) != webhook.SlugEndpointDisabled {
		t.Errorf("a disabled endpoint: %v", err)
	}
}

func sorted(ids ...string) []string {
	if ids[0] > ids[1] {
		ids[0], ids[1] = ids[1], ids[0]
	}
	return ids
}

// TestRecover: events that happened while an endpoint was disabled, or
// whose delivery failed, are sent when it is enabled and recovered since a
// time; delivered ones and older ones are not; a second recovery finds
// nothing.
func TestRecover(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	ten := h.tenant("Recover")
	var mu sync.Mutex
	failing := true
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if failing {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	ep, _ := h.endpoint(ten, rc.srv.URL, "card.*")
	h.run(fast(0), rc.roots()) // one attempt each: a failure is final
	failed := h.emit(ten, kafka.TypeCardFrozen, "crd_01")
	waitFor(t, 10*time.Second, "the failed attempt", func() bool { return len(rc.requests()) == 1 })
	mu.Lock()
	failing = false
	mu.Unlock()
	delivered := h.emit(ten, kafka.TypeCardUnfrozen, "crd_01")
	waitFor(t, 10*time.Second, "the delivered one", func() bool { return len(rc.requests()) == 2 })
	waitFor(t, 5*time.Second, "both attempts recorded", func() bool {
		a1, _ := h.svc.Attempts(ctx, ten, failed.ID)
		a2, _ := h.svc.Attempts(ctx, ten, delivered.ID)
		return len(a1.Data) == 1 && len(a2.Data) == 1
	})

	yes, no := true, false
	if _, err := h.svc.UpdateEndpoint(ctx, ten, ep.ID, webhook.EndpointPatch{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	missed := []kafka.Event{h.emit(ten, kafka.TypeCardFrozen, "crd_02"), h.emit(ten, kafka.TypeCardBlocked, "crd_03")}
	time.Sleep(200 * time.Millisecond)
	if n := len(rc.requests()); n != 2 {
		t.Fatalf("a disabled endpoint got %d requests", n)
	}
	if _, err := h.svc.Recover(ctx, ten, ep.ID, webhook.RecoverRequest{Since: time.Now().Add(-time.Hour).Format(time.RFC3339)}); issuance.SlugOf(err) != webhook.SlugEndpointDisabled {
		t.Fatalf("recovering a disabled endpoint: %v", err)
	}
	if _, err := h.svc.UpdateEndpoint(ctx, ten, ep.ID, webhook.EndpointPatch{Disabled: &no}); err != nil {
		t.Fatal(err)
	}
	r, err := h.svc.Recover(ctx, ten, ep.ID, webhook.RecoverRequest{Since: failed.Time.Add(-time.Second).Format(time.RFC3339Nano)})
	if err != nil || r.Deliveries != 3 {
		t.Fatalf("Recover = %+v, %v; want 3 (the failed one and the two missed)", r, err)
	}
	waitFor(t, 10*time.Second, "the recovered events", func() bool { return len(rc.requests()) == 5 })
	ids := map[string]bool{}
	for _, r := range rc.requests()[2:] {
		ids[r.ID] = true
	}
	if !ids[failed.ID] || !ids[missed[0].ID] || !ids[missed[1].ID] || ids[delivered.ID] {
		t.Fatalf("recovered %v: want the failed and missed events, not the delivered one", ids)
	}
	if r, err := h.svc.Recover(ctx, ten, ep.ID, webhook.RecoverRequest{Since: failed.Time.Add(-time.Second).Format(time.RFC3339Nano)}); err != nil || r.Deliveries != 0 {
		t.Fatalf("a second recovery: %+v, %v; want nothing to send", r, err)
	}
	var ie *issuance.Error
	for _, since := range []string{"yesterday", time.Now().Add(time.Hour).Format(time.RFC3339), time.Now().Add(-31 * 24 * time.Hour).Format(time.RFC3339)} {
		if _, err := h.svc.Recover(ctx, ten, ep.ID, webhook.RecoverRequest{Since: since}); !errors.As(err, &ie) || ie.Fields[0].Field != "since" {
			t.Errorf("since %q: %v, want a since field error", since, err)
		}
	}
}

// TestSlowEndpointDelaysNoOtherTenant: one tenant's endpoint hangs; its
// attempts in flight never exceed PerEndpoint, and another tenant's
// events are delivered at once meanwhile.
func TestSlowEndpointDelaysNoOtherTenant(t *testing.T) {
	h := newHarness(t, nil)
	slowTenant, fastTenant := h.tenant("Slow"), h.tenant("Fast")
	release := make(chan struct{})
	slow := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	quick := newReceiver(t, nil)
	h.endpoint(slowTenant, slow.srv.URL, "card.*")
	h.endpoint(fastTenant, quick.srv.URL, "card.*")
	for i := range 12 {
		h.emit(slowTenant, kafka.TypeCardFrozen, "crd_SLOW"+strings.Repeat("0", 1)+string(rune('A'+i)))
	}
	cfg := fast()
	cfg.PerEndpoint, cfg.Workers, cfg.Timeout = 3, 6, 10*time.Second
	h.run(cfg, slow.roots())
	waitFor(t, 10*time.Second, "the slow endpoint to be busy", func() bool { return len(slow.requests()) == 3 })
	start := time.Now()
	for i := range 5 {
		h.emit(fastTenant, kafka.TypeCardFrozen, "crd_FAST"+string(rune('A'+i)))
	}
	waitFor(t, 5*time.Second, "the other tenant's deliveries", func() bool { return len(quick.requests()) == 5 })
	if d := time.Since(start); d > 5*time.Second { // the hanging attempts last 10s
		t.Errorf("the other tenant's 5 events took %v behind a hanging endpoint", d)
	}
	slow.mu.Lock()
	most := slow.most
	slow.mu.Unlock()
	if most > 3 || len(slow.requests()) > 3 {
		t.Fatalf("the hanging endpoint had %d requests in flight at once (%d in all); PerEndpoint is 3", most, len(slow.requests()))
	}
}

// TestRotationSignsWithBothSecrets: after a rotation a delivery carries a
// signature under each secret, so a receiver on either verifies it; once
// the overlap is over, only the new one signs.
func TestRotationSignsWithBothSecrets(t *testing.T) {
	clk := &clock{t: time.Now().UTC()}
	h := newHarness(t, clk.Now)
	ctx := context.Background()
	ten := h.tenant("Rotation")
	rc := newReceiver(t, nil)
	ep, old := h.endpoint(ten, rc.srv.URL, "card.*")
	rotated, secret, err := h.svc.RotateSecret(ctx, ten, ep.ID)
	if err != nil || rotated.PreviousSecretExpiresAt == nil || !rotated.PreviousSecretExpiresAt.Equal(clk.Now().Truncate(time.Microsecond).Add(24*time.Hour)) {
		t.Fatalf("RotateSecret: %+v, %v", rotated, err)
	}
	cur := secret.Reveal()
	if cur == old {
		t.Fatal("the rotation kept the secret")
	}
	h.run(fast(), rc.roots())
	h.emit(ten, kafka.TypeCardFrozen, "crd_01")
	waitFor(t, 10*time.Second, "the delivery", func() bool { return len(rc.requests()) == 1 })
	r := rc.requests()[0]
	if len(strings.Fields(r.Signature)) != 2 || !verifiedBy(old, r) || !verifiedBy(cur, r) {
		t.Fatalf("during the overlap: %q, want a signature under each secret", r.Signature)
	}
	clk.Add(24*time.Hour + time.Second)
	h.emit(ten, kafka.TypeCardUnfrozen, "crd_01")
	waitFor(t, 10*time.Second, "the second delivery", func() bool { return len(rc.requests()) == 2 })
	r = rc.requests()[1]
	if len(strings.Fields(r.Signature)) != 1 || verifiedBy(old, r) || !verifiedBy(cur, r) {
		t.Fatalf("after the overlap: %q, want the new secret's signature only", r.Signature)
	}
}

// TestShutdownReleasesInFlight: a dispatcher stopped with an attempt in
// flight gives the delivery back at once, uncounted; the next dispatcher
// (another instance, or the next start) sends it, with the same
// webhook-id.
func TestShutdownReleasesInFlight(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	ten := h.tenant("Shutdown")
	var mu sync.Mutex
	hang := true
	rc := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		mu.Lock()
		wait := hang
		mu.Unlock()
		if wait {
			<-r.Context().Done()
		}
	})
	h.endpoint(ten, rc.srv.URL, "card.*")
	ev := h.emit(ten, kafka.TypeCardFrozen, "crd_01")
	_, stop := h.run(fast(), rc.roots())
	waitFor(t, 10*time.Second, "the attempt in flight", func() bool { return len(rc.requests()) == 1 })
	stop()
	mu.Lock()
	hang = false
	mu.Unlock()
	att, _ := h.svc.Attempts(ctx, ten, ev.ID)
	if len(att.Data) != 0 {
		t.Fatalf("an interrupted attempt was recorded: %+v", att.Data)
	}
	start := time.Now()
	h.run(fast(), rc.roots())
	waitFor(t, 10*time.Second, "the delivery after the restart", func() bool { return len(rc.requests()) == 2 })
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the released delivery waited %v (its lease, not released)", d)
	}
	if r := rc.requests()[1]; r.ID != ev.ID {
		t.Fatalf("webhook-id %s after the restart, want %s", r.ID, ev.ID)
	}
	waitFor(t, 5*time.Second, "the attempt recorded", func() bool {
		att, _ := h.svc.Attempts(ctx, ten, ev.ID)
		return len(att.Data) == 1 && att.Data[0].Attempt == 1 && att.Data[0].Delivered
	})
}

package webhook_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/webhook"
	"github.com/cardhost/cardhost/kafka"
)

// TestEventsRetention: GET /v1/events lists, and GET /v1/events/{id}
// shows, only the events of the last 30 days (docs/webhooks.md), though
// older ones are still stored: one 31 days old is neither listed nor
// found, one 29 days old is both.
func TestEventsRetention(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	h := newHarness(t, clk.Now)
	ctx := context.Background()
	ten := h.tenant("Retention") // its tenant.created event is as old as old
	old := h.emit(ten, kafka.TypeCardFrozen, "crd_OLD")
	clk.Add(2 * 24 * time.Hour)
	recent := h.emit(ten, kafka.TypeCardUnfrozen, "crd_NEW")
	clk.Add(29 * 24 * time.Hour) // old is 31 days old, recent 29

	list, _, err := h.svc.Events(ctx, ten, webhook.EventFilter{})
	var ids []string
	for _, e := range list {
		ids = append(ids, e.ID)
	}
	if err != nil || !slices.Equal(ids, []string{recent.ID}) {
		t.Fatalf("events listed: %v, %v; want only the one of 29 days ago (%s)", ids, err, recent.ID)
	}
	if e, err := h.svc.Event(ctx, ten, recent.ID); err != nil || e.ID != recent.ID {
		t.Fatalf("the event of 29 days ago: %+v, %v", e, err)
	}
	if _, err := h.svc.Event(ctx, ten, old.ID); !errors.Is(err, issuance.ErrNotFound) {
		t.Fatalf("the event of 31 days ago: %v, want not found", err)
	}
	if _, err := h.store.Event(ctx, ten, old.ID); err != nil {
		t.Fatalf("the store lost the old event (the test proves nothing): %v", err)
	}
}

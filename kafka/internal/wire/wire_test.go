package wire

import (
	"errors"
	"testing"
	"time"

	"github.com/cardhost/cardhost/kafka"
)

func TestRecordRoundTrip(t *testing.T) {
	ev, err := kafka.NewEvent(kafka.TypeCardActivated, "card_1", "ten_1",
		kafka.CardData{ID: "card_1", TenantID: "ten_1", Status: "ACTIVE", PreviousStatus: "PROVISIONED"},
		time.Date(2026, 5, 1, 12, 0, 0, 123456000, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Record("events", ev)
	if err != nil {
		t.Fatal(err)
	}
	if r.Topic != "events" || string(r.Key) != "card_1" || !r.Timestamp.IsZero() {
		t.Fatalf("record topic %q key %q timestamp %v", r.Topic, r.Key, r.Timestamp)
	}
	if len(r.Headers) != 8 || r.Headers[0].Key != kafka.HeaderSpecVersion {
		t.Fatalf("headers %v", r.Headers)
	}
	if Size(r) <= len(r.Value) {
		t.Fatalf("Size %d must count key, value and headers", Size(r))
	}
	back, err := Event(r)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Equal(ev) {
		t.Fatalf("round trip\n got %+v\nwant %+v", back, ev)
	}
	r.Headers = r.Headers[1:] // drop ce_specversion
	if _, err := Event(r); !errors.Is(err, kafka.ErrInvalidEvent) {
		t.Fatalf("record without ce_specversion: err = %v, want ErrInvalidEvent", err)
	}
	if _, err := Record("events", kafka.Event{}); !errors.Is(err, kafka.ErrInvalidEvent) {
		t.Fatalf("empty event: err = %v, want ErrInvalidEvent", err)
	}
}

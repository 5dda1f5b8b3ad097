package postgres

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/cardhost/cardhost/kafka"
)

// TestAppendEventsMatchesEncodingJSON: the hand-written p_events encoder
// says what encoding/json says of the keys ch_commit_group reads, for
// strings that need escaping too.
func TestAppendEventsMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 12, 4, 18, 0, 0, 123456789, time.FixedZone("X", 3600))
	events := []commitEvent{
		{Idx: 1, Event: kafka.Event{ID: "01J", Type: "authorization.approved", Source: "cardhost/host", Subject: "crd_1", TenantID: "ten_1",
			Time: at, Data: json.RawMessage(`{"amount":100,"merchant_name":"CAF\u00c9 \"A&B\""}`)}},
		{Idx: 7, Event: kafka.Event{ID: "quote\"back\\slash", Type: "t\n\x01", Source: "s\u00e9", Subject: "</script>", TenantID: "",
			Time: at.Add(time.Second), Data: json.RawMessage(`[1, 2]`)}},
	}
	type wire struct {
		Idx      int             `json:"idx"`
		ID       string          `json:"id"`
		Type     string          `json:"type"`
		Source   string          `json:"source"`
		Subject  string          `json:"subject"`
		TenantID string          `json:"tenantid"`
		Time     time.Time       `json:"time"`
		Data     json.RawMessage `json:"data"`
	}
	var got, want []wire
	b := appendEvents(nil, events)
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("appendEvents wrote invalid JSON %s: %v", b, err)
	}
	ref, err := json.Marshal(events)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(ref, &want); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		var gd, wd any
		json.Unmarshal(got[i].Data, &gd)
		json.Unmarshal(want[i].Data, &wd)
		if !reflect.DeepEqual(gd, wd) {
			t.Errorf("event %d data %s, want %s", i, got[i].Data, want[i].Data)
		}
		got[i].Data, want[i].Data = nil, nil
		if !got[i].Time.Equal(want[i].Time) {
			t.Errorf("event %d time %v, want %v", i, got[i].Time, want[i].Time)
		}
		got[i].Time, want[i].Time = time.Time{}, time.Time{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("appendEvents = %+v\nencoding/json = %+v", got, want)
	}
	if string(appendEvents(nil, nil)) != "[]" {
		t.Fatalf("no events: %s", appendEvents(nil, nil))
	}
}

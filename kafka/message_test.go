package kafka

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleEvent(t *testing.T) Event {
	t.Helper()
	e, err := NewEvent(TypeAuthorizationDeclined, "card_1", "ten_1", AuthorizationData{
		ID: "auth_7", CardID: "card_1", TenantID: "ten_1", MTI: "0100", Kind: "authorization",
		Amount: 990, Currency: "EUR", ResponseCode: "51", Reason: "card_limit_exceeded",
	}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestMessageBinaryMode(t *testing.T) {
	e := sampleEvent(t)
	m, err := e.Message()
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Key) != "card_1" {
		t.Fatalf("key %q, want the subject", m.Key)
	}
	if string(m.Value) != string(e.Data) {
		t.Fatalf("value %s, want the data as is", m.Value)
	}
	want := map[string]string{
		"ce_specversion": "1.0",
		"ce_id":          e.ID,
		"ce_source":      "/cardhost/host",
		"ce_type":        "authorization.declined",
		"ce_subject":     "card_1",
		"ce_time":        "2026-03-14T14:09:26.535897Z",
		"ce_tenantid":    "ten_1",
		"content-type":   "application/json",
	}
	if len(m.Headers) != len(want) {
		t.Fatalf("%d headers, want %d: %v", len(m.Headers), len(want), m.Headers)
	}
	for k, v := range want {
		if got, ok := m.Get(k); !ok || got != v {
			t.Errorf("header %s = %q (present %v), want %q", k, got, ok, v)
		}
	}
	back, err := ParseMessage(m)
	if err != nil {
		t.Fatalf("ParseMessage: %v", err)
	}
	if !back.Equal(e) {
		t.Fatalf("round trip changed the event:\n got %+v\nwant %+v", back, e)
	}
}

func TestMessageRefusesInvalidEvent(t *testing.T) {
	e := sampleEvent(t)
	e.Subject = ""
	if _, err := e.Message(); !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("err = %v, want ErrInvalidEvent", err)
	}
}

// without returns m without the named header.
func without(m Message, key string) Message {
	out := Message{Key: m.Key, Value: m.Value}
	for _, h := range m.Headers {
		if h.Key != key {
			out.Headers = append(out.Headers, h)
		}
	}
	return out
}

// with returns m with the named header set to v.
func with(m Message, key, v string) Message {
	out := without(m, key)
	out.Headers = append(out.Headers, Header{key, []byte(v)})
	return out
}

func TestParseMessageRejects(t *testing.T) {
	m, err := sampleEvent(t).Message()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		m    Message
		part string // the error names it
	}{
		{"no headers", Message{Value: m.Value}, "ce_id"},
		{"bad time", with(m, HeaderTime, "14/03/2026"), "ce_time"},
		{"wrong specversion", with(m, HeaderSpecVersion, "0.3"), "specversion"},
		{"not JSON data", Message{Key: m.Key, Value: []byte("{oops"), Headers: m.Headers}, "not JSON"},
		{"other content type", with(m, HeaderContentType, "application/avro"), "datacontenttype"},
		{"unsupported structured format", with(m, HeaderContentType, "application/cloudevents+avro"), "not supported"},
		{"empty id", with(m, HeaderID, ""), "id"},
	}
	for _, h := range []string{HeaderID, HeaderSource, HeaderSpecVersion, HeaderType, HeaderTime, HeaderSubject, HeaderTenantID, HeaderContentType} {
		cases = append(cases, struct {
			name string
			m    Message
			part string
		}{"missing " + h, without(m, h), h})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseMessage(tc.m)
			if !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("err = %v, want ErrInvalidEvent", err)
			}
			if !strings.Contains(err.Error(), tc.part) {
				t.Fatalf("err %q does not name %q", err, tc.part)
			}
		})
	}
}

func TestParseMessageLenientWhereTheBindingIs(t *testing.T) {
	e := sampleEvent(t)
	m, err := e.Message()
	if err != nil {
		t.Fatal(err)
	}
	// Header names are matched case-insensitively and a charset parameter
	// is fine.
	m = with(without(m, HeaderContentType), "Content-Type", "application/json; charset=utf-8")
	got, err := ParseMessage(m)
	if err != nil {
		t.Fatalf("ParseMessage: %v", err)
	}
	if got.DataContentType != "application/json; charset=utf-8" || got.ID != e.ID {
		t.Fatalf("got %+v", got)
	}
}

func TestParseMessageStructuredMode(t *testing.T) {
	e := sampleEvent(t)
	value := `{"specversion":"1.0","id":"` + e.ID + `","source":"/cardhost/host","type":"authorization.declined",` +
		`"subject":"card_1","time":"2026-03-14T15:09:26.535897+01:00","tenantid":"ten_1","data":` + string(e.Data) + `}`
	got, err := ParseMessage(Message{Key: []byte("card_1"), Value: []byte(value),
		Headers: []Header{{HeaderContentType, []byte("application/cloudevents+json; charset=UTF-8")}}})
	if err != nil {
		t.Fatalf("ParseMessage: %v", err)
	}
	if !got.Equal(e) {
		t.Fatalf("structured parse\n got %+v\nwant %+v", got, e)
	}
}

// TestStoredMessage: an event read back from the outbox has its fields
// validated as Message does, but its data is trusted as the store's json
// column checked it (not parsed again); empty data is still refused.
func TestStoredMessage(t *testing.T) {
	e := Event{ID: "01J", Source: "cardhost/host", Type: TypeAuthorizationApproved, Subject: "crd_1", TenantID: "ten_1",
		Time: time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), SpecVersion: SpecVersion, DataContentType: ContentTypeJSON, Data: []byte(`{"a":1}`)}
	m, err := e.StoredMessage()
	if err != nil {
		t.Fatal(err)
	}
	want, err := e.Message()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("StoredMessage %+v, Message %+v", m, want)
	}
	bad := e
	bad.Data = []byte(`{"a":`)
	if _, err := bad.Message(); !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("Message of bad data: %v", err)
	}
	if _, err := bad.StoredMessage(); err != nil {
		t.Fatalf("StoredMessage parsed the data: %v", err)
	}
	for name, f := range map[string]func(*Event){
		"no id":   func(e *Event) { e.ID = "" },
		"no time": func(e *Event) { e.Time = time.Time{} },
		"no data": func(e *Event) { e.Data = nil },
		"xml":     func(e *Event) { e.DataContentType = "application/xml" },
	} {
		x := e
		f(&x)
		if _, err := x.StoredMessage(); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

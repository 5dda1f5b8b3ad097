package kafka

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600))

// samplePayload returns a valid payload for spec whose subject is subject and
// whose tenant is tenant.
func samplePayload(t *testing.T, spec Spec, subject, tenant string) any {
	t.Helper()
	switch spec.Payload {
	case reflect.TypeFor[TenantData]():
		return TenantData{ID: tenant, Name: "Acme Issuing"}
	case reflect.TypeFor[CardData]():
		return CardData{ID: subject, TenantID: tenant, ProductID: "prod_1", Type: "VIRTUAL", Status: "ACTIVE",
			Last4: "4242", Expiry: "2903", UsageType: "NORMAL", Currency: "EUR", CardLimit: 50000,
			CreatedAt: testNow.UTC(), UpdatedAt: testNow.UTC()}
	case reflect.TypeFor[AuthorizationData]():
		return AuthorizationData{ID: "auth_1", CardID: subject, TenantID: tenant, MTI: "0100", Kind: "authorization",
			ProcessingCode: "000000", Amount: 1250, ApprovedAmount: 1250, Currency: "EUR", ResponseCode: "00",
			Reason: "approved", ApprovalCode: "A1B2C3", MCC: "5411", MerchantID: "MERCHANT000001",
			TerminalID: "TERM0001", AcquirerID: "12345678901", Country: "DE", EntryMode: "051",
			STAN: "000123", RRN: "612345000123", CreatedAt: testNow.UTC()}
	case reflect.TypeFor[OrderData]():
		return OrderData{ID: "ord_1", TenantID: tenant, CardID: subject, Status: "completed"}
	case reflect.TypeFor[CertificateData]():
		return CertificateData{ID: "cert_1", TenantID: tenant, NotAfter: testNow.Add(90 * 24 * time.Hour).UTC()}
	case reflect.TypeFor[WebhookEndpointData]():
		since := testNow.Add(-5 * 24 * time.Hour).UTC()
		return WebhookEndpointData{ID: "whe_1", TenantID: tenant, Reason: "failing", FailingSince: &since, DisabledAt: testNow.UTC()}
	case reflect.TypeFor[MerchantData]():
		return MerchantData{Merchant: subject, TenantID: tenant, AcquirerID: "12345678901", MerchantID: "SHOP0001", CardIDs: []string{"card_1"},
			FailedCards: 10, FailedRequests: 12, Requests: 14, WindowSeconds: 600, BlockedAt: testNow.UTC(), BlockedUntil: testNow.Add(30 * time.Minute).UTC()}
	}
	t.Fatalf("no sample payload for %s", spec.Payload)
	return nil
}

// subjectFor returns the subject a spec's sample event uses.
func subjectFor(spec Spec) string {
	if strings.HasPrefix(spec.Subject, "tenant") {
		return "ten_1"
	}
	if strings.HasPrefix(spec.Subject, "acquirer") {
		return MerchantKey("12345678901", "SHOP0001")
	}
	return "card_1"
}

func TestNewEventEveryType(t *testing.T) {
	for _, spec := range catalogue {
		t.Run(spec.Type, func(t *testing.T) {
			subject := subjectFor(spec)
			data := samplePayload(t, spec, subject, "ten_1")
			e, err := NewEvent(spec.Type, subject, "ten_1", data, testNow)
			if err != nil {
				t.Fatalf("NewEvent: %v", err)
			}
			if err := e.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if e.SpecVersion != "1.0" || e.Type != spec.Type || e.Source != spec.Source || e.Subject != subject ||
				e.TenantID != "ten_1" || e.DataContentType != "application/json" {
				t.Fatalf("attributes wrong: %+v", e)
			}
			if want := testNow.UTC().Truncate(time.Microsecond); !e.Time.Equal(want) || e.Time.Location() != time.UTC {
				t.Fatalf("time %v, want %v in UTC", e.Time, want)
			}
			if !uuidv7.MatchString(e.ID) || e.ID[:13] != newID(e.Time, zeroReader{})[:13] {
				t.Fatalf("id %q is not a UUIDv7 of the event time", e.ID)
			}
			if string(e.Key()) != subject {
				t.Fatalf("key %q, want the subject %q", e.Key(), subject)
			}
			got, err := e.Payload()
			if err != nil {
				t.Fatalf("Payload: %v", err)
			}
			if !reflect.DeepEqual(got, data) {
				t.Fatalf("payload round trip\n got %#v\nwant %#v", got, data)
			}
		})
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestNewEventRejects(t *testing.T) {
	card := CardData{ID: "card_1", TenantID: "ten_1", Status: "ACTIVE"}
	for _, tc := range []struct {
		name             string
		typ              string
		subject, tenant  string
		data             any
		now              time.Time
		want             error
		wantMsgToContain string
	}{
		{"unknown type", "card.exploded", "card_1", "ten_1", card, testNow, ErrUnknownType, "card.exploded"},
		{"wrong payload struct", TypeCardFrozen, "card_1", "ten_1", OrderData{ID: "o", TenantID: "ten_1", Status: "failed"}, testNow, ErrPayloadType, "OrderData"},
		{"nil payload", TypeCardFrozen, "card_1", "ten_1", nil, testNow, ErrPayloadType, ""},
		{"nil pointer", TypeCardFrozen, "card_1", "ten_1", (*CardData)(nil), testNow, ErrPayloadType, ""},
		{"map payload", TypeCardFrozen, "card_1", "ten_1", map[string]any{"id": "card_1"}, testNow, ErrPayloadType, ""},
		{"subject is not the card", TypeCardFrozen, "card_2", "ten_1", card, testNow, ErrInvalidEvent, "card_2"},
		{"authorization keyed by its own id", TypeAuthorizationApproved, "auth_1", "ten_1",
			AuthorizationData{ID: "auth_1", CardID: "card_1", TenantID: "ten_1", ResponseCode: "00"}, testNow, ErrInvalidEvent, "auth_1"},
		{"tenant disagrees", TypeCardFrozen, "card_1", "ten_2", card, testNow, ErrInvalidEvent, "ten_2"},
		{"missing required field", TypeCardFrozen, "card_1", "ten_1", CardData{ID: "card_1", TenantID: "ten_1"}, testNow, ErrInvalidEvent, "status"},
		{"empty subject", TypeCardFrozen, "", "", CardData{Status: "ACTIVE"}, testNow, ErrInvalidEvent, "id, tenant_id"},
		{"certificate without not_after", TypeCertificateExpiring, "ten_1", "ten_1", CertificateData{ID: "c", TenantID: "ten_1"}, testNow, ErrInvalidEvent, "not_after"},
		{"zero time", TypeCardFrozen, "card_1", "ten_1", card, time.Time{}, ErrInvalidEvent, "zero time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewEvent(tc.typ, tc.subject, tc.tenant, tc.data, tc.now)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.wantMsgToContain != "" && !strings.Contains(err.Error(), tc.wantMsgToContain) {
				t.Fatalf("err %q does not name %q", err, tc.wantMsgToContain)
			}
		})
	}
}

func TestNewEventAcceptsPointerAndOrderWithoutCard(t *testing.T) {
	card := &CardData{ID: "card_1", TenantID: "ten_1", Status: "FROZEN", PreviousStatus: "ACTIVE"}
	if _, err := NewEvent(TypeCardFrozen, "card_1", "ten_1", card, testNow); err != nil {
		t.Fatalf("pointer payload: %v", err)
	}
	// An order that failed before a card existed is keyed by the order id.
	o := OrderData{ID: "ord_9", TenantID: "ten_1", Status: "failed", LastErrorSlug: "product_not_active"}
	e, err := NewEvent(TypeOrderFailed, "ord_9", "ten_1", o, testNow)
	if err != nil {
		t.Fatalf("order without card: %v", err)
	}
	if string(e.Key()) != "ord_9" {
		t.Fatalf("key %q, want ord_9", e.Key())
	}
	if _, err := NewEvent(TypeOrderFailed, "card_1", "ten_1", o, testNow); !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("order without card under a card key: err = %v, want ErrInvalidEvent", err)
	}
}

func TestEventJSONIsStructuredCloudEvent(t *testing.T) {
	e, err := NewEvent(TypeCardFrozen, "card_1", "ten_1",
		CardData{ID: "card_1", TenantID: "ten_1", Status: "FROZEN", PreviousStatus: "ACTIVE", Last4: "4242"}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for attr, want := range map[string]string{
		"specversion": `"1.0"`, "id": `"` + e.ID + `"`, "source": `"/cardhost/issuance"`, "type": `"card.frozen"`,
		"subject": `"card_1"`, "time": `"2026-03-14T14:09:26.535897Z"`, "datacontenttype": `"application/json"`,
		"tenantid": `"ten_1"`,
	} {
		if string(m[attr]) != want {
			t.Errorf("%s = %s, want %s", attr, m[attr], want)
		}
	}
	var data map[string]any
	if err := json.Unmarshal(m["data"], &data); err != nil || data["status"] != "FROZEN" || data["previous_status"] != "ACTIVE" {
		t.Fatalf("data = %s (%v), want the card object", m["data"], err)
	}
	var back Event
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Equal(e) {
		t.Fatalf("JSON round trip changed the event:\n%+v\n%+v", back, e)
	}
}

func TestEventEqual(t *testing.T) {
	e, err := NewEvent(TypeTenantCreated, "ten_1", "ten_1", TenantData{ID: "ten_1", Name: "Acme"}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	reordered := e
	reordered.Data = json.RawMessage(`{ "name": "Acme", "id": "ten_1" }`) // as jsonb may return it
	otherData := e
	otherData.Data = json.RawMessage(`{"id":"ten_1","name":"Other"}`)
	otherID := e
	otherID.ID = NewID(testNow)
	otherZone := e
	otherZone.Time = e.Time.In(time.FixedZone("X", 7200))
	for _, tc := range []struct {
		name string
		o    Event
		want bool
	}{
		{"same", e, true},
		{"data keys reordered", reordered, true},
		{"same instant other zone", otherZone, true},
		{"other data", otherData, false},
		{"other id", otherID, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := e.Equal(tc.o); got != tc.want {
				t.Fatalf("Equal = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPayloadUnknownType(t *testing.T) {
	e := Event{ID: "x", Type: "card.teleported", Data: json.RawMessage(`{}`)}
	if _, err := e.Payload(); !errors.Is(err, ErrUnknownType) {
		t.Fatalf("err = %v, want ErrUnknownType", err)
	}
}

func TestNewEventKeepsTextReadable(t *testing.T) {
	e, err := NewEvent(TypeAuthorizationApproved, "card_1", "ten_1", AuthorizationData{
		ID: "auth_1", CardID: "card_1", TenantID: "ten_1", ResponseCode: "00", MerchantName: "A&B <Shop>",
	}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(e.Data), `"merchant_name":"A&B <Shop>"`) || strings.HasSuffix(string(e.Data), "\n") {
		t.Fatalf("data %s: want unescaped text and no trailing newline", e.Data)
	}
}

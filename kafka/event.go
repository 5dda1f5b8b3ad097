package kafka

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"reflect"
	"strings"
	"time"
)

// SpecVersion is the CloudEvents specification version of every event.
const SpecVersion = "1.0"

// ContentTypeJSON is the datacontenttype of every cardhost event: the data is
// a JSON object.
const ContentTypeJSON = "application/json"

// Event is one CloudEvents 1.0 event: the context attributes and the JSON
// data. Its JSON encoding (the struct tags) is the CloudEvents JSON event
// format ("structured mode"), which is also how the outbox may store it; on
// Kafka it travels in binary mode (see [Event.Message]).
//
// Build events with [NewEvent], which fills and checks every attribute. An
// Event is a value: copying it is safe, and it is safe for concurrent reads.
type Event struct {
	SpecVersion string    `json:"specversion"` // always SpecVersion
	ID          string    `json:"id"`          // UUIDv7, unique per event; consumers dedup on it
	Source      string    `json:"source"`      // SourceIssuance or SourceHost
	Type        string    `json:"type"`        // a catalogue type, e.g. "card.frozen"
	Subject     string    `json:"subject"`     // card id (tenant id for tenant and certificate events); the record key
	Time        time.Time `json:"time"`        // when the change was committed, UTC, microsecond precision
	// DataContentType is always ContentTypeJSON.
	DataContentType string `json:"datacontenttype"`
	// TenantID is the "tenantid" extension attribute: the tenant (issuer)
	// that owns the subject, so consumers can route without decoding data.
	TenantID string `json:"tenantid"`
	// Data is the payload (the catalogue's struct for Type) as JSON.
	Data json.RawMessage `json:"data"`
}

// NewEvent builds an event of type typ about subject, owned by tenantID, with
// data as its payload, stamped with now (truncated to microseconds and
// converted to UTC, so it survives a PostgreSQL round trip unchanged) and a
// new id.
//
// data must be the catalogue's payload struct for typ (a value or a non-nil
// pointer), or NewEvent returns an error wrapping [ErrPayloadType]; an unknown
// typ wraps [ErrUnknownType]. The payload's own subject and tenant fields
// must agree with subject and tenantID (a card event's subject is the card's
// id, an authorization's its card_id...), and its required fields must be
// set, or the error wraps [ErrInvalidEvent]: a wrong subject would put the
// event under another key and break per-card ordering.
func NewEvent(typ, subject, tenantID string, data any, now time.Time) (Event, error) {
	spec, ok := Lookup(typ)
	if !ok {
		return Event{}, fmt.Errorf("creating event %q: %w", typ, ErrUnknownType)
	}
	p, err := payloadOf(spec, data)
	if err != nil {
		return Event{}, fmt.Errorf("creating event %q: %w", typ, err)
	}
	if m := p.missing(); len(m) > 0 {
		return Event{}, fmt.Errorf("creating event %q: payload misses %s: %w", typ, strings.Join(m, ", "), ErrInvalidEvent)
	}
	if s := p.eventSubject(); s != subject {
		return Event{}, fmt.Errorf("creating event %q: subject %q, but the payload's is %q (%s): %w", typ, subject, s, spec.Subject, ErrInvalidEvent)
	}
	if t := p.eventTenant(); t != tenantID {
		return Event{}, fmt.Errorf("creating event %q: tenant %q, but the payload's is %q: %w", typ, tenantID, t, ErrInvalidEvent)
	}
	if now.IsZero() {
		return Event{}, fmt.Errorf("creating event %q: zero time: %w", typ, ErrInvalidEvent)
	}
	raw, err := encodePayload(p)
	if err != nil {
		return Event{}, fmt.Errorf("encoding %q payload: %w", typ, err)
	}
	now = now.UTC().Truncate(time.Microsecond)
	return Event{
		SpecVersion:     SpecVersion,
		ID:              NewID(now),
		Source:          spec.Source,
		Type:            typ,
		Subject:         subject,
		Time:            now,
		DataContentType: ContentTypeJSON,
		TenantID:        tenantID,
		Data:            raw,
	}, nil
}

// encodePayload is p as JSON: its own encoder when it has one (the
// decision's payload, written without reflection), else encoding/json with
// HTML escaping off ("A&B" stays readable in kcat, not "A\u0026B").
func encodePayload(p payload) (json.RawMessage, error) {
	if a, ok := p.(jsonAppender); ok {
		return a.appendJSON(make([]byte, 0, 768))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// payloadOf checks that data is spec's payload struct (or a pointer to one)
// and returns it as a payload.
func payloadOf(spec Spec, data any) (payload, error) {
	v := reflect.ValueOf(data)
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if !v.IsValid() || v.Type() != spec.Payload {
		return nil, fmt.Errorf("payload is %T, want %s: %w", data, spec.Payload, ErrPayloadType)
	}
	p, ok := v.Interface().(payload)
	if !ok { // a catalogue row naming a struct that is not a payload; a test prevents it
		return nil, fmt.Errorf("payload %s does not describe its subject: %w", spec.Payload, ErrPayloadType)
	}
	return p, nil
}

// Key returns the Kafka record key: the subject. Records with one key go to one
// partition, which keeps one card's events in order.
func (e Event) Key() []byte { return []byte(e.Subject) }

// Validate checks the envelope: every attribute cardhost always sets is
// present, specversion is 1.0, the data content type is JSON and data is one
// JSON value. It does not require the type to be in the catalogue (consumers
// built against an older catalogue should still read newer events); use
// [Event.Payload] for that. Errors wrap [ErrInvalidEvent].
func (e Event) Validate() error {
	if err := e.validateFields(); err != nil {
		return err
	}
	if !json.Valid(e.Data) {
		return fmt.Errorf("validating event %s: data is not JSON: %w", e.ID, ErrInvalidEvent)
	}
	return nil
}

// validateFields is Validate without the data's JSON check.
func (e Event) validateFields() error {
	var miss []string
	for _, a := range [...]struct{ name, v string }{
		{"id", e.ID}, {"source", e.Source}, {"type", e.Type}, {"subject", e.Subject}, {"tenantid", e.TenantID},
	} {
		if a.v == "" {
			miss = append(miss, a.name)
		}
	}
	if e.Time.IsZero() {
		miss = append(miss, "time")
	}
	if len(miss) > 0 {
		return fmt.Errorf("validating event: missing %s: %w", strings.Join(miss, ", "), ErrInvalidEvent)
	}
	if e.SpecVersion != SpecVersion {
		return fmt.Errorf("validating event %s: specversion %q, want %q: %w", e.ID, e.SpecVersion, SpecVersion, ErrInvalidEvent)
	}
	if !isJSONContentType(e.DataContentType) {
		return fmt.Errorf("validating event %s: datacontenttype %q, want %q: %w", e.ID, e.DataContentType, ContentTypeJSON, ErrInvalidEvent)
	}
	if len(e.Data) == 0 {
		return fmt.Errorf("validating event %s: no data: %w", e.ID, ErrInvalidEvent)
	}
	return nil
}

// isJSONContentType reports whether ct is application/json, with or without
// parameters such as charset.
func isJSONContentType(ct string) bool {
	if ct == ContentTypeJSON { // every event cardhost writes: nothing to parse
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == ContentTypeJSON
}

// Payload decodes the data into the catalogue's payload struct for the
// event's type and returns it as a value (CardData, AuthorizationData...), for
// a type switch. Unknown fields are ignored. An unknown type wraps
// [ErrUnknownType].
func (e Event) Payload() (any, error) {
	spec, ok := Lookup(e.Type)
	if !ok {
		return nil, fmt.Errorf("decoding event %s: type %q: %w", e.ID, e.Type, ErrUnknownType)
	}
	p := spec.New()
	if err := e.DecodeData(p); err != nil {
		return nil, err
	}
	return reflect.ValueOf(p).Elem().Interface(), nil
}

// DecodeData decodes the event's JSON data into v, as json.Unmarshal does.
func (e Event) DecodeData(v any) error {
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("decoding event %s data: %w", e.ID, err)
	}
	return nil
}

// Equal reports whether two events are the same: equal attributes, the same
// instant and semantically equal JSON data (key order and spacing aside, as
// after a jsonb round trip).
func (e Event) Equal(o Event) bool {
	if e.SpecVersion != o.SpecVersion || e.ID != o.ID || e.Source != o.Source || e.Type != o.Type ||
		e.Subject != o.Subject || !e.Time.Equal(o.Time) || e.DataContentType != o.DataContentType || e.TenantID != o.TenantID {
		return false
	}
	if bytes.Equal(e.Data, o.Data) {
		return true
	}
	a, errA := decodeAny(e.Data)
	b, errB := decodeAny(o.Data)
	return errA == nil && errB == nil && reflect.DeepEqual(a, b)
}

// decodeAny decodes JSON into generic values, keeping numbers exact.
func decodeAny(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

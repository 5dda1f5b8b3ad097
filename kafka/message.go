package kafka

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Kafka header names of the CloudEvents Kafka protocol binding, binary content
// mode (kafka-protocol-binding.md, section 3.2): every attribute but data
// becomes a "ce_"-prefixed header, datacontenttype becomes content-type, and
// the data is the record value as is.
const (
	HeaderID          = "ce_id"
	HeaderSource      = "ce_source"
	HeaderSpecVersion = "ce_specversion"
	HeaderType        = "ce_type"
	HeaderTime        = "ce_time"
	HeaderSubject     = "ce_subject"
	HeaderTenantID    = "ce_tenantid"
	HeaderContentType = "content-type"
)

// ContentTypeCloudEventsJSON is the content-type of a structured-mode record,
// whose value is the whole event in the CloudEvents JSON format. cardhost
// publishes binary mode; [ParseMessage] reads both.
const ContentTypeCloudEventsJSON = "application/cloudevents+json"

// Header is one Kafka record header. Values are UTF-8 strings.
type Header struct {
	Key   string
	Value []byte
}

// Message is a Kafka record as plain data (key, value, headers), so that this
// package needs no Kafka client; kafka/outbox and kafka/consume convert it to
// and from franz-go records.
type Message struct {
	Key     []byte
	Value   []byte
	Headers []Header
}

// Get returns the value of the first header named key (compared
// case-insensitively, as the binding asks for content-type).
func (m Message) Get(key string) (string, bool) {
	for _, h := range m.Headers {
		if strings.EqualFold(h.Key, key) {
			return string(h.Value), true
		}
	}
	return "", false
}

// Message maps the event to a Kafka record in binary content mode: key = the
// subject, value = the JSON data, headers ce_id, ce_source, ce_specversion,
// ce_type, ce_time (RFC 3339, UTC), ce_subject, ce_tenantid and content-type.
// The event must pass [Event.Validate].
func (e Event) Message() (Message, error) {
	if err := e.Validate(); err != nil {
		return Message{}, err
	}
	return e.message(), nil
}

// StoredMessage is [Event.Message] for an event read back from a store
// that has checked its data is JSON (the outbox's json column): its
// fields are validated, its data is not parsed again.
func (e Event) StoredMessage() (Message, error) {
	if err := e.validateFields(); err != nil {
		return Message{}, err
	}
	return e.message(), nil
}

func (e Event) message() Message {
	// The header values share one buffer: one allocation, not eight.
	const timeLen = len("2006-01-02T15:04:05.999999999Z")
	buf := make([]byte, 0, len(e.SpecVersion)+len(e.ID)+len(e.Source)+len(e.Type)+len(e.Subject)+timeLen+len(e.TenantID)+len(e.DataContentType))
	h := make([]Header, 8)
	buf, h[0] = header(buf, HeaderSpecVersion, e.SpecVersion)
	buf, h[1] = header(buf, HeaderID, e.ID)
	buf, h[2] = header(buf, HeaderSource, e.Source)
	buf, h[3] = header(buf, HeaderType, e.Type)
	buf, h[4] = header(buf, HeaderSubject, e.Subject)
	start := len(buf)
	buf = e.Time.UTC().AppendFormat(buf, time.RFC3339Nano)
	h[5] = Header{HeaderTime, buf[start:len(buf):len(buf)]}
	buf, h[6] = header(buf, HeaderTenantID, e.TenantID)
	_, h[7] = header(buf, HeaderContentType, e.DataContentType)
	return Message{Key: e.Key(), Value: e.Data, Headers: h}
}

// header appends value to buf and returns the header holding it (capped,
// so that later appends never write into it).
func header(buf []byte, key, value string) ([]byte, Header) {
	start := len(buf)
	buf = append(buf, value...)
	return buf, Header{key, buf[start:len(buf):len(buf)]}
}

// ParseMessage is the inverse of [Event.Message]: it rebuilds the event from
// a record's headers and value. A record whose content-type starts with
// application/cloudevents (structured mode) is read as a CloudEvents JSON
// event instead. The event must pass [Event.Validate]; errors wrap
// [ErrInvalidEvent]. The event type need not be in the catalogue.
func ParseMessage(m Message) (Event, error) {
	ct, _ := m.Get(HeaderContentType)
	if strings.HasPrefix(strings.ToLower(ct), "application/cloudevents") {
		return parseStructured(ct, m.Value)
	}
	var e Event
	var miss []string
	for _, h := range [...]struct {
		name string
		dst  *string
	}{
		{HeaderSpecVersion, &e.SpecVersion}, {HeaderID, &e.ID}, {HeaderSource, &e.Source},
		{HeaderType, &e.Type}, {HeaderSubject, &e.Subject}, {HeaderTenantID, &e.TenantID},
	} {
		v, ok := m.Get(h.name)
		if !ok {
			miss = append(miss, h.name)
		}
		*h.dst = v
	}
	ts, ok := m.Get(HeaderTime)
	if !ok {
		miss = append(miss, HeaderTime)
	}
	if ct == "" {
		miss = append(miss, HeaderContentType)
	}
	if len(miss) > 0 {
		return Event{}, fmt.Errorf("parsing record: missing header %s: %w", strings.Join(miss, ", "), ErrInvalidEvent)
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return Event{}, fmt.Errorf("parsing record %s: %s is not RFC 3339: %w", e.ID, HeaderTime, ErrInvalidEvent)
	}
	e.Time = t.UTC()
	e.DataContentType = ct
	e.Data = json.RawMessage(m.Value)
	if err := e.Validate(); err != nil {
		return Event{}, fmt.Errorf("parsing record: %w", err)
	}
	return e, nil
}

// parseStructured reads a structured-mode record value.
func parseStructured(ct string, value []byte) (Event, error) {
	if !strings.HasPrefix(strings.ToLower(ct), ContentTypeCloudEventsJSON) {
		return Event{}, fmt.Errorf("parsing record: event format %q is not supported: %w", ct, ErrInvalidEvent)
	}
	var e Event
	if err := json.Unmarshal(value, &e); err != nil {
		return Event{}, fmt.Errorf("parsing structured record: %v: %w", err, ErrInvalidEvent)
	}
	if e.DataContentType == "" { // optional in CloudEvents; JSON data implies it
		e.DataContentType = ContentTypeJSON
	}
	e.Time = e.Time.UTC()
	if err := e.Validate(); err != nil {
		return Event{}, fmt.Errorf("parsing structured record: %w", err)
	}
	return e, nil
}

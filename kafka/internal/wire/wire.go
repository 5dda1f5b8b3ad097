// Package wire converts cardhost events to and from franz-go records, using
// the CloudEvents binary-mode mapping of package kafka ([kafka.Event.Message]
// and [kafka.ParseMessage]).
//
// Ring: internal helper of the kafka adapters (kafka/outbox, kafka/consume).
// It imports package kafka and kgo, never another cardhost package.
package wire

import (
	"fmt"

	"github.com/cardhost/cardhost/kafka"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Record maps ev, read back from the outbox, to a kgo record on topic: key
// = subject, value = JSON data, CloudEvents headers. Its fields are
// validated; its data is not parsed again (the outbox's json column
// checked it: [kafka.Event.StoredMessage]). The record timestamp is left
// for the client to set at produce time, so that retention counts from
// publication, not from when the change happened.
func Record(topic string, ev kafka.Event) (*kgo.Record, error) {
	m, err := ev.StoredMessage()
	if err != nil {
		return nil, fmt.Errorf("mapping event %s to a record: %w", ev.ID, err)
	}
	r := &kgo.Record{Topic: topic, Key: m.Key, Value: m.Value, Headers: make([]kgo.RecordHeader, len(m.Headers))}
	for i, h := range m.Headers {
		r.Headers[i] = kgo.RecordHeader{Key: h.Key, Value: h.Value}
	}
	return r, nil
}

// Event rebuilds the event a record carries. Errors wrap
// [kafka.ErrInvalidEvent] and name the record's partition and offset.
func Event(r *kgo.Record) (kafka.Event, error) {
	m := kafka.Message{Key: r.Key, Value: r.Value, Headers: make([]kafka.Header, len(r.Headers))}
	for i, h := range r.Headers {
		m.Headers[i] = kafka.Header{Key: h.Key, Value: h.Value}
	}
	ev, err := kafka.ParseMessage(m)
	if err != nil {
		return kafka.Event{}, fmt.Errorf("decoding record %s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
	}
	return ev, nil
}

// Size is the number of bytes of r that count against the producer's batch
// limit, without the few bytes of per-record framing.
func Size(r *kgo.Record) int {
	n := len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

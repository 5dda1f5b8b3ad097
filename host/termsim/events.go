package termsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultEventsTopic is the topic cardhost publishes its events to.
const DefaultEventsTopic = "cardhost.events"

// Event is one cardhost event read from Kafka (docs/events.md): the
// CloudEvents attributes from the record headers (binary content mode) and
// the JSON data.
type Event struct {
	ID      string          // ce_id: the same on every copy of the event
	Type    string          // ce_type, e.g. authorization.approved
	Subject string          // ce_subject: the card id for card.* and authorization.* events
	Time    time.Time       // ce_time: when the change was committed
	Data    json.RawMessage // the record value: the event's JSON data
	// Authorization events' members used to match them to requests.
	STAN, TerminalID, MTI, Reason, ResponseCode string
}

// EventWatcher reads cardhost's events from Kafka in the background and
// keeps them by subject, so that scenario steps can wait for the events
// they cause. It reads from shortly before it was started (events older
// than a few seconds are skipped). It is safe for concurrent use.
type EventWatcher struct {
	cl     *kgo.Client
	mu     sync.Mutex
	seen   map[string]bool
	byCard map[string][]Event
	notify chan struct{} // closed and replaced when events arrive
	err    error
	done   chan struct{}
}

// WatchEvents starts reading topic from the brokers ("host:port"). It
// returns once the client is made; errors of the brokers come back from
// Wait.
func WatchEvents(ctx context.Context, brokers []string, topic string) (*EventWatcher, error) {
	if topic == "" {
		topic = DefaultEventsTopic
	}
	since := time.Now().Add(-5 * time.Second).UnixMilli()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AfterMilli(since)),
		kgo.FetchMaxWait(100*time.Millisecond),
		kgo.MetadataMinAge(250*time.Millisecond),
		kgo.DialTimeout(3*time.Second),
	)
	if err != nil {
		return nil, fmt.Errorf("starting the Kafka consumer: %w", err)
	}
	w := &EventWatcher{cl: cl, seen: map[string]bool{}, byCard: map[string][]Event{}, notify: make(chan struct{}), done: make(chan struct{})}
	go w.run(ctx)
	return w, nil
}

// Close stops reading.
func (w *EventWatcher) Close() {
	w.cl.Close()
	<-w.done
}

func (w *EventWatcher) run(ctx context.Context) {
	defer close(w.done)
	for {
		fs := w.cl.PollFetches(ctx)
		if fs.IsClientClosed() || ctx.Err() != nil {
			return
		}
		var fetchErr error
		for _, e := range fs.Errors() {
			if !errors.Is(e.Err, context.Canceled) {
				fetchErr = fmt.Errorf("reading events from Kafka: %w", e.Err)
			}
		}
		var got []Event
		fs.EachRecord(func(r *kgo.Record) { got = append(got, eventOf(r)) })
		w.mu.Lock()
		if fetchErr != nil {
			w.err = fetchErr
		}
		for _, e := range got {
			if e.ID == "" || w.seen[e.ID] {
				continue // at least once: duplicates share ce_id
			}
			w.seen[e.ID] = true
			w.byCard[e.Subject] = append(w.byCard[e.Subject], e)
		}
		close(w.notify)
		w.notify = make(chan struct{})
		w.mu.Unlock()
	}
}

// eventOf reads a record in the CloudEvents Kafka binding's binary mode.
func eventOf(r *kgo.Record) Event {
	e := Event{Data: r.Value}
	for _, h := range r.Headers {
		switch h.Key {
		case "ce_id":
			e.ID = string(h.Value)
		case "ce_type":
			e.Type = string(h.Value)
		case "ce_subject":
			e.Subject = string(h.Value)
		case "ce_time":
			e.Time, _ = time.Parse(time.RFC3339Nano, string(h.Value))
		}
	}
	if e.Subject == "" {
		e.Subject = string(r.Key)
	}
	var d struct {
		STAN         string `json:"stan"`
		TerminalID   string `json:"terminal_id"`
		MTI          string `json:"mti"`
		Reason       string `json:"reason"`
		ResponseCode string `json:"response_code"`
	}
	if json.Unmarshal(r.Value, &d) == nil {
		e.STAN, e.TerminalID, e.MTI, e.Reason, e.ResponseCode = d.STAN, d.TerminalID, d.MTI, d.Reason, d.ResponseCode
	}
	return e
}

// Wait returns the card's events that match, once at least n have arrived
// (and then after settle more, to catch any beyond n), or what arrived when
// timeout ran out.
func (w *EventWatcher) Wait(ctx context.Context, cardID string, match func(Event) bool, n int, timeout, settle time.Duration) ([]Event, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	collect := func() ([]Event, chan struct{}, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		var out []Event
		for _, e := range w.byCard[cardID] {
			if match(e) {
				out = append(out, e)
			}
		}
		return out, w.notify, w.err
	}
	for {
		got, ch, err := collect()
		if len(got) >= n {
			if settle > 0 {
				t := time.NewTimer(settle)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
				}
				got, _, _ = collect()
			}
			return got, nil
		}
		select {
		case <-ch:
		case <-deadline.C:
			return got, err
		case <-ctx.Done():
			return got, ctx.Err()
		}
	}
}

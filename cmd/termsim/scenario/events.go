package scenario

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cardhost/cardhost/kafka"
	"github.com/cardhost/cardhost/kafka/consume"
)

// DefaultEventsTopic is the topic cardhost publishes its events to
// (kafka.Topic).
const DefaultEventsTopic = kafka.Topic

// Event is one cardhost event read from Kafka (docs/events.md, package
// kafka's envelope), with the members of an authorization event's data
// that match it to a request.
type Event struct {
	kafka.Event
	// Authorization events' members used to match them to requests.
	STAN, TerminalID, MTI, Reason, ResponseCode string
}

// EventWatcher reads cardhost's events from Kafka in the background
// (through kafka/consume) and keeps them by subject, so that scenario
// steps can wait for the events they cause. It reads the events published
// after WatchEvents returned. It is safe for concurrent use.
type EventWatcher struct {
	r      *consume.Reader
	mu     sync.Mutex
	dedup  *consume.Dedup
	byCard map[string][]Event
	notify chan struct{} // closed and replaced when events arrive
	err    error
	done   chan struct{}
}

// WatchEvents starts reading topic from the brokers ("host:port"). It
// returns once the reader knows where the topic ends; errors of the
// brokers come back from Wait.
func WatchEvents(ctx context.Context, brokers []string, topic string) (*EventWatcher, error) {
	w := &EventWatcher{dedup: consume.NewDedup(0), byCard: map[string][]Event{}, notify: make(chan struct{}), done: make(chan struct{})}
	start, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	r, err := consume.NewReader(start, consume.Config{Brokers: brokers, Topic: topic})
	if errors.Is(err, consume.ErrConfig) {
		return nil, fmt.Errorf("starting the Kafka consumer: %w", err)
	}
	if err != nil {
		w.err = fmt.Errorf("reading events from Kafka: %w", err)
		close(w.done)
		return w, nil
	}
	w.r = r
	go w.run(ctx)
	return w, nil
}

// Close stops reading.
func (w *EventWatcher) Close() {
	if w.r != nil {
		w.r.Close()
	}
	<-w.done
}

func (w *EventWatcher) run(ctx context.Context) {
	defer close(w.done)
	for {
		ev, err := w.r.Next(ctx)
		var de *consume.DecodeError
		switch {
		case errors.Is(err, consume.ErrClosed) || ctx.Err() != nil:
			return
		case errors.As(err, &de):
			continue // not a cardhost event
		}
		w.mu.Lock()
		if err != nil {
			w.err = fmt.Errorf("reading events from Kafka: %w", err)
		} else if w.dedup.First(ev.ID) { // at least once: duplicates share the id
			e := eventOf(ev)
			w.byCard[e.Subject] = append(w.byCard[e.Subject], e)
		}
		close(w.notify)
		w.notify = make(chan struct{})
		w.mu.Unlock()
	}
}

// eventOf adds an authorization event's matching members to ev.
func eventOf(ev kafka.Event) Event {
	e := Event{Event: ev}
	if strings.HasPrefix(ev.Type, "authorization.") {
		var d kafka.AuthorizationData
		if json.Unmarshal(ev.Data, &d) == nil {
			e.STAN, e.TerminalID, e.MTI, e.Reason, e.ResponseCode = d.STAN, d.TerminalID, d.MTI, d.Reason, d.ResponseCode
		}
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

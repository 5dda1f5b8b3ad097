package consume

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/kafka"
	"github.com/cardhost/cardhost/kafka/internal/wire"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

var base = time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)

func newCluster(t *testing.T, opts ...kfake.Opt) []string {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(3, kafka.Topic)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func cardEvent(t *testing.T, typ, card string, i int) kafka.Event {
	t.Helper()
	ev, err := kafka.NewEvent(typ, card, "ten_1", kafka.CardData{ID: card, TenantID: "ten_1", Status: "ACTIVE",
		ReferenceID: fmt.Sprintf("ref-%d", i)}, base.Add(time.Duration(i)*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func authEvent(t *testing.T, card string, i int) kafka.Event {
	t.Helper()
	ev, err := kafka.NewEvent(kafka.TypeAuthorizationApproved, card, "ten_1", kafka.AuthorizationData{
		ID: fmt.Sprintf("auth_%d", i), CardID: card, TenantID: "ten_1", ResponseCode: "00", MerchantName: "A&B <Shop>",
	}, base.Add(time.Duration(i)*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// produce publishes events (and raw records) in order.
func produce(t *testing.T, brokers []string, evs []kafka.Event, raw ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(kafka.Topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for _, ev := range evs {
		r, err := wire.Record(kafka.Topic, ev)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, append(recs, raw...)...).FirstErr(); err != nil {
		t.Fatalf("producing: %v", err)
	}
}

func ids(evs []kafka.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func TestCollectFiltersAndKeepsOrderPerSubject(t *testing.T) {
	brokers := newCluster(t)
	var evs []kafka.Event
	for i := range 12 {
		card := fmt.Sprintf("card_%d", i%3)
		if i%2 == 0 {
			evs = append(evs, cardEvent(t, kafka.TypeCardFrozen, card, i))
		} else {
			evs = append(evs, authEvent(t, card, i))
		}
	}
	produce(t, brokers, evs)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	all, err := Collect(ctx, brokers, kafka.Topic, len(evs), nil)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	for _, card := range []string{"card_0", "card_1", "card_2"} {
		var want, got []string
		for _, e := range evs {
			if e.Subject == card {
				want = append(want, e.ID)
			}
		}
		for _, e := range all {
			if e.Subject == card {
				got = append(got, e.ID)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", card, got, want)
		}
	}
	for _, got := range all {
		i := slices.IndexFunc(evs, func(e kafka.Event) bool { return e.ID == got.ID })
		if i < 0 || !evs[i].Equal(got) {
			t.Errorf("event %s changed in transit", got.ID)
		}
	}

	cards, err := Collect(ctx, brokers, kafka.Topic, 6, Types("card.*"))
	if err != nil {
		t.Fatalf("Collect card.*: %v", err)
	}
	for _, e := range cards {
		if !strings.HasPrefix(e.Type, "card.") {
			t.Errorf("filter let %s through", e.Type)
		}
	}

	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	got, err := Collect(short, brokers, kafka.Topic, 7, Types(kafka.TypeCardFrozen))
	if !errors.Is(err, context.DeadlineExceeded) || len(got) != 6 {
		t.Fatalf("Collect of 7 of 6 events = %d events, %v; want 6 and DeadlineExceeded", len(got), err)
	}
}

func TestReaderFromEndAndDecodeErrors(t *testing.T) {
	brokers := newCluster(t, kfake.SeedTopics(1, kafka.Topic)) // one partition: a total order
	old := authEvent(t, "card_1", 1)
	produce(t, brokers, []kafka.Event{old})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := NewReader(ctx, Config{Brokers: brokers})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	fresh := []kafka.Event{authEvent(t, "card_1", 2), authEvent(t, "card_1", 3)}
	foreign := &kgo.Record{Key: []byte("x"), Value: []byte("not a cloudevent")}
	produce(t, brokers, fresh[:1], foreign)
	produce(t, brokers, fresh[1:])

	first, err := r.Next(ctx)
	if err != nil || first.ID != fresh[0].ID {
		t.Fatalf("first Next = %s, %v; want %s (the event before NewReader is skipped)", first.ID, err, fresh[0].ID)
	}
	_, err = r.Next(ctx)
	var de *DecodeError
	if !errors.As(err, &de) || !errors.Is(err, kafka.ErrInvalidEvent) || de.Offset != 2 {
		t.Fatalf("Next on a foreign record = %v, want a DecodeError at offset 2", err)
	}
	next, err := r.Next(ctx)
	if err != nil || next.ID != fresh[1].ID {
		t.Fatalf("Next after the foreign record = %s, %v; want %s", next.ID, err, fresh[1].ID)
	}
	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelShort()
	if _, err := r.Next(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next with nothing new = %v, want DeadlineExceeded", err)
	}
	r.Close()
	if _, err := r.Next(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close = %v, want ErrClosed", err)
	}
}

func TestReaderFromEndOfMissingTopic(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := NewReader(ctx, Config{Brokers: c.ListenAddrs(), Topic: "later"})
	if err != nil {
		t.Fatalf("NewReader on a missing topic: %v", err)
	}
	defer r.Close()
	if err := c.CreateTopic("later", 1, nil); err != nil {
		t.Fatal(err)
	}
	ev := authEvent(t, "card_1", 1)
	rec, _ := wire.Record("later", ev)
	cl, _ := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	defer cl.Close()
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
	got, err := r.Next(ctx)
	if err != nil || got.ID != ev.ID {
		t.Fatalf("Next = %s, %v; want the first event of the new topic", got.ID, err)
	}
}

func TestTail(t *testing.T) {
	brokers := newCluster(t, kfake.SeedTopics(1, kafka.Topic))
	a := authEvent(t, "card_1", 1)
	f := cardEvent(t, kafka.TypeCardFrozen, "card_1", 2)
	u := cardEvent(t, kafka.TypeCardUnfrozen, "card_1", 3)
	foreign := &kgo.Record{Value: []byte("{}")}
	produce(t, brokers, []kafka.Event{a, f, a}, foreign) // a twice: a retried publish
	produce(t, brokers, []kafka.Event{u})

	for _, tc := range []struct {
		name    string
		cfg     TailConfig
		want    []kafka.Event
		wantErr error
	}{
		{"everything, deduplicated", TailConfig{Config: Config{FromBeginning: true}, Dedup: true, SkipInvalid: true, Limit: 3}, []kafka.Event{a, f, u}, nil},
		{"duplicates kept", TailConfig{Config: Config{FromBeginning: true}, SkipInvalid: true, Limit: 4}, []kafka.Event{a, f, a, u}, nil},
		{"card events only", TailConfig{Config: Config{FromBeginning: true, Filter: Types("card.*")}, SkipInvalid: true, Limit: 2}, []kafka.Event{f, u}, nil},
		{"strict stops at the foreign record", TailConfig{Config: Config{FromBeginning: true}, Limit: 10}, []kafka.Event{a, f, a}, kafka.ErrInvalidEvent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			tc.cfg.Brokers = brokers
			var buf bytes.Buffer
			err := Tail(ctx, tc.cfg, &buf)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Tail = %v, want %v", err, tc.wantErr)
			}
			var got []kafka.Event
			sc := bufio.NewScanner(&buf)
			for sc.Scan() {
				line := sc.Bytes()
				if strings.Contains(string(line), `\u0026`) {
					t.Errorf("line HTML-escaped: %s", line)
				}
				var e kafka.Event
				if err := json.Unmarshal(line, &e); err != nil {
					t.Fatalf("line %q: %v", line, err)
				}
				if err := e.Validate(); err != nil {
					t.Fatalf("line is not a structured CloudEvent: %v", err)
				}
				got = append(got, e)
			}
			if !slices.Equal(ids(got), ids(tc.want)) {
				t.Fatalf("tail wrote %v, want %v", ids(got), ids(tc.want))
			}
			for i := range got {
				if !got[i].Equal(tc.want[i]) {
					t.Errorf("line %d: %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}

	t.Run("until the context ends", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		var buf bytes.Buffer
		if err := Tail(ctx, TailConfig{Config: Config{Brokers: brokers}}, &buf); err != nil {
			t.Fatalf("Tail = %v, want nil when ctx ends", err)
		}
		if buf.Len() != 0 {
			t.Fatalf("tail from the end wrote old events: %s", buf.String())
		}
	})
}

func TestNewReaderRejects(t *testing.T) {
	if _, err := NewReader(context.Background(), Config{}); !errors.Is(err, ErrConfig) {
		t.Fatalf("no brokers: %v, want ErrConfig", err)
	}
}

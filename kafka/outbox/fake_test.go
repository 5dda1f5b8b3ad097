package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cardhost/cardhost/kafka"
	"github.com/cardhost/cardhost/kafka/internal/wire"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// memSource is an in-memory Source: rows in Seq order with a sent flag. It
// records MarkSent calls and can be told to fail.
type memSource struct {
	mu      sync.Mutex
	rows    []Record
	sent    map[int64]bool
	marks   [][]int64
	nextSeq int64

	pendingErr error                    // returned by Pending while set
	onMark     func(seqs []int64) error // called by MarkSent before recording
	lagCalls   int
}

func newMemSource() *memSource { return &memSource{sent: map[int64]bool{}, nextSeq: 1} }

// add appends events as new rows and returns their Seqs.
func (s *memSource) add(evs ...kafka.Event) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var seqs []int64
	for _, ev := range evs {
		s.rows = append(s.rows, Record{Seq: s.nextSeq, Event: ev})
		seqs = append(seqs, s.nextSeq)
		s.nextSeq++
	}
	return seqs
}

// replace swaps the event of row seq (an operator repairing a row).
func (s *memSource) replace(seq int64, ev kafka.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.rows {
		if s.rows[i].Seq == seq {
			s.rows[i].Event = ev
		}
	}
}

func (s *memSource) setPendingErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pendingErr = err
}

func (s *memSource) Pending(ctx context.Context, limit int) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pendingErr != nil {
		return nil, s.pendingErr
	}
	var out []Record
	for _, r := range s.rows {
		if !s.sent[r.Seq] && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *memSource) MarkSent(ctx context.Context, seqs []int64) error {
	s.mu.Lock()
	hook := s.onMark
	s.mu.Unlock()
	if hook != nil {
		if err := hook(seqs); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marks = append(s.marks, slices.Clone(seqs))
	for _, q := range seqs {
		s.sent[q] = true
	}
	return nil
}

func (s *memSource) Lag(ctx context.Context) (int64, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lagCalls++
	var n int64
	var oldest time.Time
	for _, r := range s.rows {
		if !s.sent[r.Seq] {
			if n == 0 {
				oldest = r.Event.Time
			}
			n++
		}
	}
	return n, oldest, nil
}

// unsent returns the Seqs not yet marked.
func (s *memSource) unsent() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int64
	for _, r := range s.rows {
		if !s.sent[r.Seq] {
			out = append(out, r.Seq)
		}
	}
	return out
}

func (s *memSource) markCalls() [][]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.marks)
}

// events returns the events of the given rows, in Seq order.
func (s *memSource) events() []kafka.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]kafka.Event, len(s.rows))
	for i, r := range s.rows {
		out[i] = r.Event
	}
	return out
}

// makeEvents builds n authorization events spread round-robin over cards
// cards, starting at time base.
func makeEvents(t *testing.T, n, cards int, base time.Time) []kafka.Event {
	t.Helper()
	var out []kafka.Event
	for i := range n {
		card := fmt.Sprintf("card_%d", i%cards)
		ev, err := kafka.NewEvent(kafka.TypeAuthorizationApproved, card, "ten_1", kafka.AuthorizationData{
			ID: fmt.Sprintf("auth_%04d", i), CardID: card, TenantID: "ten_1", MTI: "0100", Kind: "authorization",
			Amount: int64(100 + i), ApprovedAmount: int64(100 + i), Currency: "EUR", ResponseCode: "00", Reason: "approved",
			STAN: fmt.Sprintf("%06d", i),
		}, base.Add(time.Duration(i)*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// newCluster starts a one-broker kfake cluster; extra options may fix its
// port or give it a data dir.
func newCluster(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatalf("starting kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// readAll reads every record of topic, which must hold at least want.
func readAll(t *testing.T, brokers []string, topic string, want int) ([]kafka.Event, []*kgo.Record) {
	t.Helper()
	var evs []kafka.Event
	var recs []*kgo.Record
	err := consume(brokers, topic, func(ev kafka.Event, r *kgo.Record) {
		evs = append(evs, ev)
		recs = append(recs, r)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) < want {
		t.Fatalf("topic holds %d records, want at least %d", len(evs), want)
	}
	return evs, recs
}

// readTopic returns the events of every record in topic; safe to call
// from any goroutine.
func readTopic(brokers []string, topic string) ([]kafka.Event, error) {
	var evs []kafka.Event
	err := consume(brokers, topic, func(ev kafka.Event, _ *kgo.Record) { evs = append(evs, ev) })
	return evs, err
}

// consume reads topic from the start up to its end offsets as of the call
// and hands each decoded record to fn.
func consume(brokers []string, topic string, fn func(kafka.Event, *kgo.Record)) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return fmt.Errorf("listing end offsets: %w", err)
	}
	left := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			left[o.Partition] = o.Offset
		}
	})
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("reading %s: partitions %v not read to their end", topic, left)
		}
		var decodeErr error
		fs.EachRecord(func(r *kgo.Record) {
			if end, ok := left[r.Partition]; ok && r.Offset >= end-1 {
				delete(left, r.Partition)
			}
			ev, err := wire.Event(r)
			if err != nil {
				decodeErr = err
				return
			}
			fn(ev, r)
		})
		if decodeErr != nil {
			return decodeErr
		}
	}
	return nil
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testLogger logs warnings and errors to the test output when -v.
func testLogger(t *testing.T) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// value reads a counter's or gauge's current value.
func value(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		t.Fatal(err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

// Published implements History: sent rows above afterSeq whose event time
// is not before since, in Seq order.
func (s *memSource) Published(ctx context.Context, afterSeq int64, since time.Time, limit int) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, r := range s.rows {
		if s.sent[r.Seq] && r.Seq > afterSeq && !r.Event.Time.Before(since) && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

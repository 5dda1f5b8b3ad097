package outbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/kafka"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var base = time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)

func testConfig(brokers []string) Config {
	return Config{
		Brokers:         brokers,
		Partitions:      4,
		PollInterval:    20 * time.Millisecond,
		BatchSize:       7,
		RetryBackoffMin: 20 * time.Millisecond,
		RetryBackoffMax: 200 * time.Millisecond,
		PublishTimeout:  500 * time.Millisecond,
		LagInterval:     50 * time.Millisecond,
		// Reconnect quickly after a broker comes back (the default
		// backoff grows to seconds, metadata is refreshed at most
		// every 5s).
		Options: []kgo.Opt{
			kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }),
			kgo.MetadataMinAge(100 * time.Millisecond),
		},
	}
}

func newRelay(t *testing.T, cfg Config, src Source) (*Relay, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	r, err := New(cfg, src, testLogger(t), reg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(r.Close)
	return r, reg
}

// startRun runs r.Run until the test ends and checks it returns nil.
func startRun(t *testing.T, r *Relay) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v, want nil after cancel", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
}

// checkDelivered checks that got holds every event of want, that every
// record is keyed by its subject, that a subject stays in one partition, and
// that per subject the first occurrences come in want's order (duplicates
// from retries are allowed after their first occurrence).
func checkDelivered(t *testing.T, want, got []kafka.Event, recs []*kgo.Record) {
	t.Helper()
	seen := map[string]bool{}
	partition := map[string]int32{}
	gotOrder := map[string][]string{}
	for i, ev := range got {
		if string(recs[i].Key) != ev.Subject {
			t.Errorf("record key %q, want subject %q", recs[i].Key, ev.Subject)
		}
		if p, ok := partition[ev.Subject]; ok && p != recs[i].Partition {
			t.Errorf("subject %s in partitions %d and %d", ev.Subject, p, recs[i].Partition)
		}
		partition[ev.Subject] = recs[i].Partition
		if seen[ev.ID] {
			continue
		}
		seen[ev.ID] = true
		gotOrder[ev.Subject] = append(gotOrder[ev.Subject], ev.ID)
	}
	wantOrder := map[string][]string{}
	for _, ev := range want {
		wantOrder[ev.Subject] = append(wantOrder[ev.Subject], ev.ID)
		if !seen[ev.ID] {
			t.Errorf("event %s (%s) was not delivered", ev.ID, ev.Subject)
		}
	}
	for subject, ids := range wantOrder {
		if !slices.Equal(gotOrder[subject], ids) {
			t.Errorf("subject %s: events in order\n %v\nwant\n %v", subject, gotOrder[subject], ids)
		}
	}
	for i, ev := range got {
		if j := slices.IndexFunc(want, func(w kafka.Event) bool { return w.ID == ev.ID }); j < 0 {
			t.Errorf("unexpected event %s", ev.ID)
		} else if !want[j].Equal(ev) {
			t.Errorf("record %d: event changed in transit:\n got %+v\nwant %+v", i, ev, want[j])
		}
	}
}

func TestRelayPublishesEverythingInOrder(t *testing.T) {
	c := newCluster(t)
	src := newMemSource()
	want := makeEvents(t, 60, 3, base)
	src.add(want...)
	r, reg := newRelay(t, testConfig(c.ListenAddrs()), src)
	startRun(t, r)

	waitFor(t, 10*time.Second, "every row marked sent", func() bool { return len(src.unsent()) == 0 })
	got, recs := readAll(t, c.ListenAddrs(), kafka.Topic, len(want))
	checkDelivered(t, want, got, recs)
	if len(got) != len(want) {
		t.Errorf("%d records for %d events: a healthy broker should see no duplicates", len(got), len(want))
	}
	// The relay created the topic with the configured partitions.
	if n := len(c.PartitionInfos(kafka.Topic)); n != 4 {
		t.Errorf("topic has %d partitions, want 4", n)
	}
	// Batches of at most BatchSize, in Seq order, each marked once.
	var marked []int64
	for _, m := range src.markCalls() {
		if len(m) > 7 {
			t.Errorf("MarkSent with %d seqs, more than BatchSize", len(m))
		}
		marked = append(marked, m...)
	}
	if !slices.IsSorted(marked) || len(marked) != 60 || marked[0] != 1 || marked[59] != 60 {
		t.Errorf("marked seqs %v, want 1..60 once each in order", marked)
	}
	if got := value(t, r.m.published); got != 60 {
		t.Errorf("published_total = %v, want 60", got)
	}
	waitFor(t, 5*time.Second, "lag gauge back to zero", func() bool {
		return value(t, r.m.lagEvents) == 0 && value(t, r.m.lagSeconds) == 0
	})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	for _, n := range []string{"cardhost_outbox_published_total", "cardhost_outbox_errors_total", "cardhost_outbox_lag_events",
		"cardhost_outbox_lag_oldest_seconds", "cardhost_outbox_publish_duration_seconds"} {
		if !slices.Contains(names, n) {
			t.Errorf("registry lacks %s (has %v)", n, names)
		}
	}
}

// TestRelayMarksSentOnlyAfterAck makes the broker refuse produce requests
// for a while, on every partition or on one: a row is marked sent only once
// its event can be read from the topic, nothing after the first refused row
// is marked, and once the broker accepts again every row is delivered in
// order per card.
func TestRelayMarksSentOnlyAfterAck(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        *kerr.Error
		partitions []int32 // nil: all
	}{
		{"retriable error until timeout", kerr.NotEnoughReplicas, nil},
		{"non-retriable error", kerr.InvalidRecord, nil},
		{"one partition refuses", kerr.InvalidRecord, []int32{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, kfake.SeedTopics(3, kafka.Topic))
			src := newMemSource()
			want := makeEvents(t, 30, 4, base)
			src.add(want...)
			all := src.events()
			// At every MarkSent, the marked events must be in the topic.
			src.onMark = func(seqs []int64) error {
				evs, err := readTopic(c.ListenAddrs(), kafka.Topic)
				if err != nil {
					t.Errorf("reading the topic at MarkSent: %v", err)
					return err
				}
				in := map[string]bool{}
				for _, ev := range evs {
					in[ev.ID] = true
				}
				for _, q := range seqs {
					if !in[all[q-1].ID] {
						t.Errorf("row %d marked sent before its event was in the topic", q)
					}
				}
				return nil
			}

			fault := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: kafka.Topic,
				Partitions: tc.partitions, Err: tc.err, Count: -1})
			r, _ := newRelay(t, testConfig(c.ListenAddrs()), src)
			startRun(t, r)

			// Let the relay fail a few passes.
			waitFor(t, 10*time.Second, "failed passes", func() bool {
				return value(t, r.m.errors.WithLabelValues(opPublish)) >= 2
			})
			if fault.Hits() == 0 {
				t.Fatal("the fault never answered a produce")
			}
			unsent := src.unsent()
			if len(unsent) == 0 {
				t.Fatal("every row marked sent while the broker refused produce requests")
			}
			// Everything from the first refused row on is unsent: the
			// relay never marks past a failure.
			if first := unsent[0]; !slices.Equal(unsent, seqRange(first, 30)) {
				t.Fatalf("unsent rows %v: want every row from %d on", unsent, first)
			}
			if tc.partitions == nil && len(src.markCalls()) != 0 {
				t.Fatalf("MarkSent called while every partition refused produce requests")
			}

			fault.Remove()
			waitFor(t, 15*time.Second, "every row marked sent", func() bool { return len(src.unsent()) == 0 })
			got, recs := readAll(t, c.ListenAddrs(), kafka.Topic, len(want))
			checkDelivered(t, want, got, recs)
			if n := value(t, r.m.errors.WithLabelValues(opOrder)); n != 0 {
				t.Errorf("order violations counted: %v", n)
			}
		})
	}
}

// seqRange returns from..to.
func seqRange(from, to int64) []int64 {
	var out []int64
	for q := from; q <= to; q++ {
		out = append(out, q)
	}
	return out
}

// TestRelayBrokerDownAndBack stops the broker entirely, writes more rows,
// and brings a broker back on the same port with the same data: every row
// is delivered, in order per card, and rows are marked only after that.
func TestRelayBrokerDownAndBack(t *testing.T) {
	port := freePort(t)
	dir := t.TempDir()
	start := func() *kfake.Cluster {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.DataDir(dir))
		if err != nil {
			t.Fatalf("starting kfake on %d: %v", port, err)
		}
		return c
	}
	c := start()
	src := newMemSource()
	first := makeEvents(t, 20, 3, base)
	src.add(first...)
	r, _ := newRelay(t, testConfig(c.ListenAddrs()), src)
	startRun(t, r)
	waitFor(t, 10*time.Second, "first rows sent", func() bool { return len(src.unsent()) == 0 })

	c.Close()
	second := makeEvents(t, 20, 3, base.Add(time.Minute))
	for i := range second { // same cards, later events
		second[i].ID = kafka.NewID(second[i].Time)
	}
	src.add(second...)
	marksBefore := len(src.markCalls())
	errsBefore := value(t, r.m.errors.WithLabelValues(opPublish))
	waitFor(t, 10*time.Second, "publish failures while the broker is down", func() bool {
		return value(t, r.m.errors.WithLabelValues(opPublish)) >= errsBefore+2
	})
	if n := len(src.markCalls()); n != marksBefore {
		t.Fatalf("%d MarkSent calls while the broker was down", n-marksBefore)
	}

	c = start()
	defer c.Close()
	t.Logf("%s restarted", time.Now().Format("05.000"))
	waitFor(t, 20*time.Second, "second rows sent", func() bool { return len(src.unsent()) == 0 })
	want := append(slices.Clone(first), second...)
	got, recs := readAll(t, c.ListenAddrs(), kafka.Topic, len(want))
	checkDelivered(t, want, got, recs)
}

// TestRelayNeverSkipsABadRow puts a row that cannot be published in the
// middle: the rows before it are published, none after it, and once the row
// is repaired the rest follows in order.
func TestRelayNeverSkipsABadRow(t *testing.T) {
	c := newCluster(t)
	src := newMemSource()
	want := makeEvents(t, 5, 1, base)
	broken := want[2]
	broken.Subject = "" // breaks the envelope
	src.add(want[0], want[1], broken, want[3], want[4])
	r, _ := newRelay(t, testConfig(c.ListenAddrs()), src)
	startRun(t, r)

	waitFor(t, 10*time.Second, "the bad row to be retried", func() bool {
		return value(t, r.m.errors.WithLabelValues(opPublish)) >= 3
	})
	if got := src.unsent(); !slices.Equal(got, []int64{3, 4, 5}) {
		t.Fatalf("unsent rows %v, want [3 4 5]: nothing after the bad row may be sent", got)
	}
	got, _ := readAll(t, c.ListenAddrs(), kafka.Topic, 2)
	if len(got) != 2 || got[0].ID != want[0].ID || got[1].ID != want[1].ID {
		t.Fatalf("topic holds %d events, want exactly the two before the bad row", len(got))
	}

	src.replace(3, want[2])
	waitFor(t, 10*time.Second, "every row sent", func() bool { return len(src.unsent()) == 0 })
	got, recs := readAll(t, c.ListenAddrs(), kafka.Topic, 5)
	checkDelivered(t, want, got, recs)
}

func TestRelayWake(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, kafka.Topic))
	src := newMemSource()
	cfg := testConfig(c.ListenAddrs())
	cfg.PollInterval = time.Hour
	r, _ := newRelay(t, cfg, src)
	startRun(t, r)
	waitFirstPass(t, src)
	time.Sleep(100 * time.Millisecond) // Run is now waiting for its hour
	src.add(makeEvents(t, 3, 1, base)...)
	r.Wake()
	waitFor(t, 5*time.Second, "rows sent after Wake", func() bool { return len(src.unsent()) == 0 })
}

// waitFirstPass waits until a started relay has looked at src once.
func waitFirstPass(t *testing.T, src *memSource) {
	t.Helper()
	waitFor(t, 5*time.Second, "the first pass", func() bool {
		src.mu.Lock()
		defer src.mu.Unlock()
		return src.lagCalls > 0
	})
}

// TestRelayMinGapGathers: rows committed while a pass that published is
// within its MinGap go out in one later pass, wake-ups or not.
func TestRelayMinGapGathers(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, kafka.Topic))
	src := newMemSource()
	cfg := testConfig(c.ListenAddrs())
	cfg.PollInterval, cfg.MinGap = time.Hour, time.Second
	r, _ := newRelay(t, cfg, src)
	startRun(t, r)
	waitFirstPass(t, src)
	marks := func() [][]int64 {
		src.mu.Lock()
		defer src.mu.Unlock()
		return slices.Clone(src.marks)
	}
	src.add(makeEvents(t, 1, 1, base)...)
	r.Wake()
	waitFor(t, 5*time.Second, "the first row sent", func() bool { return len(marks()) == 1 })
	for i := range 3 {
		src.add(makeEvents(t, 1, 1, base.Add(time.Duration(i+1)*time.Second))...)
		r.Wake()
		time.Sleep(10 * time.Millisecond)
	}
	waitFor(t, 5*time.Second, "the three rows sent", func() bool { return len(src.unsent()) == 0 })
	if m := marks(); len(m) != 2 || len(m[1]) != 3 {
		t.Fatalf("MarkSent calls %v, want the first row, then the three together", m)
	}
}

func TestFlush(t *testing.T) {
	c := newCluster(t)
	src := newMemSource()
	want := makeEvents(t, 25, 2, base)
	src.add(want...)
	r, _ := newRelay(t, testConfig(c.ListenAddrs()), src)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if u := src.unsent(); len(u) != 0 {
		t.Fatalf("rows %v unsent after Flush", u)
	}
	got, recs := readAll(t, c.ListenAddrs(), kafka.Topic, len(want))
	checkDelivered(t, want, got, recs)

	r.Close()
	if err := r.Flush(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Flush after Close: %v, want ErrClosed", err)
	}
	if err := r.Run(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close: %v, want ErrClosed", err)
	}
}

func TestFlushGivesUpWithItsContext(t *testing.T) {
	src := newMemSource()
	src.add(makeEvents(t, 3, 1, base)...)
	cfg := testConfig([]string{fmt.Sprintf("127.0.0.1:%d", freePort(t))}) // nobody listens
	r, _ := newRelay(t, cfg, src)
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := r.Flush(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 7*time.Second {
		t.Fatalf("Flush took %v after its context ended", d)
	}
	if len(src.markCalls()) != 0 {
		t.Fatal("rows marked sent without a broker")
	}
}

func TestRelayRetriesSourceErrors(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, kafka.Topic))
	src := newMemSource()
	src.setPendingErr(errors.New("database is down"))
	want := makeEvents(t, 4, 2, base)
	src.add(want...)
	r, _ := newRelay(t, testConfig(c.ListenAddrs()), src)
	startRun(t, r)
	waitFor(t, 5*time.Second, "pending failures", func() bool {
		return value(t, r.m.errors.WithLabelValues(opPending)) >= 2
	})
	src.setPendingErr(nil)
	waitFor(t, 5*time.Second, "rows sent after recovery", func() bool { return len(src.unsent()) == 0 })
	got, recs := readAll(t, c.ListenAddrs(), kafka.Topic, len(want))
	checkDelivered(t, want, got, recs)
}

// outOfOrderSource returns rows in the wrong order.
type outOfOrderSource struct{ *memSource }

func (s outOfOrderSource) Pending(ctx context.Context, limit int) ([]Record, error) {
	recs, err := s.memSource.Pending(ctx, limit)
	slices.Reverse(recs)
	return recs, err
}

func TestRelayRefusesRowsOutOfSeqOrder(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, kafka.Topic))
	src := outOfOrderSource{newMemSource()}
	src.add(makeEvents(t, 3, 1, base)...)
	r, _ := newRelay(t, testConfig(c.ListenAddrs()), src)
	_, err := r.pass(context.Background())
	if err == nil || !strings.Contains(err.Error(), "ascending") {
		t.Fatalf("pass = %v, want an ordering error", err)
	}
	if len(src.markCalls()) != 0 || value(t, r.m.published) != 0 {
		t.Fatal("rows out of order were published")
	}
}

func TestRelayLagGauges(t *testing.T) {
	src := newMemSource()
	src.add(makeEvents(t, 3, 1, base)...)
	cfg := testConfig([]string{"127.0.0.1:1"})
	cfg.Now = func() time.Time { return base.Add(90 * time.Second) }
	r, _ := newRelay(t, cfg, src)
	r.updateLag(context.Background())
	if got := value(t, r.m.lagEvents); got != 3 {
		t.Errorf("lag_events = %v, want 3", got)
	}
	if got := value(t, r.m.lagSeconds); got != 90 {
		t.Errorf("lag_oldest_seconds = %v, want 90", got)
	}
}

func TestRunTwice(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, kafka.Topic))
	r, _ := newRelay(t, testConfig(c.ListenAddrs()), newMemSource())
	startRun(t, r)
	waitFor(t, 5*time.Second, "Run to start", r.running.Load)
	if err := r.Run(context.Background()); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Run = %v, want ErrRunning", err)
	}
}

func TestNewRejects(t *testing.T) {
	brokers := []string{"127.0.0.1:9092"}
	for _, tc := range []struct {
		name string
		cfg  Config
		src  Source
	}{
		{"no brokers", Config{}, newMemSource()},
		{"nil source", Config{Brokers: brokers}, nil},
		{"batch too large", Config{Brokers: brokers, BatchSize: 20000}, newMemSource()},
		{"negative batch", Config{Brokers: brokers, BatchSize: -1}, newMemSource()},
		{"backoff max below min", Config{Brokers: brokers, RetryBackoffMin: time.Second, RetryBackoffMax: time.Millisecond}, newMemSource()},
		{"idempotence disabled", Config{Brokers: brokers, Options: []kgo.Opt{kgo.DisableIdempotentWrite()}}, newMemSource()},
		{"transactional", Config{Brokers: brokers, Options: []kgo.Opt{kgo.TransactionalID("x")}}, newMemSource()},
		{"buffered bytes limit", Config{Brokers: brokers, Options: []kgo.Opt{kgo.MaxBufferedBytes(1 << 20)}}, newMemSource()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := New(tc.cfg, tc.src, nil, nil)
			if !errors.Is(err, ErrConfig) {
				if r != nil {
					r.Close()
				}
				t.Fatalf("New = %v, want ErrConfig", err)
			}
		})
	}
	t.Run("two relays on one registry", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		r1, err := New(Config{Brokers: brokers}, newMemSource(), nil, reg)
		if err != nil {
			t.Fatal(err)
		}
		defer r1.Close()
		if r2, err := New(Config{Brokers: brokers}, newMemSource(), nil, reg); err == nil {
			r2.Close()
			t.Fatal("second relay registered the same metrics")
		}
	})
}

func TestBackoff(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: time.Second}
	for i, ceil := range []time.Duration{100, 200, 400, 800, 1000, 1000, 1000} {
		ceil *= time.Millisecond
		d := b.next()
		if d < ceil/2 || d > ceil {
			t.Errorf("failure %d: wait %v, want in [%v, %v]", i+1, d, ceil/2, ceil)
		}
	}
	b.reset()
	if d := b.next(); d > 100*time.Millisecond {
		t.Errorf("after reset: %v, want at most min", d)
	}
	big := backoff{min: 10 * time.Second, max: time.Minute, n: 100} // no overflow
	if d := big.next(); d < 30*time.Second || d > time.Minute {
		t.Errorf("many failures: %v, want in [30s, 1m]", d)
	}
}

// TestRelayReplay: a broker that lost its log (a fresh cluster, as the
// embedded broker after a restart) gets the published events again from
// the outbox's history, in Seq order per card and only those since the
// given time, and then the relay publishes the pending ones after them.
func TestRelayReplay(t *testing.T) {
	first := newCluster(t)
	src := newMemSource()
	old := makeEvents(t, 5, 2, base.Add(-48*time.Hour))
	recent := makeEvents(t, 30, 3, base)
	src.add(old...)
	src.add(recent...)
	r, _ := newRelay(t, testConfig(first.ListenAddrs()), src)
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.Close()

	second := newCluster(t) // the restarted broker: empty
	pending := makeEvents(t, 6, 3, base.Add(time.Hour))
	src.add(pending...)
	r2, _ := newRelay(t, testConfig(second.ListenAddrs()), src)
	n, err := r2.Replay(context.Background(), src, base.Add(-time.Hour))
	if err != nil || n != len(recent) {
		t.Fatalf("Replay = %d, %v; want the %d recent published events", n, err, len(recent))
	}
	if unsent := src.unsent(); len(unsent) != len(pending) {
		t.Fatalf("Replay changed the pending rows: %d unsent, want %d", len(unsent), len(pending))
	}
	// The relay then publishes the pending rows after them (Flush: Run in
	// the background would race the read below).
	if err := r2.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(recent), pending...)
	got, recs := readAll(t, second.ListenAddrs(), kafka.Topic, len(want))
	checkDelivered(t, want, got, recs)
}

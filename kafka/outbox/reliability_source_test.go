package outbox

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardhost/cardhost/kafka"
)

// hangingSource is a Source over memSource that, while hung, blocks every
// call until its context ends: a database that stops answering without
// closing its connections (a network partition, a frozen server).
type hangingSource struct {
	*memSource
	hung  atomic.Bool
	calls atomic.Int64 // calls that hung
}

func (s *hangingSource) wait(ctx context.Context) error {
	if !s.hung.Load() {
		return nil
	}
	s.calls.Add(1)
	<-ctx.Done()
	return ctx.Err()
}

func (s *hangingSource) Pending(ctx context.Context, limit int) ([]Record, error) {
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	return s.memSource.Pending(ctx, limit)
}

func (s *hangingSource) MarkSent(ctx context.Context, seqs []int64) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	return s.memSource.MarkSent(ctx, seqs)
}

func (s *hangingSource) Lag(ctx context.Context) (int64, time.Time, error) {
	if err := s.wait(ctx); err != nil {
		return 0, time.Time{}, err
	}
	return s.memSource.Lag(ctx)
}

// TestReliabilityRelaySurvivesAHangingSource: while the database hangs,
// each relay pass gives up after SourceTimeout and is retried (counted as
// a pending error) instead of waiting forever; once the database answers
// again every row is published, in order, without restarting the relay.
func TestReliabilityRelaySurvivesAHangingSource(t *testing.T) {
	c := newCluster(t)
	src := &hangingSource{memSource: newMemSource()}
	cfg := testConfig(c.ListenAddrs())
	cfg.SourceTimeout = 100 * time.Millisecond
	r, _ := newRelay(t, cfg, src)
	startRun(t, r)

	first := makeEvents(t, 10, 3, base)
	src.add(first...)
	waitFor(t, 10*time.Second, "first rows sent", func() bool { return len(src.unsent()) == 0 })

	src.hung.Store(true)
	second := makeEvents(t, 10, 3, base.Add(time.Minute))
	for i := range second {
		second[i].ID = kafka.NewID(second[i].Time)
	}
	src.add(second...)
	r.Wake()
	before := value(t, r.m.errors.WithLabelValues(opPending))
	waitFor(t, 10*time.Second, "hung passes to time out and be retried", func() bool {
		return value(t, r.m.errors.WithLabelValues(opPending)) >= before+3
	})
	if n := len(src.unsent()); n != len(second) {
		t.Fatalf("%d rows unsent while the source hung, want %d", n, len(second))
	}

	src.hung.Store(false)
	waitFor(t, 10*time.Second, "rows sent after the source answered again", func() bool { return len(src.unsent()) == 0 })
	want := append(first, second...)
	got, recs := readAll(t, c.ListenAddrs(), kafka.Topic, len(want))
	checkDelivered(t, want, got, recs)
	if src.calls.Load() < 3 {
		t.Fatalf("%d calls hung, want the relay to have retried", src.calls.Load())
	}
}

package outbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cardhost/cardhost/kafka/internal/wire"
	"github.com/twmb/franz-go/pkg/kgo"
)

// errAbandoned marks records whose fate was unknown when an attempt gave up
// on them (in flight to a broker that never answered).
var errAbandoned = errors.New("outbox: no acknowledgement before the publish timeout")

// maxAbandonGrace bounds how long a canceled pass waits for records already
// in flight before replacing the client, so that shutdown stays prompt.
const maxAbandonGrace = 5 * time.Second

// publish produces recs in order and returns how many of them, from the
// first, Kafka acknowledged, and the error that stopped the rest (nil when
// all were acknowledged). A row that cannot be encoded, or is too large,
// stops the batch there: the rows before it are published, the row itself
// is retried on the next pass and is never skipped.
func (r *Relay) publish(ctx context.Context, recs []Record) (int, error) {
	krecs := make([]*kgo.Record, 0, len(recs))
	var stop error
	for _, rec := range recs {
		kr, err := wire.Record(r.cfg.Topic, rec.Event)
		if err == nil && wire.Size(kr) > maxRecordBytes {
			err = fmt.Errorf("record of %d bytes exceeds %d", wire.Size(kr), maxRecordBytes)
		}
		if err != nil {
			stop = fmt.Errorf("publishing outbox row %d (event %s, %s): %w", rec.Seq, rec.Event.ID, rec.Event.Type, err)
			r.log.Error("outbox row cannot be published; the relay retries it and publishes nothing after it",
				"seq", rec.Seq, "event_id", rec.Event.ID, "type", rec.Event.Type, "err", err)
			break
		}
		krecs = append(krecs, kr)
	}
	if len(krecs) == 0 {
		return 0, stop
	}
	errs := r.produce(ctx, krecs)
	acked := 0
	for acked < len(errs) && errs[acked] == nil {
		acked++
	}
	if acked == len(krecs) {
		return acked, stop
	}
	r.checkOrder(krecs, errs, recs)
	rec := recs[acked]
	return acked, fmt.Errorf("publishing outbox row %d (event %s): %w", rec.Seq, rec.Event.ID, errs[acked])
}

// produce hands all records to the producer, then flushes, and returns each
// record's outcome (nil: acknowledged).
//
// Nothing is sent before every record is buffered (manual flushing), and
// the attempt's context is only canceled after that, so any failure fails
// every later record of its partition too (franz-go fails a partition's
// whole buffer, "gapless ordering"): per partition the outcomes are a run of
// successes followed by a run of failures.
func (r *Relay) produce(ctx context.Context, krecs []*kgo.Record) []error {
	cl := r.cl
	var (
		mu      sync.Mutex
		errs    = make([]error, len(krecs))
		settled = make([]bool, len(krecs))
		wg      sync.WaitGroup
	)
	attempt, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	start := r.cfg.Now()
	wg.Add(len(krecs))
	for i, kr := range krecs {
		cl.Produce(attempt, kr, func(_ *kgo.Record, err error) {
			mu.Lock()
			errs[i], settled[i] = err, true
			mu.Unlock()
			wg.Done()
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	// With manual flushing the producer only sends (and fails unsent
	// records of a canceled attempt) while a Flush runs: keep one running
	// until every record is settled or produce returns.
	flushCtx, stopFlush := context.WithCancel(context.Background())
	defer stopFlush()
	go cl.Flush(flushCtx) //nolint:errcheck // outcomes come from the promises

	timeout := time.NewTimer(r.cfg.PublishTimeout)
	defer timeout.Stop()
	grace := r.cfg.PublishTimeout
	select {
	case <-done:
		r.m.latency.Observe(r.cfg.Now().Sub(start).Seconds())
		return errs
	case <-timeout.C:
	case <-ctx.Done():
		grace = min(grace, maxAbandonGrace)
	}
	// Fail what has not been sent; what is in flight is waited for.
	cancel()
	wait := time.NewTimer(grace)
	defer wait.Stop()
	select {
	case <-done:
		return errs
	case <-wait.C:
	case <-ctx.Done(): // shutting down: wait a little, not a whole timeout
		select {
		case <-done:
			return errs
		case <-wait.C:
		case <-time.After(maxAbandonGrace):
		}
	}
	// A broker took records and never answered. Their fate is unknown;
	// closing the client fails them, and the next pass starts with a new
	// client (and producer id), so nothing left over can fail or reorder
	// the next attempt's records.
	r.log.Warn("kafka did not answer a produce in time; replacing the client", "records", len(krecs))
	cl.Close()
	r.cl = nil
	select {
	case <-done:
	case <-time.After(grace):
	}
	mu.Lock()
	defer mu.Unlock()
	out := make([]error, len(krecs))
	for i := range krecs {
		out[i] = errs[i]
		if !settled[i] {
			out[i] = errAbandoned
		}
	}
	return out
}

// checkOrder reports a record acknowledged after an earlier record of the
// same partition failed: its key's events are then out of order in Kafka.
// produce is built so this cannot happen; if it does, it is logged and
// counted, never silent.
func (r *Relay) checkOrder(krecs []*kgo.Record, errs []error, recs []Record) {
	failed := map[int32]bool{}
	for i, kr := range krecs {
		if errs[i] != nil {
			if !errors.Is(errs[i], errAbandoned) {
				failed[kr.Partition] = true
			}
			continue
		}
		if failed[kr.Partition] {
			r.m.errors.WithLabelValues(opOrder).Inc()
			r.log.Error("event acknowledged after an earlier event of its partition failed; its key may be out of order",
				"seq", recs[i].Seq, "event_id", recs[i].Event.ID, "partition", kr.Partition)
		}
	}
}

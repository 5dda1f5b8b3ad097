package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/cardhost/cardhost/kafka/internal/kgolog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Errors returned by the relay's methods.
var (
	// ErrClosed is returned by Run and Flush once Close was called.
	ErrClosed = errors.New("outbox: relay closed")
	// ErrRunning is returned by Run when another Run is in progress.
	ErrRunning = errors.New("outbox: relay already running")
)

// Relay publishes outbox rows to Kafka. Build it with [New]. Its methods are
// safe for concurrent use; publishing passes (Run's and Flush's) never
// overlap.
type Relay struct {
	cfg  Config
	src  Source
	log  *slog.Logger
	m    *metrics
	opts []kgo.Opt

	wake    chan struct{}
	running atomic.Bool

	// sem admits one publishing pass (or Close) at a time and guards the
	// fields below.
	sem        chan struct{}
	cl         *kgo.Client // nil after an abandoned attempt, until the next pass
	topicReady bool
	closed     bool
}

// New builds a relay publishing src's rows with cfg. It does no I/O: the
// brokers are first contacted by Run or Flush. logger may be nil (no logs);
// reg may be nil (metrics are kept but not exported). Errors wrap
// [ErrConfig] for a bad configuration (including what franz-go's option
// validation refuses), or come from registering the metrics.
func New(cfg Config, src Source, logger *slog.Logger, reg prometheus.Registerer) (*Relay, error) {
	if src == nil {
		return nil, fmt.Errorf("creating relay: nil source: %w", ErrConfig)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "outbox")
	r := &Relay{
		cfg:  cfg,
		src:  src,
		log:  logger,
		wake: make(chan struct{}, 1),
		sem:  make(chan struct{}, 1),
	}
	r.opts = slices.Concat(
		[]kgo.Opt{
			kgo.SeedBrokers(cfg.Brokers...),
			kgo.ClientID(cfg.ClientID),
			kgo.WithLogger(kgolog.New(logger)),
		},
		cfg.Options,
		[]kgo.Opt{ // last, so they win: the ordering guarantees rest on them
			kgo.DefaultProduceTopic(cfg.Topic),
			kgo.RequiredAcks(kgo.AllISRAcks()),
			kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)), // murmur2 of the key, as the Java client
			kgo.ManualFlushing(),
			// Let a timed-out attempt fail records already handed to a
			// connection (else they wait for the broker forever). A record
			// failed so may still have been written: a duplicate, which
			// at-least-once allows; the epoch bump that follows fences any
			// late copy, so it cannot land after the retry.
			kgo.AllowIdempotentProduceCancellation(),
			kgo.MaxBufferedRecords(cfg.BatchSize),
		},
	)
	cl, err := r.newClient()
	if err != nil {
		return nil, err
	}
	if r.m, err = newMetrics(reg); err != nil {
		cl.Close()
		return nil, err
	}
	r.cl = cl
	return r, nil
}

// newClient builds the producer client and refuses options that would break
// the relay's guarantees (franz-go itself refuses a transactional id next to
// AllowIdempotentProduceCancellation).
func (r *Relay) newClient() (*kgo.Client, error) {
	cl, err := kgo.NewClient(r.opts...)
	if err != nil { // only option validation fails here
		return nil, fmt.Errorf("creating kafka client: %w: %w", ErrConfig, err)
	}
	var bad string
	switch {
	case cl.OptValue(kgo.DisableIdempotentWrite) == true:
		bad = "DisableIdempotentWrite"
	case cl.OptValue(kgo.MaxBufferedBytes) != int64(0):
		bad = "MaxBufferedBytes"
	}
	if bad != "" {
		cl.Close()
		return nil, fmt.Errorf("creating kafka client: option %s breaks outbox ordering: %w", bad, ErrConfig)
	}
	return cl, nil
}

// Run publishes pending rows until ctx is done, then returns nil. Each pass
// reads up to BatchSize rows, publishes them and marks the acknowledged ones
// sent; a full batch is followed at once by another pass, otherwise Run
// waits PollInterval or until Wake. A failed pass (database or Kafka down,
// topic not creatable yet) is retried after an exponential backoff between
// RetryBackoffMin and RetryBackoffMax. The first pass makes sure the topic
// exists. Run also refreshes the lag gauges every LagInterval.
//
// Run returns [ErrRunning] if called while another Run is in progress and
// [ErrClosed] after Close.
func (r *Relay) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer r.running.Store(false)

	lagCtx, stopLag := context.WithCancel(ctx)
	lagDone := make(chan struct{})
	go func() {
		defer close(lagDone)
		r.lagLoop(lagCtx)
	}()
	defer func() {
		stopLag()
		<-lagDone
	}()

	bo := backoff{min: r.cfg.RetryBackoffMin, max: r.cfg.RetryBackoffMax}
	for {
		start := time.Now()
		n, err := r.pass(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrClosed) {
			return err
		}
		wait, wake := r.cfg.PollInterval, r.wake
		switch {
		case err != nil:
			wait, wake = bo.next(), nil // a wake-up must not cut a backoff short
			r.log.Warn("publishing outbox failed, retrying", "err", err, "retry_in", wait)
		case n >= r.cfg.BatchSize:
			bo.reset()
			continue
		case n > 0 && r.cfg.MinGap > 0:
			// More is likely on its way: let it gather for the rest of
			// MinGap, then look again.
			bo.reset()
			if !sleep(ctx, r.cfg.MinGap-time.Since(start), nil) {
				return nil
			}
			select { // the pass after the gap reads what a wake-up meanwhile announced
			case <-r.wake:
			default:
			}
			continue
		default:
			bo.reset()
		}
		if !sleep(ctx, wait, wake) {
			return nil
		}
	}
}

// Wake asks a running Run to make a pass now instead of at the next poll,
// e.g. right after a transaction that wrote outbox rows committed. It never
// blocks; wake-ups while a pass is running coalesce into one more pass.
func (r *Relay) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Flush publishes every pending row, retrying failures with backoff, and
// returns nil once Source.Pending returns nothing. It is meant for graceful
// shutdown, after Run's context was canceled and before Close; it may also
// run beside Run (their passes take turns). If ctx ends first, Flush returns
// an error wrapping ctx's error; rows left unsent are published by the next
// relay.
func (r *Relay) Flush(ctx context.Context) error {
	bo := backoff{min: r.cfg.RetryBackoffMin, max: r.cfg.RetryBackoffMax}
	for {
		n, err := r.pass(ctx)
		switch {
		case errors.Is(err, ErrClosed):
			return err
		case ctx.Err() != nil:
			return fmt.Errorf("flushing outbox: %w", ctx.Err())
		case err == nil && n == 0:
			return nil
		case err == nil:
			bo.reset()
			continue
		}
		wait := bo.next()
		r.log.Warn("flushing outbox failed, retrying", "err", err, "retry_in", wait)
		if !sleep(ctx, wait, nil) {
			return fmt.Errorf("flushing outbox: %w (last failure: %v)", ctx.Err(), err)
		}
	}
}

// Close waits for a pass in progress, then releases the Kafka client. Run
// and Flush return ErrClosed afterwards. Cancel Run's context before calling
// Close. Close is idempotent.
func (r *Relay) Close() {
	r.sem <- struct{}{}
	defer func() { <-r.sem }()
	if r.closed {
		return
	}
	r.closed = true
	if r.cl != nil {
		r.cl.Close()
		r.cl = nil
	}
}

// Replay publishes again, in Seq order, the events that h still holds and
// that were published since the given time, and returns how many it
// published. It refills a broker that lost its log — the embedded,
// in-memory broker after a restart — so that consumers reading from the
// beginning see the history. Run it before Run, in the same goroutine:
// every replayed event was acknowledged before any event Run publishes
// (the relay marks rows sent in Seq order per key), so one card's events
// stay in order. Consumers that already read them get them again (at
// least once; the event id drops the duplicates).
func (r *Relay) Replay(ctx context.Context, h History, since time.Time) (int, error) {
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	defer func() { <-r.sem }()
	if err := r.connect(ctx); err != nil {
		return 0, err
	}
	n, after := 0, int64(0)
	for {
		hctx, cancel := context.WithTimeout(ctx, r.cfg.SourceTimeout)
		recs, err := h.Published(hctx, after, since, r.cfg.BatchSize)
		cancel()
		if err != nil || len(recs) == 0 {
			return n, err
		}
		acked, err := r.publish(ctx, recs)
		n += acked
		if err != nil {
			return n, fmt.Errorf("replaying published events: %w", err)
		}
		after = recs[len(recs)-1].Seq
	}
}

// pass makes one publishing pass and returns how many rows Pending returned.
func (r *Relay) pass(ctx context.Context) (int, error) {
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	defer func() { <-r.sem }()
	if err := r.connect(ctx); err != nil {
		return 0, err
	}
	pctx, cancel := context.WithTimeout(ctx, r.cfg.SourceTimeout)
	recs, err := r.src.Pending(pctx, r.cfg.BatchSize)
	cancel()
	if err != nil {
		r.count(ctx, opPending)
		return 0, fmt.Errorf("reading pending outbox rows: %w", err)
	}
	if len(recs) == 0 {
		return 0, nil
	}
	for i := 1; i < len(recs); i++ {
		if recs[i].Seq <= recs[i-1].Seq {
			r.count(ctx, opPending)
			return 0, fmt.Errorf("reading pending outbox rows: seq %d after %d, want ascending order", recs[i].Seq, recs[i-1].Seq)
		}
	}
	acked, perr := r.publish(ctx, recs)
	if acked > 0 {
		r.m.published.Add(float64(acked))
		if err := r.markSent(ctx, recs[:acked]); err != nil {
			r.count(ctx, opMark)
			return len(recs), err
		}
	}
	if perr != nil {
		r.count(ctx, opPublish)
		return len(recs), perr
	}
	return len(recs), nil
}

// connect makes sure the relay is open, has a client and the topic
// exists. The caller holds sem.
func (r *Relay) connect(ctx context.Context) error {
	if r.closed {
		return ErrClosed
	}
	if r.cl == nil {
		cl, err := r.newClient()
		if err != nil {
			return err
		}
		r.cl = cl
	}
	if !r.topicReady {
		if err := r.ensureTopic(ctx); err != nil {
			r.count(ctx, opTopic)
			return err
		}
		r.topicReady = true
	}
	return nil
}

// markSent records acknowledged rows. It runs even when ctx was canceled
// meanwhile (bounded by SourceTimeout): the records are in Kafka, and not
// marking them only means publishing them again.
func (r *Relay) markSent(ctx context.Context, recs []Record) error {
	seqs := make([]int64, len(recs))
	for i, rec := range recs {
		seqs[i] = rec.Seq
	}
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.SourceTimeout)
	defer cancel()
	if err := r.src.MarkSent(mctx, seqs); err != nil {
		return fmt.Errorf("marking outbox rows %d..%d sent: %w", seqs[0], seqs[len(seqs)-1], err)
	}
	return nil
}

// ensureTopic makes sure the topic exists, creating it when it does not.
func (r *Relay) ensureTopic(ctx context.Context) error {
	tctx, cancel := context.WithTimeout(ctx, r.cfg.PublishTimeout)
	defer cancel()
	adm := kadm.NewClient(r.cl)
	topics, err := adm.ListTopics(tctx, r.cfg.Topic)
	if err != nil {
		return fmt.Errorf("describing topic %s: %w", r.cfg.Topic, err)
	}
	if d, ok := topics[r.cfg.Topic]; ok && d.Err == nil {
		r.log.Debug("topic exists", "topic", r.cfg.Topic, "partitions", len(d.Partitions))
		return nil
	} else if ok && !errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
		return fmt.Errorf("describing topic %s: %w", r.cfg.Topic, d.Err)
	}
	_, err = adm.CreateTopic(tctx, r.cfg.Partitions, r.cfg.ReplicationFactor, nil, r.cfg.Topic)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("creating topic %s: %w", r.cfg.Topic, err)
	}
	r.log.Info("created topic", "topic", r.cfg.Topic, "partitions", r.cfg.Partitions)
	return nil
}

// lagLoop refreshes the lag gauges every LagInterval until ctx is done.
func (r *Relay) lagLoop(ctx context.Context) {
	t := time.NewTicker(r.cfg.LagInterval)
	defer t.Stop()
	for {
		r.updateLag(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *Relay) updateLag(ctx context.Context) {
	lctx, cancel := context.WithTimeout(ctx, r.cfg.SourceTimeout)
	defer cancel()
	count, oldest, err := r.src.Lag(lctx)
	if err != nil {
		if ctx.Err() == nil {
			r.count(ctx, opLag)
			r.log.Warn("reading outbox lag failed", "err", err)
		}
		return
	}
	age := 0.0
	if count > 0 && !oldest.IsZero() {
		age = max(r.cfg.Now().Sub(oldest).Seconds(), 0)
	}
	r.m.lagEvents.Set(float64(count))
	r.m.lagSeconds.Set(age)
}

// count counts a failure, unless it is only the caller giving up.
func (r *Relay) count(ctx context.Context, op string) {
	if ctx.Err() == nil {
		r.m.errors.WithLabelValues(op).Inc()
	}
}

// sleep waits d, or until wake fires (nil: never), and reports false if ctx
// ended first.
func sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-wake:
	}
	return true
}

package consume

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/cardhost/cardhost/kafka"
	"github.com/cardhost/cardhost/kafka/internal/wire"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Errors of the consume package.
var (
	// ErrConfig is wrapped by NewReader's errors about the configuration.
	ErrConfig = errors.New("consume: invalid config")
	// ErrClosed is returned by Next after Close.
	ErrClosed = errors.New("consume: reader closed")
	// ErrUnreachable is wrapped by Tail's error when no broker answered
	// within TailConfig.ConnectTimeout.
	ErrUnreachable = errors.New("consume: no broker answered")
)

// Config configures a [Reader].
type Config struct {
	// Brokers are the seed brokers, host:port. Required.
	Brokers []string
	// Topic is the topic to read. Default kafka.Topic.
	Topic string
	// FromBeginning reads the topic from its first record. By default the
	// reader starts at the end: it returns the events published after
	// NewReader returned.
	FromBeginning bool
	// Filter selects the events Next returns; nil returns all.
	Filter Filter
	// Options are extra franz-go client options (TLS, SASL...), applied
	// before the reader's own consume options.
	Options []kgo.Opt
}

// DecodeError is returned by Next for a record that is not a valid cardhost
// CloudEvent (no ce_ headers, broken JSON...). The reader has moved past it;
// calling Next again continues with the next record.
type DecodeError struct {
	Partition int32
	Offset    int64
	Err       error // wraps kafka.ErrInvalidEvent
}

// Error implements error.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("decoding record at partition %d offset %d: %v", e.Partition, e.Offset, e.Err)
}

// Unwrap returns the decoding error.
func (e *DecodeError) Unwrap() error { return e.Err }

// Reader reads events from the topic's partitions, each partition in order,
// without a consumer group (nothing is committed). Not safe for concurrent
// use, except Close.
type Reader struct {
	cl     *kgo.Client
	filter Filter
	buf    []*kgo.Record
}

// NewReader connects a reader. Unless cfg.FromBeginning, it looks up the
// topic's end offsets now, so that every event published after NewReader
// returns is read (a topic that does not exist yet is read from its start
// once created). Partitions added to the topic later are not read.
func NewReader(ctx context.Context, cfg Config) (*Reader, error) {
	if len(cfg.Brokers) == 0 {
		return nil, fmt.Errorf("creating reader: no brokers: %w", ErrConfig)
	}
	if cfg.Topic == "" {
		cfg.Topic = kafka.Topic
	}
	base := append(slices.Clone(cfg.Options), kgo.SeedBrokers(cfg.Brokers...))
	start := []kgo.Opt{kgo.ConsumeTopics(cfg.Topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	if !cfg.FromBeginning {
		offsets, err := endOffsets(ctx, base, cfg.Topic)
		if err != nil {
			return nil, err
		}
		if offsets != nil {
			start = []kgo.Opt{kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{cfg.Topic: offsets})}
		}
	}
	cl, err := kgo.NewClient(append(base, start...)...)
	if err != nil {
		return nil, fmt.Errorf("creating reader: %w: %w", ErrConfig, err)
	}
	return &Reader{cl: cl, filter: cfg.Filter}, nil
}

// endOffsets returns the topic's current end offset per partition, or nil
// when the topic does not exist.
func endOffsets(ctx context.Context, opts []kgo.Opt, topic string) (map[int32]kgo.Offset, error) {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("creating reader: %w: %w", ErrConfig, err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("listing end offsets of %s: %w", topic, err)
	}
	out := map[int32]kgo.Offset{}
	var topicErr error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			topicErr = o.Err
			return
		}
		out[o.Partition] = kgo.NewOffset().At(o.Offset)
	})
	if errors.Is(topicErr, kerr.UnknownTopicOrPartition) || len(out) == 0 && topicErr == nil {
		return nil, nil
	}
	if topicErr != nil {
		return nil, fmt.Errorf("listing end offsets of %s: %w", topic, topicErr)
	}
	return out, nil
}

// TopicSize returns how many records cfg.Topic holds (end minus start
// offsets over its partitions; 0 when the topic does not exist). It fails
// when no broker answers before ctx ends.
func TopicSize(ctx context.Context, cfg Config) (int64, error) {
	if len(cfg.Brokers) == 0 {
		return 0, fmt.Errorf("sizing topic: no brokers: %w", ErrConfig)
	}
	if cfg.Topic == "" {
		cfg.Topic = kafka.Topic
	}
	cl, err := kgo.NewClient(append(slices.Clone(cfg.Options), kgo.SeedBrokers(cfg.Brokers...))...)
	if err != nil {
		return 0, fmt.Errorf("sizing topic: %w: %w", ErrConfig, err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	starts, err := adm.ListStartOffsets(ctx, cfg.Topic)
	if err != nil {
		return 0, fmt.Errorf("listing offsets of %s: %w", cfg.Topic, err)
	}
	ends, err := adm.ListEndOffsets(ctx, cfg.Topic)
	if err != nil {
		return 0, fmt.Errorf("listing offsets of %s: %w", cfg.Topic, err)
	}
	var n int64
	ends.Each(func(e kadm.ListedOffset) {
		if s, ok := starts.Lookup(cfg.Topic, e.Partition); ok && e.Err == nil && s.Err == nil {
			n += e.Offset - s.Offset
		}
	})
	return n, nil
}

// Next returns the next event the filter selects, waiting for one until ctx
// ends (then it returns ctx's error). A record that is not a cardhost event
// yields a *DecodeError; Next may be called again after it. A fetch error
// the client cannot retry is returned as is.
func (r *Reader) Next(ctx context.Context) (kafka.Event, error) {
	for {
		for len(r.buf) > 0 {
			rec := r.buf[0]
			r.buf = r.buf[1:]
			ev, err := wire.Event(rec)
			if err != nil {
				return kafka.Event{}, &DecodeError{Partition: rec.Partition, Offset: rec.Offset, Err: err}
			}
			if r.filter.match(ev) {
				return ev, nil
			}
		}
		fs := r.cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return kafka.Event{}, err
		}
		if fs.IsClientClosed() {
			return kafka.Event{}, ErrClosed
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) {
			if ferr == nil && !errors.Is(err, context.Canceled) {
				ferr = fmt.Errorf("fetching %s partition %d: %w", t, p, err)
			}
		})
		r.buf = fs.Records()
		if ferr != nil && len(r.buf) == 0 {
			return kafka.Event{}, ferr
		}
	}
}

// Close releases the client. Next returns ErrClosed afterwards.
func (r *Reader) Close() { r.cl.Close() }

// Collect reads topic from the beginning until want events selected by
// filter (nil: all) have been read, and returns them in the order read
// (partition by partition as fetched; one subject's events in order). It
// does not drop duplicates; see [Unique]. If ctx ends first it returns the
// events read so far with ctx's error; a record that is not an event fails
// it with a *DecodeError.
func Collect(ctx context.Context, brokers []string, topic string, want int, filter Filter) ([]kafka.Event, error) {
	r, err := NewReader(ctx, Config{Brokers: brokers, Topic: topic, FromBeginning: true, Filter: filter})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []kafka.Event
	for len(out) < want {
		ev, err := r.Next(ctx)
		if err != nil {
			return out, fmt.Errorf("collecting %d events (%d read): %w", want, len(out), err)
		}
		out = append(out, ev)
	}
	return out, nil
}

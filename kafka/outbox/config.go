package outbox

import (
	"cmp"
	"errors"
	"fmt"
	"time"

	"github.com/cardhost/cardhost/kafka"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Config configures a [Relay]. The zero value of every field but Brokers
// means its default.
type Config struct {
	// Brokers are the seed brokers, host:port. Required.
	Brokers []string
	// Topic is the topic to publish to. Default kafka.Topic.
	Topic string
	// Partitions is the partition count used when the relay has to create
	// the topic. Default kafka.DefaultPartitions. An existing topic is
	// left as it is.
	Partitions int32
	// ReplicationFactor is used when the relay creates the topic. Default
	// (0) means the broker's default.replication.factor.
	ReplicationFactor int16
	// PollInterval is how often the relay looks for pending rows when
	// nobody calls Wake. Default 1s.
	PollInterval time.Duration
	// BatchSize is the most rows read and published per pass. Default 500,
	// at most 10000.
	BatchSize int
	// MinGap is the least time between the start of a pass that published
	// rows and the next pass, wake-ups or not: under load, rows committed
	// meanwhile go out together instead of a pass (two database round
	// trips and a produce) per commit. It is what an event may wait beyond
	// its commit. Default 20ms; a negative value means none.
	MinGap time.Duration
	// RetryBackoffMin and RetryBackoffMax bound the exponential backoff
	// (with jitter) between failed passes: Kafka or the database down.
	// Defaults 200ms and 30s.
	RetryBackoffMin, RetryBackoffMax time.Duration
	// PublishTimeout is how long one batch may wait for Kafka's
	// acknowledgements. Then the records not yet acknowledged are failed
	// (one already written is published again: a duplicate) and the
	// batch is retried from its first failure after a backoff. Records
	// the client cannot settle within PublishTimeout more (5s when Run's
	// context ended) are given up on by replacing the Kafka client.
	// Default 30s.
	PublishTimeout time.Duration
	// SourceTimeout bounds each Source call (Pending, MarkSent, Lag), so
	// that a database that stops answering without closing its
	// connections (a partition, a frozen server) fails the pass, which is
	// retried with backoff, instead of holding the relay until TCP gives
	// up. Default 10s.
	SourceTimeout time.Duration
	// LagInterval is how often Source.Lag refreshes the lag gauges.
	// Default 15s.
	LagInterval time.Duration
	// ClientID is the Kafka client id. Default "cardhost-outbox".
	ClientID string
	// Options are extra franz-go client options, e.g. kgo.DialTLSConfig or
	// kgo.SASL. They are applied before the relay's own producer options
	// (idempotent writes, acks=all, key partitioning, manual flushing,
	// cancellable produce), which cannot be overridden; New refuses
	// DisableIdempotentWrite, TransactionalID and MaxBufferedBytes. Do not
	// lower ProducerBatchMaxBytes below its 1 MB default.
	Options []kgo.Opt
	// Now is the clock for the lag age and latencies. Default time.Now.
	Now func() time.Time
}

// Defaults.
const (
	defaultClientID       = "cardhost-outbox"
	defaultPollInterval   = time.Second
	defaultBatchSize      = 500
	defaultMinGap         = 20 * time.Millisecond
	maxBatchSize          = 10000
	defaultBackoffMin     = 200 * time.Millisecond
	defaultBackoffMax     = 30 * time.Second
	defaultPublishTimeout = 30 * time.Second
	defaultLagInterval    = 15 * time.Second
	defaultSourceTimeout  = 10 * time.Second
	// maxRecordBytes is the largest key+value+headers the relay hands to
	// the producer: below franz-go's default 1,000,012-byte batch limit
	// with room for the batch and record framing, so that the producer
	// never refuses one record of a batch on size alone.
	maxRecordBytes = 1_000_000 - 4096
)

// ErrConfig is wrapped by New's errors about the configuration.
var ErrConfig = errors.New("outbox: invalid config")

// withDefaults returns cfg with defaults filled in, or an error wrapping
// ErrConfig.
func (cfg Config) withDefaults() (Config, error) {
	if len(cfg.Brokers) == 0 {
		return cfg, fmt.Errorf("checking config: no brokers: %w", ErrConfig)
	}
	cfg.Topic = cmp.Or(cfg.Topic, kafka.Topic)
	cfg.Partitions = cmp.Or(cfg.Partitions, kafka.DefaultPartitions)
	cfg.ReplicationFactor = cmp.Or(cfg.ReplicationFactor, -1)
	cfg.PollInterval = cmp.Or(cfg.PollInterval, defaultPollInterval)
	cfg.BatchSize = cmp.Or(cfg.BatchSize, defaultBatchSize)
	cfg.MinGap = cmp.Or(cfg.MinGap, defaultMinGap)
	cfg.RetryBackoffMin = cmp.Or(cfg.RetryBackoffMin, defaultBackoffMin)
	cfg.RetryBackoffMax = cmp.Or(cfg.RetryBackoffMax, defaultBackoffMax)
	cfg.PublishTimeout = cmp.Or(cfg.PublishTimeout, defaultPublishTimeout)
	cfg.LagInterval = cmp.Or(cfg.LagInterval, defaultLagInterval)
	cfg.SourceTimeout = cmp.Or(cfg.SourceTimeout, defaultSourceTimeout)
	cfg.ClientID = cmp.Or(cfg.ClientID, defaultClientID)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	switch {
	case cfg.Partitions < 0:
		return cfg, fmt.Errorf("checking config: partitions %d: %w", cfg.Partitions, ErrConfig)
	case cfg.ReplicationFactor < -1:
		return cfg, fmt.Errorf("checking config: replication factor %d: %w", cfg.ReplicationFactor, ErrConfig)
	case cfg.BatchSize < 1 || cfg.BatchSize > maxBatchSize:
		return cfg, fmt.Errorf("checking config: batch size %d not in 1..%d: %w", cfg.BatchSize, maxBatchSize, ErrConfig)
	case cfg.PollInterval < 0 || cfg.PublishTimeout < 0 || cfg.LagInterval < 0 || cfg.RetryBackoffMin < 0 || cfg.SourceTimeout < 0:
		return cfg, fmt.Errorf("checking config: negative duration: %w", ErrConfig)
	case cfg.RetryBackoffMax < cfg.RetryBackoffMin:
		return cfg, fmt.Errorf("checking config: retry backoff max %v below min %v: %w", cfg.RetryBackoffMax, cfg.RetryBackoffMin, ErrConfig)
	}
	return cfg, nil
}

package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/cardhost/cardhost/kafka"
	"github.com/twmb/franz-go/pkg/kfake"
)

// DefaultAddr is where the embedded broker listens unless Config.Addr says
// otherwise: Kafka's usual port, on loopback only.
const DefaultAddr = "127.0.0.1:9092"

// ErrConfig is wrapped by Start's errors about the configuration.
var ErrConfig = errors.New("embedded: invalid config")

// Config configures the embedded broker. The zero value listens on
// DefaultAddr with the events topic seeded and keeps data in memory.
type Config struct {
	// Addr is the host:port to listen on and advertise. Default
	// DefaultAddr. The host must be a specific address (127.0.0.1,
	// localhost, ::1...), not a wildcard: clients connect to what the
	// broker advertises. Port 0 picks a free port (tests); read it back
	// with Broker.Addrs.
	Addr string
	// Topic is the topic created at start. Default kafka.Topic.
	Topic string
	// Partitions is the seeded topic's partition count. Default
	// kafka.DefaultPartitions.
	Partitions int32
	// DataDir, if set, keeps the broker's data in this directory across
	// restarts; by default everything is in memory.
	DataDir string
	// Logger receives the broker's warnings and errors (and its chatter at
	// debug level). Nil discards them.
	Logger *slog.Logger
	// RetentionBytes bounds what each partition keeps (the oldest batches
	// go first): the embedded broker holds its log in memory, so without a
	// bound a busy laptop instance would grow without end. Default 4 MiB
	// per partition; negative keeps everything.
	RetentionBytes int64
	// RetentionTime drops batches older than this. Default 24 hours;
	// negative keeps them.
	RetentionTime time.Duration
}

// Retention defaults of the embedded broker.
const (
	DefaultRetentionBytes = 4 << 20
	DefaultRetentionTime  = 24 * time.Hour
)

// Broker is a running embedded broker. Its methods are safe for concurrent
// use.
type Broker struct {
	c     *kfake.Cluster
	addrs []string
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
}

// Start starts the broker and seeds the topic. It fails if the address is
// in use (another broker, or a real Kafka, on the port) or not specific.
func Start(cfg Config) (*Broker, error) {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.Topic == "" {
		cfg.Topic = kafka.Topic
	}
	if cfg.Partitions == 0 {
		cfg.Partitions = kafka.DefaultPartitions
	}
	if cfg.Partitions < 0 {
		return nil, fmt.Errorf("starting embedded kafka: partitions %d: %w", cfg.Partitions, ErrConfig)
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("starting embedded kafka: address %q: %v: %w", cfg.Addr, err, ErrConfig)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		return nil, fmt.Errorf("starting embedded kafka: address %q: the broker advertises its listen address, so it needs a specific host such as 127.0.0.1: %w", cfg.Addr, ErrConfig)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		// kfake listens on 127.0.0.1:<port> by default; listen on the
		// configured address instead. The broker advertises the
		// listener's address, so clients are sent back to it.
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, cfg.Addr) }),
		kfake.SeedTopics(cfg.Partitions, cfg.Topic),
		kfake.WithLogger(logger{cfg.Logger}),
		// How often retention is applied.
		kfake.BrokerConfigs(map[string]string{"log.cleaner.backoff.ms": "5000"}),
	}
	if cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.DataDir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("starting embedded kafka on %s: %w", cfg.Addr, err)
	}
	b := &Broker{c: c, addrs: c.ListenAddrs(), stop: make(chan struct{}), done: make(chan struct{})}
	if err := b.setRetention(cfg); err != nil {
		c.Close()
		return nil, err
	}
	go b.retain(5 * time.Second)
	return b, nil
}

// retain applies the topic's retention every interval until Close (kfake
// does not run it by itself for topics created with configs altered later).
func (b *Broker) retain(interval time.Duration) {
	defer close(b.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			b.c.ApplyRetention()
		}
	}
}

// setRetention sets the topic's retention.bytes and retention.ms.
func (b *Broker) setRetention(cfg Config) error {
	if cfg.RetentionBytes == 0 {
		cfg.RetentionBytes = DefaultRetentionBytes
	}
	if cfg.RetentionTime == 0 {
		cfg.RetentionTime = DefaultRetentionTime
	}
	var alters []kadm.AlterConfig
	if cfg.RetentionBytes > 0 {
		// The log is kept in segments and only whole segments are dropped:
		// roll them at a quarter of the retention (at least 1 MiB).
		seg := max(cfg.RetentionBytes/4, 1<<20)
		alters = append(alters,
			kadm.AlterConfig{Name: "retention.bytes", Value: kadm.StringPtr(strconv.FormatInt(cfg.RetentionBytes, 10))},
			kadm.AlterConfig{Name: "segment.bytes", Value: kadm.StringPtr(strconv.FormatInt(seg, 10))})
	}
	if cfg.RetentionTime > 0 {
		alters = append(alters, kadm.AlterConfig{Name: "retention.ms", Value: kadm.StringPtr(strconv.FormatInt(cfg.RetentionTime.Milliseconds(), 10))})
	}
	if len(alters) == 0 {
		return nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.addrs...))
	if err != nil {
		return fmt.Errorf("setting embedded kafka retention: %w", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resps, err := kadm.NewClient(cl).AlterTopicConfigs(ctx, alters, cfg.Topic)
	if err == nil {
		for _, r := range resps {
			if r.Err != nil {
				err = r.Err
			}
		}
	}
	if err != nil {
		return fmt.Errorf("setting embedded kafka retention: %w", err)
	}
	return nil
}

// Addrs returns the broker's address (one host:port), to use as seed
// brokers.
func (b *Broker) Addrs() []string { return append([]string(nil), b.addrs...) }

// Close stops the broker (saving its data first when DataDir is set).
// Close is idempotent.
func (b *Broker) Close() {
	b.once.Do(func() {
		close(b.stop)
		<-b.done
	})
	b.c.Close()
}

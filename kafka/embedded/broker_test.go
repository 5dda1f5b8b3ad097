package embedded

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func start(t *testing.T, cfg Config) *Broker {
	t.Helper()
	b, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

func TestProduceConsumeAndMetadata(t *testing.T) {
	b := start(t, Config{Addr: "127.0.0.1:0", Partitions: 3})
	addrs := b.Addrs()
	if len(addrs) != 1 || !strings.HasPrefix(addrs[0], "127.0.0.1:") || strings.HasSuffix(addrs[0], ":0") {
		t.Fatalf("Addrs = %v, want one 127.0.0.1 address with the chosen port", addrs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(kafka.Topic),
		kgo.ConsumeTopics(kafka.Topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	// The metadata lists the seeded topic and advertises the address the
	// client used, so clients connect back to it.
	md, err := kadm.NewClient(cl).Metadata(ctx)
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	if len(md.Brokers) != 1 || net.JoinHostPort(md.Brokers[0].Host, strconv.Itoa(int(md.Brokers[0].Port))) != addrs[0] {
		t.Fatalf("advertised brokers %+v, want exactly %s", md.Brokers, addrs[0])
	}
	td, ok := md.Topics[kafka.Topic]
	if !ok || td.Err != nil || len(td.Partitions) != 3 {
		t.Fatalf("topic %s in metadata: %+v (present %v), want 3 partitions", kafka.Topic, td, ok)
	}

	if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte("card_1"), Value: []byte(`{"n":1}`)},
		&kgo.Record{Key: []byte("card_1"), Value: []byte(`{"n":2}`)}).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	var got []string
	for len(got) < 2 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %v before the deadline", got)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	if got[0] != `{"n":1}` || got[1] != `{"n":2}` {
		t.Fatalf("consumed %v, want the two records in order", got)
	}
}

func TestStartRejects(t *testing.T) {
	for _, tc := range []struct{ name, addr string }{
		{"no host", ":9092"},
		{"wildcard v4", "0.0.0.0:9092"},
		{"wildcard v6", "[::]:9092"},
		{"no port", "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Start(Config{Addr: tc.addr})
			if !errors.Is(err, ErrConfig) {
				if b != nil {
					b.Close()
				}
				t.Fatalf("Start(%q) = %v, want ErrConfig", tc.addr, err)
			}
		})
	}
	t.Run("port in use", func(t *testing.T) {
		first := start(t, Config{Addr: "127.0.0.1:0"})
		b, err := Start(Config{Addr: first.Addrs()[0]})
		if err == nil {
			b.Close()
			t.Fatal("second broker started on a port in use")
		}
	})
}

func TestDataDirSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	b := start(t, Config{Addr: "127.0.0.1:0", Partitions: 1, DataDir: dir})
	addr := b.Addrs()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(kafka.Topic))
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("kept")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	b.Close()

	b2 := start(t, Config{Addr: addr, Partitions: 1, DataDir: dir})
	cl2, err := kgo.NewClient(kgo.SeedBrokers(b2.Addrs()...), kgo.ConsumeTopics(kafka.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	fs := cl2.PollFetches(ctx)
	if recs := fs.Records(); len(recs) != 1 || string(recs[0].Value) != "kept" {
		t.Fatalf("after restart: %d records (errors %v), want the one produced before", len(recs), fs.Errors())
	}
}

func TestLoggerLevels(t *testing.T) {
	var buf bytes.Buffer
	l := logger{slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	l.Logf(kfake.LogLevelInfo, "request %d", 1)
	if buf.Len() != 0 {
		t.Fatalf("kfake info logged at info: %q", buf.String())
	}
	l.Logf(kfake.LogLevelWarn, "bad request from %s", "client")
	if !strings.Contains(buf.String(), `level=WARN msg="bad request from client" component=embedded-kafka`) {
		t.Fatalf("warning not logged: %q", buf.String())
	}
	logger{}.Logf(kfake.LogLevelError, "x") // nil logger: no panic
}

// TestRetentionBoundsMemory: the in-memory log drops its oldest batches
// past the configured size, so a long-running laptop instance stays flat.
func TestRetentionBoundsMemory(t *testing.T) {
	b := start(t, Config{Addr: "127.0.0.1:0", Partitions: 1, RetentionBytes: 4096})
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.DefaultProduceTopic(kafka.Topic), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < 50; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: bytes.Repeat([]byte{'x'}, 1000)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	b.c.ApplyRetention()
	offs, err := kadm.NewClient(cl).ListStartOffsets(ctx, kafka.Topic)
	if err != nil {
		t.Fatal(err)
	}
	o, ok := offs.Lookup(kafka.Topic, 0)
	if !ok || o.Offset <= 0 {
		t.Fatalf("start offset %d after 50 records of 1 KB with 4 KB retention, want the oldest dropped", o.Offset)
	}
}

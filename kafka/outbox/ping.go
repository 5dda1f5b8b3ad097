package outbox

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Ping reports whether any broker of cfg.Brokers (with cfg.Options, e.g.
// TLS) answers a metadata request before ctx ends: each seed broker is
// asked once, in order, and the first answer returns nil. Otherwise the
// error is the last broker's, wrapped ("pinging Kafka: ..."); it names
// addresses, never credentials. A relay keeps retrying unreachable
// brokers for ever, so start-up pings first: brokers that are all down
// stop the start instead of half-starting it. Safe for concurrent use.
func Ping(ctx context.Context, cfg Config) error {
	if len(cfg.Brokers) == 0 {
		return fmt.Errorf("pinging Kafka: no brokers: %w", ErrConfig)
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cfg.Brokers...)}, cfg.Options...)...)
	if err != nil {
		return fmt.Errorf("pinging Kafka: %w", err)
	}
	defer cl.Close()
	if err := cl.Ping(ctx); err != nil {
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return fmt.Errorf("pinging Kafka: %w", err)
	}
	return nil
}

package admin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/cardhost/cardhost/kafka/consume"
)

// Events is `cardhost events tail`: consume the events topic and print
// one CloudEvents JSON line per event. Without KAFKA_BROKERS it reads the
// embedded broker of a local `cardhost serve`.
func Events(ctx context.Context, args []string, load Load, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "tail" {
		fmt.Fprintln(stderr, "usage: cardhost events tail [--type card.*,authorization.approved] [--from-beginning] [--limit N] [--tenant ID]")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return 0
		}
		return 2
	}
	fs := flag.NewFlagSet("cardhost events tail", flag.ContinueOnError)
	fs.SetOutput(stderr)
	types := fs.String("type", "", "comma-separated event types to print; a trailing * matches a prefix (card.*)")
	from := fs.Bool("from-beginning", false, "read the topic from its first event (default: only new events)")
	limit := fs.Int("limit", 0, "stop after this many events (0: until interrupted)")
	tenant := fs.String("tenant", "", "only this tenant's events")
	env, code := parse(load, fs, args[1:], stderr)
	if code >= 0 {
		return code
	}
	if *limit < 0 {
		return badInput(fs, stderr)("--limit must not be negative")
	}
	var filters []consume.Filter
	if *types != "" {
		filters = append(filters, consume.Types(strings.Split(*types, ",")...))
	}
	if *tenant != "" {
		filters = append(filters, consume.Tenant(*tenant))
	}
	tc := consume.TailConfig{Config: consume.Config{Brokers: env.Brokers, Topic: env.Topic, FromBeginning: *from}, Limit: *limit, Dedup: true, Notice: stderr}
	if len(filters) > 0 {
		tc.Filter = consume.All(filters...)
	}
	switch err := consume.Tail(ctx, tc, stdout); {
	case errors.Is(err, consume.ErrUnreachable):
		fmt.Fprintf(stderr, "cardhost events tail: %v: is `cardhost serve` running (its embedded broker, without KAFKA_BROKERS), or KAFKA_BROKERS set to your cluster?\n", err)
		return 1
	case err != nil && !errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "cardhost events tail:", err)
		return 1
	}
	return 0
}

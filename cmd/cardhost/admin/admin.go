package admin

import (
	"context"
	"flag"
	"log/slog"

	"github.com/cardhost/cardhost/emv/softhsm"
	"github.com/cardhost/cardhost/issuance/postgres"
)

// Env is what a command gets from the binary: the parts of its
// configuration the command needs and how to open what it works on.
type Env struct {
	Mode string // sandbox or production
	Log  *slog.Logger
	// OpenDB opens (creating and migrating) the database; the caller
	// closes it.
	OpenDB func(ctx context.Context) (*postgres.DB, error)
	// OpenHSM opens the software HSM over db's key store; the caller
	// purges it.
	OpenHSM func(ctx context.Context, db *postgres.DB) (*softhsm.HSM, error)
	// Brokers and Topic are where events are read: the configured Kafka,
	// or the embedded broker of a local `cardhost serve`.
	Brokers []string
	Topic   string
}

// Load is how the binary reads its configuration for a command: it defines
// the configuration flags on fs beside the command's own, parses args and
// the environment, and validates them. It returns flag.ErrHelp after -h;
// its other errors name a flag or variable, never a value.
type Load func(fs *flag.FlagSet, args []string) (Env, error)

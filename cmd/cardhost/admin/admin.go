package admin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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
	OpenHSM func(db *postgres.DB) (*softhsm.HSM, error)
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

// subcommand splits `cardhost NAME SUB args...`. Without arguments, or
// with -h, it prints usage to stderr and returns ok false with the exit
// code: 2 without arguments, 0 after -h.
func subcommand(args []string, usage string, stderr io.Writer) (sub string, rest []string, code int, ok bool) {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return "", nil, 2, false
		}
		return "", nil, 0, false
	}
	return args[0], args[1:], 0, true
}

// flagSet is the flag set of `cardhost NAME`, printing its errors to
// stderr.
func flagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("cardhost "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse reads the configuration and the command's flags from args. When
// the command ends there, ok is false with the exit code: 0 after -h, 2 on
// bad input (printed as badInput does).
func parse(load Load, fs *flag.FlagSet, args []string, stderr io.Writer) (env Env, code int, ok bool) {
	env, err := load(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return env, 0, false
	case err != nil:
		return env, badInput(fs, stderr)("%v", err), false
	}
	return env, 0, true
}

// badInput returns a function that prints `cardhost NAME SUB: message` (the
// flag set's name) to stderr and returns exit code 2.
func badInput(fs *flag.FlagSet, stderr io.Writer) func(format string, a ...any) int {
	return func(format string, a ...any) int {
		fmt.Fprintf(stderr, "%s: %s\n", fs.Name(), fmt.Sprintf(format, a...))
		return 2
	}
}

// Command cardhost is the issuer processor: one binary with the REST
// issuance API, the ISO 8583 authorization host, the outbox relay (and,
// without KAFKA_BROKERS, an embedded Kafka broker), plus subcommands for
// tenants, key ceremonies, the crypto calculator and event tailing.
//
//	cardhost                     list the commands (as cardhost help; exit 2)
//	cardhost serve [flags]       run everything
//	cardhost migrate             create the database and run migrations
//	cardhost tenants create --name NAME | list | revoke-key ...
//	cardhost keys ...            key ceremonies
//	cardhost acquirers add|list  acquirers and their zone keys
//	cardhost crypto ...          cryptographic calculator
//	cardhost events tail         print events as JSON lines
//	cardhost funding credit|debit, ledger check, clearing import, reports settlement   money
//	cardhost config              print the configuration variables
//
// This package holds flags, configuration, wiring and the subcommand
// table only: the operator subcommands are package admin, sandbox mode's
// seeding and simulator package sandbox (both below this directory), and
// the crypto calculator is package emv/calc.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/cardhost/cardhost/cmd/cardhost/admin"
	"github.com/cardhost/cardhost/emv/calc"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: cardhost COMMAND [flags]

commands:
  serve       run the REST API, the ISO 8583 host and the outbox relay
  migrate     create the database if missing and apply migrations
  tenants     create | list | create-key | revoke-key | add-bin | remove-bin | bins
  keys        generate | import | list | export | rotate | assign | roles (key ceremonies)
  acquirers   add | list (acquirers by field 32 and their zone PIN keys)
  crypto      cryptographic calculator (kcv, arqc, cvv, pinblock ...)
  events      tail: print events from Kafka as JSON lines
  funding     credit | debit a tenant's program balance (audited)
  ledger      check: verify every invariant of the ledger
  clearing    import FILE: post a clearing file's records
  reports     settlement --date: the day's settlement per currency
  config      print every configuration variable with its default
  version     print the version

Run 'cardhost help COMMAND' or 'cardhost COMMAND -h' for a command's flags.
`

// run is the whole program; main only adds the signal context and the
// exit code. Exit codes: 0 ok, 1 failure, 2 bad usage. Without a command
// it lists the commands on stderr and exits 2, as the go tool does
// (`cardhost help` lists them on stdout, exit 0); the server is `cardhost
// serve`.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, args := args[0], args[1:]
	if strings.HasPrefix(cmd, "-") && cmd != "-h" && cmd != "--help" && cmd != "-help" {
		fmt.Fprintf(stderr, "cardhost: the command comes first (flags follow it), e.g. cardhost serve %s\n\n%s", cmd, usage)
		return 2
	}
	switch cmd {
	case "serve":
		return runServe(ctx, args, getenv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, args, getenv, stdout, stderr)
	case "tenants":
		return admin.Tenants(ctx, args, adminLoad(getenv, stderr), stdout, stderr)
	case "keys":
		return admin.Keys(ctx, args, adminLoad(getenv, stderr), stdout, stderr)
	case "acquirers":
		return admin.Acquirers(ctx, args, adminLoad(getenv, stderr), stdout, stderr)
	case "crypto":
		return calc.Run("cardhost crypto", args, stdout, stderr)
	case "events":
		return admin.Events(ctx, args, adminLoad(getenv, stderr), stdout, stderr)
	case "funding", "ledger", "reports", "clearing":
		return admin.Money(ctx, cmd, args, adminLoad(getenv, stderr), stdout, stderr)
	case "config":
		writeConfigTable(stdout)
		return 0
	case "version":
		fmt.Fprintln(stdout, "cardhost", version)
		return 0
	case "help", "-h", "--help", "-help":
		if len(args) > 0 && args[0] != "serve" { // help COMMAND: the command's own -h
			return run(ctx, []string{args[0], "-h"}, getenv, stdout, stderr)
		}
		if len(args) > 0 {
			return runServe(ctx, []string{"-h"}, getenv, stdout, stdout)
		}
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "cardhost: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

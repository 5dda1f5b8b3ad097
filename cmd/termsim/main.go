// Command termsim is cardhost's terminal and card simulator: it talks to an
// ISO 8583 host over TCP as an acquirer or terminal would. The work is done
// by the packages beside it: terminal (transport, cards, terminal), loadgen
// (load generation) and scenario (scenario files and their replay); this
// command parses arguments.
//
// Usage:
//
//	termsim auth    --card FILE | --perso FILE [--amount 1234] [--entry chip] [--pin 1234] ...
//	termsim load    --card-dir DIR | --api URL --key KEY [--connections 2] [--inflight 8] [--rate R | --max] [--duration 10s] [--mix FILE] [--baseline]
//	termsim replay  [--api URL --key KEY] [--kafka BROKERS] FILE|DIR...
//	termsim echo    [--host host:port] [-n N]
//
// Exit status: 0 success (approved; every expectation held), 1 failure
// (declined, unexpected answers, no answer), 2 bad command line or input
// files. docs/termsim.md describes every command, the card file, mix and
// scenario formats. Commands are registered by their own files (auth.go,
// load.go, replay.go, echo.go) with register; `termsim help` lists them.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// Exit codes.
const (
	exitOK    = 0 // success
	exitFail  = 1 // the host did not answer, or answered wrongly
	exitUsage = 2 // bad command line
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one termsim subcommand.
type command struct {
	// name is what the user types: termsim <name>.
	name string
	// summary is one line for `termsim help`.
	summary string
	// run runs the command with its arguments (after the name) and
	// returns the exit code. It writes results to stdout and diagnostics
	// to stderr.
	run func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// commands holds the subcommands, registered from each command's file.
var commands = map[string]command{}

// register adds a subcommand; each command's file calls it from init.
func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("termsim: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// run dispatches args to a subcommand and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "termsim: unknown command %q\n", name)
		usage(stderr)
		return exitUsage
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: termsim <command> [flags]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'termsim <command> -h' for a command's flags.")
}

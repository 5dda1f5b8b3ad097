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
//	termsim decider [--addr 127.0.0.1:8650] [--decline-above N] [--reason R] [--partial N] [--sleep D] [--status S] [--secret whsec_...]
//
// Exit status: 0 success (approved; every expectation held), 1 failure
// (declined, unexpected answers, no answer), 2 bad command line or input
// files. docs/termsim.md describes every command, the card file, mix and
// scenario formats. The commands are listed in main.go's table and
// implemented by their own files (auth.go, load.go, replay.go, echo.go,
// decide.go); `termsim help` lists them.
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
	// summary is one line for `termsim help`.
	summary string
	// run runs the command with its arguments (after the name) and
	// returns the exit code. It writes results to stdout and diagnostics
	// to stderr.
	run func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// commands are the subcommands by name (what the user types: termsim
// <name>); each is implemented in its own file.
var commands = map[string]command{
	"auth":    {"send one authorization from flags and print the request, the answer and the decision", runAuth},
	"load":    {"load test: connections x in-flight requests from a mix, with latency percentiles and a bare-server baseline", runLoad},
	"replay":  {"replay scenario files (setup through the REST API, steps over ISO 8583, expectations checked)", runReplay},
	"echo":    {"send 0800 echo tests (70=301) and print round-trip times", runEcho},
	"decider": {"serve a local authorization decision endpoint (approve, decline above N, partial, sleep) for cardhost to call", runDecider},
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

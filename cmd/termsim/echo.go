package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
)

// runEcho implements `termsim echo --host addr [-n N] [--timeout d]`.
func runEcho(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("echo", "termsim echo [--host host:port] [-n N] [--timeout 2s]", stderr)
	host := fs.String("host", "127.0.0.1:8583", "host address `host:port`")
	n := fs.Int("n", 1, "number of echo tests to send, one after the other")
	timeout := fs.Duration("timeout", 2*time.Second, "how long to wait for each answer (and to connect)")
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "termsim echo: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	case *n < 1:
		fmt.Fprintf(stderr, "termsim echo: -n must be at least 1, got %d\n", *n)
		return exitUsage
	case *timeout <= 0:
		fmt.Fprintf(stderr, "termsim echo: --timeout must be positive, got %v\n", *timeout)
		return exitUsage
	case *host == "":
		fmt.Fprintln(stderr, "termsim echo: --host is required")
		return exitUsage
	}

	c, err := terminal.Dial(ctx, *host, terminal.ConnectTimeout(*timeout), terminal.RequestTimeout(*timeout))
	if err != nil {
		fmt.Fprintf(stderr, "termsim echo: %v\n", err)
		return exitFail
	}
	defer c.Close()

	var (
		answered      int
		total, lo, hi time.Duration
	)
	for i := 1; i <= *n; i++ {
		rtt, err := c.Echo(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "echo %d: %v\n", i, err)
			if ctx.Err() != nil || errors.Is(err, terminal.ErrClosed) {
				break
			}
			continue
		}
		answered++
		total += rtt
		if answered == 1 || rtt < lo {
			lo = rtt
		}
		hi = max(hi, rtt)
		fmt.Fprintf(stdout, "echo %d: 0810 00 from %s in %v\n", i, c.Addr(), rtt.Round(time.Microsecond))
	}
	fmt.Fprintf(stdout, "%d sent, %d answered", *n, answered)
	if answered > 0 {
		fmt.Fprintf(stdout, ", round trip min/avg/max %v/%v/%v",
			lo.Round(time.Microsecond), (total / time.Duration(answered)).Round(time.Microsecond), hi.Round(time.Microsecond))
	}
	fmt.Fprintln(stdout)
	if answered < *n {
		return exitFail
	}
	return exitOK
}

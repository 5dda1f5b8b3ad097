package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/cardhost/cardhost/cmd/termsim/decider"
)

// runDecider serves a local authorization decision endpoint until
// interrupted (for load runs and manual tests; scenarios start their own
// with decider steps).
func runDecider(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("decider", "termsim decider [--addr 127.0.0.1:8650] [--decline-above N] [--reason R] [--partial N] [--sleep D] [--status S] [--secret whsec_...]", stderr)
	addr := fs.String("addr", "127.0.0.1:8650", "address to listen on `host:port`")
	var r decider.Rules
	fs.Int64Var(&r.DeclineAbove, "decline-above", 0, "decline requests whose card_amount is above `N` minor units (0: never)")
	fs.StringVar(&r.Reason, "reason", "", "reason sent with a decline: insufficient_funds, suspected_fraud, do_not_honor")
	fs.Int64Var(&r.Partial, "partial", 0, "approve at most `N` minor units (a partial approval when the terminal takes one)")
	fs.DurationVar(&r.Sleep, "sleep", 0, "wait this long before answering (past timeout_ms: the host's default action)")
	fs.IntVar(&r.Status, "status", 0, "answer this HTTP status instead of 200 (an error: the host's default action)")
	secret := fs.String("secret", "", "the whsec_ secret PUT /v1/authorization-decision answered: requests not signed with it answer 401")
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "termsim decider: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	case r.DeclineAbove < 0 || r.Partial < 0 || r.Sleep < 0 || (r.Status != 0 && (r.Status < 100 || r.Status > 599)):
		fmt.Fprintln(stderr, "termsim decider: --decline-above and --partial must be positive, --sleep not negative, --status an HTTP status")
		return exitUsage
	}
	s, err := decider.Start(*addr, r)
	if err != nil {
		fmt.Fprintf(stderr, "termsim decider: %v\n", err)
		return exitFail
	}
	defer s.Close()
	if *secret != "" {
		if err := s.SetSecret(*secret); err != nil {
			fmt.Fprintf(stderr, "termsim decider: --secret: %v\n", err)
			return exitUsage
		}
	}
	fmt.Fprintf(stdout, "decider listening: PUT /v1/authorization-decision {\"url\": %q} (cardhost in sandbox mode for http)\n", s.URL())
	<-ctx.Done()
	fmt.Fprintf(stdout, "decider: %d requests, %d with a bad signature (%s)\n", s.Requests.Load(), s.BadSignatures.Load(), time.Now().UTC().Format(time.RFC3339))
	return exitOK
}

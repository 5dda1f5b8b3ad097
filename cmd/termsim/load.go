package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cardhost/cardhost/cmd/termsim/loadgen"
	"github.com/cardhost/cardhost/cmd/termsim/scenario"
	"github.com/cardhost/cardhost/cmd/termsim/terminal"
)

// runLoad implements `termsim load`. Exit 0: every answer was expected
// (codes of the mix, valid ARPCs) and nothing failed; 1: unexpected
// answers, errors or timeouts, or no connection; 2: bad flags.
func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("load", "termsim load --card-dir DIR | --api URL --key KEY [--cards N] [--funded N] [--connections 2] [--inflight 8] [--rate R | --max] [--warmup 0s] [--duration 10s] [--mix FILE] [--json FILE] [--baseline] [--cpu NAME=PID]", stderr)
	tf := newTerminalFlags(fs)
	nCards := fs.Int("cards", 0, "number of cards: the first N of --card-dir, or N new cards created through --api (default: all of --card-dir, or 10 with --api)")
	cardDir := fs.String("card-dir", "", "`folder` of card files (*.json, *.yaml); their ATCs are kept in FILE.state")
	apiURL := fs.String("api", "", "REST API `URL` (e.g. http://127.0.0.1:8080): create the cards there (sandbox) before the run")
	apiKey := fs.String("key", "", "API key for --api (default $CARDHOST_API_KEY)")
	product := fs.String("product", "", "product id of the cards created with --api (default: the tenant's first ACTIVE VIRTUAL product)")
	cardPIN := fs.String("card-pin", "1234", "sandbox PIN set on the cards created with --api")
	funded := fs.Int("funded", 0, "of the cards created with --api, how many are funded (docs/ledger.md): half SHARED, half PREPAID, each with a balance that never runs short")
	tkey := fs.String("transport-key", "", "transport key in clear `hex` that opens the cards' personalisation exports (default: the sandbox key)")
	conns := fs.Int("connections", 2, "TCP connections")
	inflight := fs.Int("inflight", 8, "requests in flight per connection")
	rate := fs.Float64("rate", 0, "requests per second over all connections, open loop: latency counts from each request's scheduled send, and the report warns when the achieved rate falls short (default: --max)")
	maxRate := fs.Bool("max", false, "send as fast as answers come back (the default without --rate)")
	duration := fs.Duration("duration", 10*time.Second, "how long to start requests and measure (after --warmup)")
	warmup := fs.Duration("warmup", 0, "run this long first without counting latencies, throughput or the rate (answers are still checked)")
	mixFile := fs.String("mix", "", "mix `file` (YAML or JSON, docs/termsim.md); default 40% chip, 30% contactless, 15% magstripe, 15% e-commerce, all expected 00")
	jsonFile := fs.String("json", "", "also write the report as JSON to `file`")
	baseline := fs.Bool("baseline", false, "first run the same load against an in-process bare server (answers 00, decides nothing) and report the host's throughput and p99 against it")
	quiet := fs.Bool("quiet", false, "no progress line every second")
	cpu := &loadgen.ProcCPU{}
	fs.Var(cpu, "cpu", "`NAME=PID[,PID...]` or NAME=comm:COMMAND (repeatable, Linux): report the CPU time of those processes per decision over the measured window, e.g. --cpu cardhost=$PID --cpu postgresql=comm:postgres")
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	fail := func(err error) int { return reportErr(stderr, "load", err) }
	if fs.NArg() > 0 {
		return fail(usagef("unexpected argument %q", fs.Arg(0)))
	}
	tcfg, err := tf.terminalConfig()
	if err != nil {
		return fail(err)
	}
	switch {
	case *rate > 0 && *maxRate:
		return fail(usagef("give --rate or --max, not both"))
	case *rate < 0:
		return fail(usagef("--rate must be positive"))
	case *conns < 1 || *inflight < 1 || *conns > 1000 || *inflight > 1000:
		return fail(usagef("--connections and --inflight must be 1 to 1000"))
	case *duration <= 0 || *warmup < 0:
		return fail(usagef("--duration must be positive and --warmup not negative"))
	case *nCards < 0:
		return fail(usagef("--cards must not be negative"))
	case (*cardDir == "") == (*apiURL == ""):
		return fail(usagef("give --card-dir DIR or --api URL (with --key), one of them"))
	}
	mix := loadgen.DefaultMix()
	if *mixFile != "" {
		if mix, err = loadgen.LoadMix(*mixFile); err != nil {
			if errors.Is(err, loadgen.ErrMix) {
				return fail(usagef("%v", err))
			}
			return fail(err)
		}
	}

	var cards []*terminal.Card
	if *cardDir != "" {
		if cards, err = terminal.LoadCardDir(*cardDir, *nCards); err != nil {
			if errors.Is(err, terminal.ErrCard) {
				return fail(usagef("%v", err))
			}
			return fail(err)
		}
		if len(cards) == 0 {
			return fail(usagef("--card-dir %s holds no card files", *cardDir))
		}
	} else {
		if *apiKey == "" {
			*apiKey = os.Getenv("CARDHOST_API_KEY")
		}
		n := *nCards
		if n == 0 {
			n = 10
		}
		if *funded < 0 || *funded > n {
			return fail(usagef("--funded must be 0 to the number of cards"))
		}
		if cards, err = createCards(ctx, stderr, *apiURL, *apiKey, *tkey, *product, *cardPIN, n, *funded); err != nil {
			return fail(err)
		}
	}
	defer func() {
		for _, c := range cards {
			if err := c.SaveState(); err != nil {
				fmt.Fprintf(stderr, "termsim load: %v\n", err)
			}
		}
	}()
	if n := *conns * *inflight; len(cards) < n {
		fmt.Fprintf(stderr, "termsim load: %d cards for %d requests in flight: a card serves one request at a time (its ATC must arrive in order), so some requests will wait for a card\n", len(cards), n)
	}
	cfg := loadgen.LoadConfig{
		Label: "host", Addr: tf.host, Cards: cards, Terminal: tcfg, Connections: *conns, InFlight: *inflight,
		Rate: *rate, Duration: *duration, Warmup: *warmup, Mix: mix, Timeout: tf.timeout, Validate: true,
	}
	if !*quiet {
		cfg.Progress = stderr
	}
	if !cpu.Empty() {
		cfg.CPU = cpu
	}

	var bare *loadgen.LoadReport
	if *baseline {
		if bare, err = runBare(ctx, cfg, stderr); err != nil {
			return fail(err)
		}
		bare.WriteText(stdout)
		fmt.Fprintln(stdout)
	}
	if !*quiet {
		fmt.Fprintf(stderr, "host %s: %d connections x %d in flight for %v\n", tf.host, *conns, *inflight, *duration)
	}
	rep, err := loadgen.RunLoad(ctx, cfg)
	if err != nil {
		if errors.Is(err, loadgen.ErrLoadConfig) {
			return fail(usagef("%v", err))
		}
		return fail(err)
	}
	rep.WriteText(stdout)
	var out any = rep
	if bare != nil {
		b := loadgen.NewBaseline(rep, bare)
		fmt.Fprintf(stdout, "\n%s\n", b)
		out = b
	}
	if *jsonFile != "" {
		data, err := json.MarshalIndent(out, "", "  ")
		if err == nil {
			err = os.WriteFile(*jsonFile, append(data, '\n'), 0o644)
		}
		if err != nil {
			return fail(fmt.Errorf("writing JSON report: %w", err))
		}
	}
	if !rep.OK() {
		return exitFail
	}
	return exitOK
}

// runBare runs cfg against an in-process BareServer: the same client,
// codec, framing, cards, mix and duration, without answers to check.
func runBare(ctx context.Context, cfg loadgen.LoadConfig, stderr io.Writer) (*loadgen.LoadReport, error) {
	s, err := loadgen.StartBareServer("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer s.Close()
	cfg.Label, cfg.Addr, cfg.Validate, cfg.CPU = "bare", s.Addr().String(), false, nil
	if cfg.Progress != nil {
		fmt.Fprintf(stderr, "bare server %s: %d connections x %d in flight for %v\n", cfg.Addr, cfg.Connections, cfg.InFlight, cfg.Duration)
	}
	// The bare run moves the cards' ATCs on; the host run then continues
	// above them, so the host still sees each card's counter rise.
	return loadgen.RunLoad(ctx, cfg)
}

// createCards creates n cards through the REST API (sandbox) of the load
// product (scenario.LoadProduct) unless productID names one, the last
// funded of them funded (half SHARED, half PREPAID), and becomes them.
func createCards(ctx context.Context, stderr io.Writer, apiURL, key, tkeyHex, productID, pin string, n, funded int) ([]*terminal.Card, error) {
	api, err := scenario.NewAPI(apiURL, key, 0)
	if err != nil {
		return nil, usagef("%v", err)
	}
	tk, err := transportKey(tkeyHex)
	if err != nil {
		return nil, err
	}
	is := &scenario.Issuer{API: api, TransportKey: tk}
	model, err := is.DefaultProduct(ctx)
	if err != nil {
		return nil, err
	}
	if productID == "" {
		p, err := is.LoadProduct(ctx, model, "LIMIT")
		if err != nil {
			return nil, err
		}
		productID = p.ID
	}
	start := time.Now()
	req := scenario.CardRequest{ProductID: productID, CardHolderName: "TERMSIM LOAD"}
	cards, err := is.NewCards(ctx, n-funded, 8, req, pin)
	for _, f := range []struct {
		mode string
		n    int
	}{{"SHARED", funded / 2}, {"PREPAID", funded - funded/2}} {
		if err == nil && f.n > 0 {
			var more []*terminal.Card
			more, err = is.NewFundedCards(ctx, f.n, f.mode, model, req, pin, 900_000_000_000/int64(f.n)) // a deposit is at most 12 digits
			cards = append(cards, more...)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("creating cards: %w", err)
	}
	fmt.Fprintf(stderr, "created %d cards of product %s (and %d funded) through %s in %v\n", n-funded, productID, funded, apiURL, time.Since(start).Round(time.Millisecond))
	return cards, nil
}

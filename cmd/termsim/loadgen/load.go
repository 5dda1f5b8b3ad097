package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/iso"
)

// LoadConfig configures RunLoad. A zero field means its default.
type LoadConfig struct {
	// Label names the target in reports ("host", "bare").
	Label string
	// Addr is the host address.
	Addr string
	// Cards are the cards to use (at least one). A card is used by one
	// request at a time (its chip's ATC must reach the host in order), so
	// with fewer cards than Connections*InFlight some requests wait for a
	// card.
	Cards []*terminal.Card
	// Terminal is the terminal of the requests. With several connections
	// each gets its own terminal id: the first 4 characters of TerminalID
	// and the connection's number (TERM0001, TERM0002...).
	Terminal terminal.TerminalConfig
	// Connections is the number of TCP connections (default 1).
	Connections int
	// InFlight is the number of requests in flight on each connection
	// (default 1): each is one goroutine sending and waiting.
	InFlight int
	// Rate is the total requests per second to start, spread evenly
	// (open loop: each request has its scheduled send time, whether or
	// not the host kept up, and its latency is measured from that time,
	// as wrk2 does, so that a host that falls behind is not flattered by
	// the requests it delayed: no coordinated omission). 0 sends as fast
	// as answers come back (closed loop; latency from the actual send).
	Rate float64
	// Duration is how long requests are started and measured (default 10
	// seconds), after Warmup. Requests in flight at the end are still
	// waited for.
	Duration time.Duration
	// Warmup is a first stretch of the run whose requests are sent and
	// checked but left out of the figures (latencies, throughput, the
	// achieved rate): connection pools, caches and the JIT of the host
	// settle first. Default 0.
	Warmup time.Duration
	// Mix is the transaction mix (default DefaultMix()).
	Mix *Mix
	// Timeout bounds each request (default 5 seconds) and each connection
	// attempt.
	Timeout time.Duration
	// Validate checks answers against the mix's expected codes and the
	// host interface (Result.Problems). Off for the bare baseline, which
	// approves everything without ARPC.
	Validate bool
	// Progress, when not nil, receives a line a second: requests per
	// second, approvals, declines, unexpected answers, errors, timeouts,
	// p50 and p99 of that second.
	Progress io.Writer
	// ClientOptions are passed to Dial (besides the timeouts).
	ClientOptions []terminal.Option
	// CPU, when not nil, is read at the start and the end of the measured
	// window: LoadReport.CPU is each group's CPU time per answer.
	CPU CPUMeter
}

// ErrLoadConfig: RunLoad was given an unusable configuration.
var ErrLoadConfig = errors.New("termsim: invalid load configuration")

// LoadReport is the outcome of a load run.
type LoadReport struct {
	Label       string  `json:"target"`                  // LoadConfig.Label
	Addr        string  `json:"addr"`                    // the host address
	Connections int     `json:"connections"`             // TCP connections
	InFlight    int     `json:"inflight_per_connection"` // requests in flight per connection
	Rate        float64 `json:"rate_per_second"`         // 0: as fast as possible
	Cards       int     `json:"cards"`                   // cards used
	// Duration is the configured (measured) run time, after Warmup;
	// Elapsed the time from the first measured request to the last answer.
	Duration time.Duration `json:"duration_ns"`         // configured
	Warmup   time.Duration `json:"warmup_ns,omitempty"` // excluded from the figures
	Elapsed  time.Duration `json:"elapsed_ns"`          // measured
	// AchievedRate is the requests (reversals aside) started per second
	// of Duration; with a Rate, ShortOfRate says when it fell more than 5%
	// below it (the host, the connections and requests in flight, or the
	// cards could not keep up), and Scheduled is how many the rate asked
	// for in Duration.
	AchievedRate float64 `json:"achieved_rate_per_second"`
	Scheduled    uint64  `json:"scheduled,omitempty"`
	ShortOfRate  bool    `json:"short_of_rate,omitempty"`
	// LatencyFrom says where latencies start: "scheduled" (with a Rate:
	// the intended send time, corrected for coordinated omission) or
	// "sent" (closed loop).
	LatencyFrom string `json:"latency_from"`
	// Sent counts requests written (reversals included); Answered those
	// answered.
	Sent     uint64 `json:"sent"`     // requests written
	Answered uint64 `json:"answered"` // requests answered
	Approved uint64 `json:"approved"` // answers 00 or 10
	Declined uint64 `json:"declined"` // other answers
	// Unexpected counts answers with a code the mix did not expect, or
	// that break the host interface (bad or missing ARPC...).
	Unexpected uint64 `json:"unexpected"`
	// Errors counts requests that got no answer for another reason than a
	// timeout (connection refused or dropped), and failed reconnections.
	Errors uint64 `json:"errors"`
	// Timeouts counts requests not answered within the timeout.
	Timeouts uint64 `json:"timeouts"`
	// Throughput is answers per second of Elapsed.
	Throughput float64 `json:"throughput_per_second"`
	// Latency summarises the round trips of answered requests, and
	// Histogram holds their log-linear (HdrHistogram-layout) buckets.
	Latency   Latencies         `json:"latency"`
	Histogram []HistogramBucket `json:"histogram"`
	// Codes counts answers per response code.
	Codes map[string]uint64 `json:"codes"`
	// Kinds breaks the run down per mix kind.
	Kinds []KindReport `json:"kinds"`
	// Problems are the distinct unexpected answers and errors, most
	// frequent first (at most 20).
	Problems []ProblemCount `json:"problems,omitempty"`
	// CPU is the CPU time of LoadConfig.CPU's process groups over the
	// measured window per answer (reversals included), with their total
	// last; CPUError says why it is missing when it could not be read.
	CPU      []CPUCost `json:"cpu,omitempty"`
	CPUError string    `json:"cpu_error,omitempty"`
}

// KindReport is one mix kind's share of a load run.
type KindReport struct {
	Name       string            `json:"name"`       // the kind's name
	Sent       uint64            `json:"sent"`       // requests of the kind sent
	Answered   uint64            `json:"answered"`   // and answered
	Unexpected uint64            `json:"unexpected"` // answers (and reversal answers) not expected
	Codes      map[string]uint64 `json:"codes"`      // answers per response code
	Latency    Latencies         `json:"latency"`    // of the kind's requests (its reversals aside)
	// Reversals counts the reversals sent after approvals (mix kinds with
	// reversal), and ReversalCodes their answers.
	Reversals     uint64            `json:"reversals,omitempty"`      // reversals sent
	ReversalCodes map[string]uint64 `json:"reversal_codes,omitempty"` // their answers per code
}

// ProblemCount is one distinct problem and how often it happened.
type ProblemCount struct {
	Problem string `json:"problem"` // e.g. "chip: answered 51 (insufficient funds), expected 00"
	Count   uint64 `json:"count"`   // how often
}

// OK reports whether the run had no unexpected answer, error or timeout
// and answered something.
func (r *LoadReport) OK() bool {
	return r.Answered > 0 && r.Unexpected == 0 && r.Errors == 0 && r.Timeouts == 0
}

// codeCounter counts response codes without locks: two-digit codes by
// index, anything else as "other".
type codeCounter struct {
	n     [100]atomic.Uint64
	other atomic.Uint64
}

func (c *codeCounter) add(code iso.ResponseCode) {
	if len(code) == 2 && code[0] >= '0' && code[0] <= '9' && code[1] >= '0' && code[1] <= '9' {
		c.n[int(code[0]-'0')*10+int(code[1]-'0')].Add(1)
		return
	}
	c.other.Add(1)
}

func (c *codeCounter) snapshot() map[string]uint64 {
	out := map[string]uint64{}
	for i := range c.n {
		if v := c.n[i].Load(); v > 0 {
			out[fmt.Sprintf("%02d", i)] = v
		}
	}
	if v := c.other.Load(); v > 0 {
		out["other"] = v
	}
	return out
}

type kindStats struct {
	sent, answered, unexpected, reversals atomic.Uint64
	codes, reversalCodes                  codeCounter
	hist                                  Histogram
}

// loadRun is one RunLoad in progress.
type loadRun struct {
	cfg   LoadConfig
	mix   *Mix
	cards chan *terminal.Card
	start time.Time // the first request
	warm  time.Time // end of the warm-up: the figures start here
	end   time.Time
	slot  atomic.Int64
	// measured counts the requests (reversals aside) scheduled after the
	// warm-up, and measuredAnswered the answers to requests sent then.
	measured, measuredAnswered atomic.Uint64
	cpu                        *cpuWindow
	cpuBegun                   chan struct{}

	hist                               Histogram
	sent, answered, approved, declined atomic.Uint64
	unexpected, errors, timeouts       atomic.Uint64
	codes                              codeCounter
	kinds                              []kindStats
	probMu                             sync.Mutex
	problems                           map[string]uint64
}

// RunLoad runs a load test: Connections connections with InFlight
// requests in flight each, at Rate (or as fast as possible) for Duration,
// drawing requests from the Mix and cards from Cards. It fails at once
// when the configuration is unusable or no connection can be opened; a
// host that stops answering or drops connections later is counted
// (Errors, Timeouts) and reconnected to, and the run ends on time.
func RunLoad(ctx context.Context, cfg LoadConfig) (*LoadReport, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	l := &loadRun{cfg: cfg, mix: cfg.Mix, cards: make(chan *terminal.Card, len(cfg.Cards)),
		kinds: make([]kindStats, len(cfg.Mix.Kinds)), problems: map[string]uint64{}}
	for _, c := range cfg.Cards {
		l.cards <- c
	}
	conns := make([]*loadConn, cfg.Connections)
	terms := make([]*terminal.Terminal, cfg.Connections)
	for i := range conns {
		tc := cfg.Terminal
		if cfg.Connections > 1 {
			id := tc.TerminalID
			if id == "" {
				id = terminal.DefaultTerminalID
			}
			tc.TerminalID = fmt.Sprintf("%.4s%04d", id, i+1)
		}
		t, err := terminal.NewTerminal(tc)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrLoadConfig, err)
		}
		terms[i] = t
		conns[i] = &loadConn{addr: cfg.Addr, opts: append([]terminal.Option{terminal.ConnectTimeout(cfg.Timeout), terminal.RequestTimeout(cfg.Timeout)}, cfg.ClientOptions...)}
	}
	// Open every connection before the clock starts: a host that is not
	// there is an error, not a run full of failures.
	for i, c := range conns {
		if _, err := c.get(ctx); err != nil {
			for _, o := range conns[:i] {
				o.close()
			}
			return nil, fmt.Errorf("connecting to %s: %w", cfg.Addr, err)
		}
	}
	defer func() {
		for _, c := range conns {
			c.close()
		}
	}()

	l.start = time.Now()
	l.warm = l.start.Add(cfg.Warmup)
	l.end = l.warm.Add(cfg.Duration)
	runCtx, stop := context.WithDeadline(ctx, l.end)
	defer stop()
	if cfg.CPU != nil {
		l.cpu, l.cpuBegun = &cpuWindow{meter: cfg.CPU}, make(chan struct{})
		time.AfterFunc(cfg.Warmup, func() { l.cpu.begin(); close(l.cpuBegun) })
	}
	progressDone := make(chan struct{})
	if cfg.Progress != nil {
		go l.progress(runCtx, progressDone)
	} else {
		close(progressDone)
	}
	var wg sync.WaitGroup
	seed := uint64(time.Now().UnixNano())
	for i, c := range conns {
		for j := range cfg.InFlight {
			rng := rand.New(rand.NewPCG(seed, uint64(i*cfg.InFlight+j)))
			wg.Go(func() { l.worker(ctx, runCtx, c, terms[i], rng) })
		}
	}
	wg.Wait()
	elapsed := time.Since(l.warm)
	stop()
	<-progressDone
	return l.report(elapsed), nil
}

func (cfg *LoadConfig) defaults() error {
	if cfg.Connections == 0 {
		cfg.Connections = 1
	}
	if cfg.InFlight == 0 {
		cfg.InFlight = 1
	}
	if cfg.Duration == 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Mix == nil {
		cfg.Mix = DefaultMix()
	}
	switch {
	case cfg.Addr == "":
		return fmt.Errorf("%w: no host address", ErrLoadConfig)
	case len(cfg.Cards) == 0:
		return fmt.Errorf("%w: no cards", ErrLoadConfig)
	case cfg.Connections < 0 || cfg.InFlight < 0 || cfg.Connections > 10000 || cfg.InFlight > 10000:
		return fmt.Errorf("%w: connections and in-flight requests must be 1 to 10000", ErrLoadConfig)
	case cfg.Rate < 0 || cfg.Duration < 0 || cfg.Timeout < 0 || cfg.Warmup < 0:
		return fmt.Errorf("%w: rate, duration, warm-up and timeout must not be negative", ErrLoadConfig)
	}
	if cfg.Mix.total == 0 {
		if err := cfg.Mix.validate(); err != nil {
			return err
		}
	}
	chip, stripe, cvv2, pin := cfg.Mix.needs()
	for _, c := range cfg.Cards {
		switch {
		case chip && !c.HasChip():
			return fmt.Errorf("%w: the mix has chip transactions and card %s has no chip", ErrLoadConfig, c)
		case stripe && c.Track2 == "":
			return fmt.Errorf("%w: the mix has magnetic stripe transactions and card %s has no track 2", ErrLoadConfig, c)
		case cvv2 && c.CVV2 == "":
			return fmt.Errorf("%w: the mix sends CVV2 and card %s has none", ErrLoadConfig, c)
		case pin && c.PIN == "":
			return fmt.Errorf("%w: the mix enters PINs and card %s has none", ErrLoadConfig, c)
		}
	}
	return nil
}

// pace waits for the next request's scheduled time (with a rate) and
// returns it; false once the run is over. Without a rate the request is
// scheduled now. A slot whose time has passed (the host, or this run's
// connections, in-flight requests or cards, are behind) is sent at once
// and keeps its scheduled time: its wait counts in its latency.
func (l *loadRun) pace(runCtx context.Context) (time.Time, bool) {
	if l.cfg.Rate <= 0 {
		return time.Now(), runCtx.Err() == nil
	}
	n := l.slot.Add(1) - 1
	at := l.start.Add(time.Duration(float64(n) * float64(time.Second) / l.cfg.Rate))
	if !at.Before(l.end) {
		return at, false
	}
	if d := time.Until(at); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-runCtx.Done():
			return at, false
		}
	}
	return at, runCtx.Err() == nil
}

func (l *loadRun) worker(ctx, runCtx context.Context, conn *loadConn, term *terminal.Terminal, rng *rand.Rand) {
	for {
		at, ok := l.pace(runCtx)
		if !ok {
			return
		}
		var card *terminal.Card
		select {
		case card = <-l.cards:
		case <-runCtx.Done():
			return
		}
		ki := l.pickKind(rng)
		l.one(ctx, runCtx, conn, term, card, ki, at)
		l.cards <- card
	}
}

func (l *loadRun) pickKind(r *rand.Rand) int {
	k := l.mix.pick(r)
	for i := range l.mix.Kinds {
		if &l.mix.Kinds[i] == k {
			return i
		}
	}
	return 0
}

// one sends one request of kind ki scheduled at at (and its reversal) and
// counts it; requests scheduled in the warm-up are left out of the
// figures.
func (l *loadRun) one(ctx, runCtx context.Context, conn *loadConn, term *terminal.Terminal, card *terminal.Card, ki int, at time.Time) {
	k := &l.mix.Kinds[ki]
	ks := &l.kinds[ki]
	o, amount := k.options(card)
	tx, err := term.Request(card, amount, o)
	if err != nil {
		l.errors.Add(1)
		l.problem(k.Name + ": building request: " + err.Error())
		return
	}
	measured := !at.Before(l.warm)
	if measured {
		l.measured.Add(1)
	}
	r := l.send(ctx, runCtx, conn, tx, k.Name, at, measured, &ks.hist)
	ks.sent.Add(1)
	if r == nil {
		return
	}
	ks.answered.Add(1)
	ks.codes.add(r.Code)
	if l.cfg.Validate && !k.expect[r.Code] {
		l.unexpected.Add(1)
		ks.unexpected.Add(1)
		l.problem(fmt.Sprintf("%s: answered %s (%s), expected %s", k.Name, r.Code, r.Code.Meaning(), strings.Join(expectList(k), "/")))
	} else if l.cfg.Validate && !r.OK() {
		l.unexpected.Add(1)
		ks.unexpected.Add(1)
		for _, p := range r.Problems {
			l.problem(k.Name + ": " + p)
		}
	}
	if (k.Reversal == "full" || k.Reversal == "partial") && r.Code.Approved() {
		ro := terminal.ReversalOptions{}
		if k.Reversal == "partial" {
			keep := tx.Amount / 2
			ro.Keep = &keep
		}
		rev, err := term.Reversal(tx, ro)
		if err != nil {
			l.errors.Add(1)
			l.problem(k.Name + ": building reversal: " + err.Error())
			return
		}
		ks.reversals.Add(1)
		rr := l.send(ctx, runCtx, conn, rev, k.Name+" reversal", time.Now(), measured, nil)
		if rr == nil {
			return
		}
		ks.reversalCodes.add(rr.Code)
		if l.cfg.Validate && (rr.Code != iso.Approved || !rr.OK()) {
			l.unexpected.Add(1)
			ks.unexpected.Add(1)
			l.problem(fmt.Sprintf("%s reversal: answered %s (%s)%s, expected 00", k.Name, rr.Code, rr.Code.Meaning(), problemSuffix(rr)))
		}
	}
}

func expectList(k *MixKind) []string {
	out := make([]string, 0, len(k.expect))
	for c := range k.expect {
		out = append(out, string(c))
	}
	sort.Strings(out)
	return out
}

func problemSuffix(r *terminal.Result) string {
	if len(r.Problems) == 0 {
		return ""
	}
	return " [" + strings.Join(r.Problems, "; ") + "]"
}

// send sends tx, scheduled at at, on the connection (reconnecting when it
// dropped) and counts the outcome; nil when there was no answer. A
// measured answer's latency (from at with a rate, else the round trip)
// goes to the run's histogram and to kind (when not nil).
func (l *loadRun) send(ctx, runCtx context.Context, conn *loadConn, tx *terminal.Txn, name string, at time.Time, measured bool, kind *Histogram) *terminal.Result {
	c, err := conn.get(ctx)
	if err != nil {
		l.errors.Add(1)
		l.problem(name + ": reconnecting: " + err.Error())
		// Do not spin on a host that is down: wait a little (but not past
		// the end of the run).
		t := time.NewTimer(min(l.cfg.Timeout, 200*time.Millisecond))
		select {
		case <-t.C:
		case <-runCtx.Done():
			t.Stop()
		}
		return nil
	}
	l.sent.Add(1)
	r, err := c.Do(ctx, tx)
	if err != nil {
		if errors.Is(err, terminal.ErrTimeout) {
			l.timeouts.Add(1)
			l.problem(name + ": no answer in time")
		} else {
			if errors.Is(err, terminal.ErrClosed) {
				conn.invalidate(c)
			}
			l.errors.Add(1)
			l.problem(name + ": " + err.Error())
		}
		return nil
	}
	if measured {
		lat := r.Latency
		if l.cfg.Rate > 0 {
			lat = time.Since(at)
		}
		l.hist.Record(lat)
		if kind != nil {
			kind.Record(lat)
			l.measuredAnswered.Add(1)
		}
	}
	l.answered.Add(1)
	l.codes.add(r.Code)
	if r.Code.Approved() {
		l.approved.Add(1)
	} else {
		l.declined.Add(1)
	}
	return r
}

// problem counts a distinct problem description (at most 1000 kept).
func (l *loadRun) problem(p string) {
	l.probMu.Lock()
	if _, ok := l.problems[p]; ok || len(l.problems) < 1000 {
		l.problems[p]++
	}
	l.probMu.Unlock()
}

// progress prints a line a second until the run ends.
func (l *loadRun) progress(runCtx context.Context, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	prev := l.hist.Snapshot()
	var prevApproved, prevDeclined uint64
	for {
		select {
		case <-runCtx.Done():
			return
		case now := <-tick.C:
			cur := l.hist.Snapshot()
			d := cur.Sub(prev)
			a, dc := l.approved.Load(), l.declined.Load()
			warm := ""
			if now.Before(l.warm) {
				warm = "  (warm-up: not counted)"
			}
			fmt.Fprintf(l.cfg.Progress, "%5.0fs  %7d auths/s  approved %d  declined %d  unexpected %d  errors %d  timeouts %d  p50 %s  p99 %s%s\n",
				now.Sub(l.start).Seconds(), a+dc-prevApproved-prevDeclined, a-prevApproved, dc-prevDeclined, l.unexpected.Load(), l.errors.Load(), l.timeouts.Load(),
				FormatLatency(d.Quantile(0.5)), FormatLatency(d.Quantile(0.99)), warm)
			prev, prevApproved, prevDeclined = cur, a, dc
		}
	}
}

func (l *loadRun) report(elapsed time.Duration) *LoadReport {
	snap := l.hist.Snapshot()
	r := &LoadReport{
		Label: l.cfg.Label, Addr: l.cfg.Addr, Connections: l.cfg.Connections, InFlight: l.cfg.InFlight, Rate: l.cfg.Rate,
		Cards: len(l.cfg.Cards), Duration: l.cfg.Duration, Warmup: l.cfg.Warmup, Elapsed: elapsed, LatencyFrom: "sent",
		Sent: l.sent.Load(), Answered: l.answered.Load(), Approved: l.approved.Load(), Declined: l.declined.Load(),
		Unexpected: l.unexpected.Load(), Errors: l.errors.Load(), Timeouts: l.timeouts.Load(),
		Latency: snap.Summary(), Histogram: snap.Buckets(), Codes: l.codes.snapshot(),
	}
	if elapsed > 0 {
		r.Throughput = float64(l.measuredAnswered.Load()) / elapsed.Seconds()
	}
	r.AchievedRate = float64(l.measured.Load()) / l.cfg.Duration.Seconds()
	if l.cfg.Rate > 0 {
		r.LatencyFrom = "scheduled"
		r.Scheduled = uint64(math.Ceil(l.cfg.Rate * l.cfg.Duration.Seconds()))
		r.ShortOfRate = r.AchievedRate < 0.95*l.cfg.Rate
	}
	for i, k := range l.mix.Kinds {
		ks := &l.kinds[i]
		kr := KindReport{Name: k.Name, Sent: ks.sent.Load(), Answered: ks.answered.Load(), Unexpected: ks.unexpected.Load(),
			Codes: ks.codes.snapshot(), Latency: ks.hist.Snapshot().Summary(), Reversals: ks.reversals.Load()}
		if kr.Reversals > 0 {
			kr.ReversalCodes = ks.reversalCodes.snapshot()
		}
		r.Kinds = append(r.Kinds, kr)
	}
	l.probMu.Lock()
	for p, n := range l.problems {
		r.Problems = append(r.Problems, ProblemCount{Problem: p, Count: n})
	}
	l.probMu.Unlock()
	sort.Slice(r.Problems, func(i, j int) bool {
		if r.Problems[i].Count != r.Problems[j].Count {
			return r.Problems[i].Count > r.Problems[j].Count
		}
		return r.Problems[i].Problem < r.Problems[j].Problem
	})
	if len(r.Problems) > 20 {
		r.Problems = r.Problems[:20]
	}
	if l.cpu != nil {
		<-l.cpuBegun
		var err error
		if r.CPU, err = l.cpu.costs(snap.N, elapsed); err != nil { // snap.N: every answer recorded after the warm-up
			r.CPUError = err.Error()
		}
	}
	return r
}

// loadConn is one connection of a load run, reopened when it drops.
type loadConn struct {
	addr string
	opts []terminal.Option
	mu   sync.Mutex
	c    *terminal.Client
}

// get returns the open connection, dialling again when it has closed.
func (lc *loadConn) get(ctx context.Context) (*terminal.Client, error) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.c != nil {
		select {
		case <-lc.c.Done():
			lc.c.Close()
			lc.c = nil
		default:
			return lc.c, nil
		}
	}
	c, err := terminal.Dial(ctx, lc.addr, lc.opts...)
	if err != nil {
		return nil, err
	}
	lc.c = c
	return c, nil
}

// invalidate drops c (when it is still the current connection) so that
// the next get dials again.
func (lc *loadConn) invalidate(c *terminal.Client) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.c == c {
		go c.Close() // Close waits for the library's goroutines: not under the lock
		lc.c = nil
	}
}

func (lc *loadConn) close() {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.c != nil {
		lc.c.Close()
		lc.c = nil
	}
}

// FormatLatency renders a latency for reports: "850µs", "3.2ms", "1.25s".
func FormatLatency(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}

// WriteText writes the report as text: counts, throughput, latency
// percentiles, the code breakdown per kind and the problems.
func (r *LoadReport) WriteText(w io.Writer) {
	rate := "max"
	if r.Rate > 0 {
		rate = fmt.Sprintf("%.0f/s", r.Rate)
	}
	warm := ""
	if r.Warmup > 0 {
		warm = fmt.Sprintf(" after a %v warm-up", r.Warmup)
	}
	fmt.Fprintf(w, "%s %s: %d connections x %d in flight, rate %s, %d cards, %v%s (elapsed %v)\n",
		r.Label, r.Addr, r.Connections, r.InFlight, rate, r.Cards, r.Duration, warm, r.Elapsed.Round(time.Millisecond))
	if r.ShortOfRate {
		fmt.Fprintf(w, "  WARNING    asked %.0f/s, achieved %.0f/s (%.0f%%): %s could not keep up; latencies count the wait from each scheduled send\n",
			r.Rate, r.AchievedRate, 100*r.AchievedRate/r.Rate, r.limit())
	}
	fmt.Fprintf(w, "  requests   %d sent, %d answered (%d approved, %d declined), %d unexpected, %d errors, %d timeouts\n",
		r.Sent, r.Answered, r.Approved, r.Declined, r.Unexpected, r.Errors, r.Timeouts)
	fmt.Fprintf(w, "  throughput %.0f answers/s\n", r.Throughput)
	l := r.Latency
	from := "round trips"
	if r.LatencyFrom == "scheduled" {
		from = "from each scheduled send"
	}
	fmt.Fprintf(w, "  latency    p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  mean %s  (%s)\n",
		FormatLatency(l.P50), FormatLatency(l.P90), FormatLatency(l.P99), FormatLatency(l.P999), FormatLatency(l.Max), FormatLatency(l.Mean), from)
	fmt.Fprintf(w, "  codes      %s\n", formatCodes(r.Codes))
	for _, k := range r.Kinds {
		fmt.Fprintf(w, "    %-16s %7d sent  %7d answered  %5d unexpected  p50 %s  p99 %s  %s", k.Name, k.Sent, k.Answered, k.Unexpected,
			FormatLatency(k.Latency.P50), FormatLatency(k.Latency.P99), formatCodes(k.Codes))
		if k.Reversals > 0 {
			fmt.Fprintf(w, "  reversals %d: %s", k.Reversals, formatCodes(k.ReversalCodes))
		}
		fmt.Fprintln(w)
	}
	if len(r.CPU) > 0 {
		parts := make([]string, len(r.CPU))
		for i, c := range r.CPU {
			parts[i] = fmt.Sprintf("%s %.0f µs (%.2f cores)", c.Name, c.PerDecisionUS, c.Cores)
		}
		fmt.Fprintf(w, "  cpu        per decision: %s, over %d answers\n", strings.Join(parts, ", "), r.CPU[len(r.CPU)-1].Decisions)
	}
	if r.CPUError != "" {
		fmt.Fprintf(w, "  cpu        not measured: %s\n", r.CPUError)
	}
	if len(r.Problems) > 0 {
		fmt.Fprintln(w, "  problems")
		for _, p := range r.Problems {
			fmt.Fprintf(w, "    %7d  %s\n", p.Count, p.Problem)
		}
	}
}

// limit names what may have held the rate back: the requests in flight
// when fewer than the rate times the latency, else the host (or cards).
func (r *LoadReport) limit() string {
	slots := float64(r.Connections * r.InFlight)
	if r.Latency.Mean > 0 && slots/r.Latency.Mean.Seconds() < r.Rate {
		return fmt.Sprintf("the host, or %d connections x %d in flight (raise --connections or --inflight),", r.Connections, r.InFlight)
	}
	return "the host (or the cards: one request per card at a time)"
}

func formatCodes(m map[string]uint64) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// Baseline compares a run against the host with the same run against a
// BareServer.
type Baseline struct {
	Host *LoadReport `json:"host"` // the run against the host
	Bare *LoadReport `json:"bare"` // the same run against a BareServer
	// ThroughputRatio is host throughput / bare throughput.
	ThroughputRatio float64 `json:"throughput_ratio"`
	// P99Ratio is host p99 / bare p99.
	P99Ratio float64 `json:"p99_ratio"`
}

// NewBaseline computes the ratios of host to bare.
func NewBaseline(host, bare *LoadReport) *Baseline {
	b := &Baseline{Host: host, Bare: bare}
	if bare.Throughput > 0 {
		b.ThroughputRatio = host.Throughput / bare.Throughput
	}
	if bare.Latency.P99 > 0 {
		b.P99Ratio = float64(host.Latency.P99) / float64(bare.Latency.P99)
	}
	return b
}

// String returns e.g. "host/bare throughput 0.62 (3100/s vs 5000/s), p99 3.1ms vs 400µs (7.8x)".
func (b *Baseline) String() string {
	return fmt.Sprintf("host/bare throughput %.2f (%.0f/s vs %.0f/s), p99 %s vs %s (%.1fx)",
		b.ThroughputRatio, b.Host.Throughput, b.Bare.Throughput,
		FormatLatency(b.Host.Latency.P99), FormatLatency(b.Bare.Latency.P99), b.P99Ratio)
}

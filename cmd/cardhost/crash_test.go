package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	pgxv5 "github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/cmd/termsim/scenario"
	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/iso"
	"github.com/cardhost/cardhost/issuance/postgres/pgtest"
	"github.com/cardhost/cardhost/kafka"
	"github.com/cardhost/cardhost/kafka/embedded"
)

// This file is the crash-consistency test: the cardhost binary is killed
// with SIGKILL at random moments under load and restarted, and what the
// terminals saw is compared with what was stored and published.

// crashConfig sizes a crash run. The CI variant is short; CARDHOST_LONG=1
// runs the long one (docs/RELIABILITY.md).
type crashConfig struct {
	Kills          int           // SIGKILLs, each followed by a restart
	MinRun, MaxRun time.Duration // load between a (re)start and the next kill
	Cards          int           // cards of the tracked load
	Workers        int           // tracked terminals (one connection each, one request at a time)
	LoadCards      int           // cards of the `termsim load` run alongside
	LoadRate       int           // its requests per second
}

func crashConfigFromEnv(t *testing.T) crashConfig {
	c := crashConfig{Kills: 3, MinRun: 500 * time.Millisecond, MaxRun: 1500 * time.Millisecond, Cards: 8, Workers: 4, LoadCards: 4, LoadRate: 40}
	if os.Getenv("CARDHOST_LONG") == "1" {
		c = crashConfig{Kills: 12, MinRun: 3 * time.Second, MaxRun: 15 * time.Second, Cards: 32, Workers: 8, LoadCards: 8, LoadRate: 150}
	}
	if v := os.Getenv("CARDHOST_CRASH_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("CARDHOST_CRASH_KILLS=%q: want a positive number", v)
		}
		c.Kills = n
	}
	return c
}

// crashHost runs the cardhost binary as a child process on fixed ports, so
// that it can be killed and restarted at the same address.
type crashHost struct {
	t              *testing.T
	bin            string
	env            []string
	http, iso      string
	logDir         string
	starts         int
	cmd            *exec.Cmd
	running        bool
	exited         chan error
	stderrPath     string
	firstStdout    string
	mu             sync.Mutex
	kills          []time.Time // when each SIGKILL was sent
	restartedAfter []time.Duration
}

// freeAddrs returns n distinct loopback addresses with ports free right
// now (all held open until it returns, so no two are the same).
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		addrs[i] = ln.Addr().String()
	}
	return addrs
}

// buildBinaries builds commands of this module into dir (one go build,
// linked in parallel) and returns their paths.
func buildBinaries(t *testing.T, dir string, pkgs ...string) []string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	var out []string
	for _, p := range pkgs {
		args = append(args, "./"+p)
		out = append(out, filepath.Join(dir, filepath.Base(p)))
	}
	cmd := exec.Command(goTool, args...)
	cmd.Dir = "../.."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", pkgs, err, b)
	}
	return out
}

// start starts the binary and waits until /readyz answers 200.
func (h *crashHost) start() {
	h.t.Helper()
	h.starts++
	stdout := filepath.Join(h.logDir, fmt.Sprintf("cardhost-%d.stdout", h.starts))
	h.stderrPath = filepath.Join(h.logDir, fmt.Sprintf("cardhost-%d.stderr", h.starts))
	so, err := os.Create(stdout)
	if err != nil {
		h.t.Fatal(err)
	}
	se, err := os.Create(h.stderrPath)
	if err != nil {
		h.t.Fatal(err)
	}
	cmd := exec.Command(h.bin, "serve")
	cmd.Env, cmd.Stdout, cmd.Stderr = h.env, so, se
	if err := cmd.Start(); err != nil {
		h.t.Fatalf("starting cardhost: %v", err)
	}
	so.Close()
	se.Close()
	h.cmd, h.exited, h.running = cmd, make(chan error, 1), true
	go func() { h.exited <- cmd.Wait() }()
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-h.exited:
			h.exited <- err
			h.running = false
			b, _ := os.ReadFile(h.stderrPath)
			h.t.Fatalf("cardhost start %d exited: %v\n%s", h.starts, err, b)
		default:
		}
		if resp, err := hc.Get("http://" + h.http + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(h.stderrPath)
			h.t.Fatalf("cardhost start %d not ready after 60s\n%s", h.starts, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if h.starts == 1 {
		b, _ := os.ReadFile(stdout)
		h.firstStdout = string(b)
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (h *crashHost) kill() {
	h.t.Helper()
	h.mu.Lock()
	h.kills = append(h.kills, time.Now())
	h.mu.Unlock()
	if err := h.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		h.t.Fatalf("killing cardhost: %v", err)
	}
	<-h.exited
	h.exited <- nil
	h.running = false
}

// stop stops the process gracefully (SIGTERM): it must exit 0.
func (h *crashHost) stop() {
	h.t.Helper()
	if err := h.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		h.t.Fatalf("stopping cardhost: %v", err)
	}
	select {
	case err := <-h.exited:
		h.exited <- nil
		h.running = false
		if err != nil {
			b, _ := os.ReadFile(h.stderrPath)
			h.t.Errorf("cardhost stopped with %v\n%s", err, b)
		}
	case <-time.After(40 * time.Second):
		h.t.Errorf("cardhost did not stop within 40s of SIGTERM")
		h.kill()
	}
}

// killTimes returns the times of the kills so far.
func (h *crashHost) killTimes() []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Time(nil), h.kills...)
}

// sent is one request a tracked terminal sent, and what it saw.
type sent struct {
	kind     string // purchase, reversal, partial, capture; cleanup-reversal, retransmit
	card     int
	tx       *terminal.Txn
	orig     *sent // the purchase a follow-up refers to
	at       time.Time
	answered bool
	code     iso.ResponseCode
	approval string
	keep     int64 // partial reversal: the amount that stays
	err      string
	settled  *sent // the message that settled this one, when it got no answer
}

func (s *sent) key() string { return s.tx.TerminalID + "/" + s.tx.STAN }

// crashTerminal is one tracked terminal: one connection, one request at a
// time, on its own cards (a chip's ATC must reach the host in order).
type crashTerminal struct {
	t     *testing.T
	addr  string
	term  *terminal.Terminal
	cards []int
	all   []*terminal.Card
	c     *terminal.Client
	log   []*sent
	rnd   *rand.Rand
}

// conn returns a connection, dialing until one opens or ctx ends.
func (w *crashTerminal) conn(ctx context.Context) *terminal.Client {
	for w.c == nil {
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		c, err := terminal.Dial(dctx, w.addr, terminal.RequestTimeout(10*time.Second))
		cancel()
		if err == nil {
			w.c = c
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return w.c
}

// send sends tx (unless ctx ended before a connection opened) and
// records what came back. A request without answer closes the connection
// (as an acquirer does when its host stops answering).
func (w *crashTerminal) send(ctx context.Context, s *sent) bool {
	c := w.conn(ctx)
	if c == nil {
		return false
	}
	s.at = time.Now()
	rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	r, err := c.Do(rctx, s.tx)
	cancel()
	w.log = append(w.log, s)
	if err != nil {
		s.err = err.Error()
		c.Close()
		w.c = nil
		return true
	}
	s.answered, s.code, s.approval = true, r.Code, r.ApprovalCode
	return true
}

func (w *crashTerminal) must(tx *terminal.Txn, err error) *terminal.Txn {
	if err != nil {
		w.t.Errorf("building a request: %v", err)
		return nil
	}
	return tx
}

// run sends purchases (chip, contactless, magstripe with PIN, e-commerce
// with CVV2) until ctx ends; an approval is sometimes followed by a full or
// partial reversal or a capture for less.
func (w *crashTerminal) run(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		ci := w.cards[i%len(w.cards)]
		card := w.all[ci]
		amount := int64(100 + w.rnd.IntN(4900))
		var o terminal.TxnOptions
		switch w.rnd.IntN(4) {
		case 1:
			o.Entry = terminal.EntryContactless
		case 2:
			o.Entry, o.PIN = terminal.EntryMagstripe, card.PIN.Reveal()
		case 3:
			o.Entry, o.CVV2 = terminal.EntryEcommerce, card.CVV2.Reveal()
		}
		p := &sent{kind: "purchase", card: ci, tx: w.must(w.term.Purchase(card, amount, o))}
		if p.tx == nil || !w.send(ctx, p) || !p.answered || p.code != iso.Approved {
			continue
		}
		var f *sent
		switch r := w.rnd.IntN(100); {
		case r < 20:
			f = &sent{kind: "reversal", tx: w.must(w.term.Reversal(p.tx, terminal.ReversalOptions{}))}
		case r < 30:
			keep := amount / 2
			f = &sent{kind: "partial", keep: keep, tx: w.must(w.term.Reversal(p.tx, terminal.ReversalOptions{Keep: &keep}))}
		case r < 45:
			f = &sent{kind: "capture", tx: w.must(w.term.Capture(p.tx, amount-amount/10, p.approval))}
		}
		if f != nil && f.tx != nil {
			f.card, f.orig = ci, p
			w.send(ctx, f)
		}
	}
}

// settle does what an acquirer does once its host answers again: every
// authorization that got no answer is reversed (timeout reversal), every
// reversal or capture that got no answer is sent again, until answered.
func (w *crashTerminal) settle(ctx context.Context) {
	pending := append([]*sent(nil), w.log...)
	for _, s := range pending {
		if s.answered || s.kind == "cleanup-reversal" || s.kind == "retransmit" {
			continue
		}
		var next *sent
		switch s.kind {
		case "purchase":
			next = &sent{kind: "cleanup-reversal", card: s.card, orig: s, tx: w.must(w.term.Reversal(s.tx, terminal.ReversalOptions{}))}
		default:
			tx, err := s.tx.Retransmit(false, nil)
			next = &sent{kind: "retransmit", card: s.card, orig: s.orig, keep: s.keep, tx: w.must(tx, err)}
		}
		if next.tx == nil {
			continue
		}
		for try := 0; try < 3 && !next.answered; try++ {
			if try > 0 {
				tx, err := next.tx.Retransmit(false, nil)
				next = &sent{kind: next.kind, card: next.card, orig: next.orig, keep: next.keep, tx: w.must(tx, err)}
			}
			w.send(ctx, next)
		}
		if !next.answered || next.code != iso.Approved {
			w.t.Errorf("settling %s %s: answered %v %s (%s), want 00", s.kind, s.key(), next.answered, next.code, next.err)
		}
		s.settled = next
	}
}

// stored is an authorization record as the database holds it.
type stored struct {
	id, kind, terminal, stan, rrn, code, status, original, card string
	amount, approved, cardAmount, held                          int64
}

// TestCrashConsistency builds the cardhost and termsim binaries, starts
// cardhost (sandbox mode, fresh database, Kafka outside the process so it
// outlives the kills), creates cards, and runs tracked terminals (purchases
// with reversals, partial reversals and captures) plus `termsim load`
// against it while killing it with SIGKILL at random moments and
// restarting it. Then every terminal settles as an acquirer does (a
// timeout reversal for each authorization without answer, the same
// message again for reversals and captures without answer) and the test
// checks that (a) every approval a terminal saw is stored, with its
// amount; (b) a stored message the terminal never saw answered was sent
// just before a kill, and its reversal gave its amount back; (c) each
// card's total_spent equals its stored approvals less reversals and
// capture releases, and for the tracked cards what the terminals saw;
// (d) every stored authorization has exactly one outbox row and every
// outbox row reached Kafka, duplicates only as copies of one event id;
// (e) each card's events are on Kafka in outbox order; (f) every card and
// authorization event reached the webhook endpoint, validly signed, and
// one arrived twice only when a kill came between the two (an attempt in
// flight at a crash; one whose answer was recorded is never sent again);
// (g) the ledger's invariants hold (`cardhost ledger check`: no transfer
// lost, none twice, every hold with its open authorization) for the funded
// cards.
func TestCrashConsistency(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills binaries")
	}
	cfg := crashConfigFromEnv(t)
	began := time.Now()
	stage := func(what string) { t.Logf("%6.1fs %s", time.Since(began).Seconds(), what) }
	binDir := t.TempDir()
	bins := buildBinaries(t, binDir, "cmd/cardhost", "cmd/termsim")
	cardhostBin, termsimBin := bins[0], bins[1]
	stage("built")

	// Kafka runs outside cardhost, as a real cluster would: what was
	// published survives the kills. (The embedded broker dies with the
	// process; the outbox then still holds every event not yet sent.)
	broker, err := embedded.Start(embedded.Config{Addr: "127.0.0.1:0", Partitions: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	dbURL := pgtest.URL(t)
	addrs := freeAddrs(t, 2)
	h := &crashHost{t: t, bin: cardhostBin, http: addrs[0], iso: addrs[1], logDir: t.TempDir()}
	h.env = append(os.Environ(),
		"DATABASE_URL="+dbURL, "KAFKA_BROKERS="+broker.Addrs()[0], "CARDHOST_KAFKA_PARTITIONS=4",
		"CARDHOST_DATA_DIR="+t.TempDir(), "CARDHOST_HTTP_ADDR="+h.http, "CARDHOST_ISO_ADDR="+h.iso,
		"CARDHOST_MODE=sandbox", "CARDHOST_LOG_LEVEL=warn", "CARDHOST_HTTP_RATE_LIMIT=-1", "CARDHOST_SHUTDOWN_TIMEOUT=10s",
		"CARDHOST_MASTER_KEY=", "CARDHOST_MASTER_KEY_FILE=")
	stage("built and started")
	h.start()
	t.Cleanup(func() {
		if h.running {
			h.cmd.Process.Kill()
			<-h.exited
		}
	})
	key := apiKeyRE.FindString(h.firstStdout)
	if key == "" {
		t.Fatalf("the first start printed no sandbox key: %q", h.firstStdout)
	}

	// A webhook endpoint for every card and authorization event, on a
	// receiver that outlives the kills (f).
	hooks := newCrashReceiver(t, "http://"+h.http, key)

	// Cards, through the API, and the terminals that act as them.
	api, err := scenario.NewAPI("http://"+h.http, key, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	kek, _ := hex.DecodeString(terminal.DefaultTransportKeyHex)
	is := &scenario.Issuer{API: api, TransportKey: kek}
	ctx := t.Context()
	prd, err := is.DefaultProduct(ctx)
	if err != nil {
		t.Fatal(err)
	}
	req := termsimCardRequest()
	req.ProductID, req.CardHolderName = prd.ID, "CRASH TEST"
	// A quarter of the tracked cards are LIMIT cards, a quarter SHARED and
	// half PREPAID (docs/ledger.md): their holds, posts and voids ride the
	// same commits, and the ledger check runs at the end.
	funded := cfg.Cards / 4
	cards, err := is.NewCards(ctx, cfg.Cards-3*funded, 4, req, "1357")
	if err != nil {
		t.Fatalf("creating cards: %v", err)
	}
	for _, f := range []struct {
		mode string
		n    int
	}{{"SHARED", funded}, {"PREPAID", 2 * funded}} {
		more, err := is.NewFundedCards(ctx, f.n, f.mode, prd, req, "1357", 50_000_000)
		if err != nil {
			t.Fatalf("creating %s cards: %v", f.mode, err)
		}
		cards = append(cards, more...)
	}
	stage("cards created")
	terms := make([]*crashTerminal, cfg.Workers)
	for i := range terms {
		term, err := terminal.NewTerminal(terminal.TerminalConfig{TerminalID: fmt.Sprintf("CRSH%04d", i+1)})
		if err != nil {
			t.Fatal(err)
		}
		terms[i] = &crashTerminal{t: t, addr: h.iso, term: term, all: cards, rnd: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(i)))}
	}
	for ci := range cards {
		terms[ci%len(terms)].cards = append(terms[ci%len(terms)].cards, ci)
	}

	// `termsim load` alongside, across every kill (it reconnects by
	// itself), until it is interrupted when the tracked load stops.
	total := 30 * time.Minute
	loadReport := filepath.Join(t.TempDir(), "load.json")
	mix := filepath.Join(t.TempDir(), "mix.yaml")
	os.WriteFile(mix, []byte("kinds:\n  - {name: chip, weight: 5}\n  - {name: chip-reversed, weight: 2, reversal: full}\n"+
		"  - {name: partial, weight: 1, reversal: partial}\n  - {name: ecommerce, weight: 2, entry: ecommerce}\n"), 0o600)
	loadCmd := exec.Command(termsimBin, "load", "--host", h.iso, "--api", "http://"+h.http, "--key", key, "--cards", strconv.Itoa(cfg.LoadCards),
		"--connections", "2", "--inflight", "2", "--rate", strconv.Itoa(cfg.LoadRate), "--duration", total.String(), "--terminal", "LOAD0001",
		"--mix", mix, "--json", loadReport, "--quiet", "--timeout", "5s")
	var loadOut bytes.Buffer
	loadCmd.Stdout, loadCmd.Stderr = &loadOut, &loadOut
	if err := loadCmd.Start(); err != nil {
		t.Fatal(err)
	}
	loadDone := make(chan error, 1)
	go func() { loadDone <- loadCmd.Wait() }()

	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, w := range terms {
		wg.Add(1)
		go func() { defer wg.Done(); w.run(loadCtx) }()
	}
	// The issuer changes the cards' controls meanwhile: card events
	// interleave with authorization events, and cards move under the host.
	var updates, updateErrors int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; loadCtx.Err() == nil; i++ {
			limit := int64(100_000_000 + i%2)
			uctx, cancel := context.WithTimeout(loadCtx, 5*time.Second)
			if _, err := api.UpdateCard(uctx, cards[i%len(cards)].ID, scenario.CardUpdate{CardLimit: &limit}); err != nil {
				updateErrors++
				time.Sleep(50 * time.Millisecond)
			} else {
				updates++
			}
			cancel()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	// The first kill waits for `termsim load` to have made its cards and
	// sent its first request: a kill while it creates them over REST ends
	// it (it needs its cards), and on a busy machine that takes seconds.
	waitConn := dbConn(t, dbURL)
	for started, deadline := 0, time.Now().Add(2*time.Minute); started == 0; time.Sleep(100 * time.Millisecond) {
		if err := waitConn.QueryRow(ctx, `SELECT count(*) FROM authorizations WHERE terminal_id = 'LOAD0001'`).Scan(&started); err != nil {
			t.Fatalf("waiting for termsim load: %v", err)
		}
		if started == 0 && time.Now().After(deadline) {
			t.Fatal("termsim load sent nothing within 2 minutes")
		}
	}
	waitConn.Close(ctx)
	stage("termsim load started")
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	runFor := func() time.Duration {
		return cfg.MinRun + time.Duration(rnd.Int64N(int64(cfg.MaxRun-cfg.MinRun)))
	}
	for k := 0; k < cfg.Kills; k++ {
		time.Sleep(runFor())
		h.kill()
		time.Sleep(time.Duration(rnd.IntN(300)) * time.Millisecond)
		start := time.Now()
		h.start()
		h.restartedAfter = append(h.restartedAfter, time.Since(start))
	}
	time.Sleep(runFor())
	stopLoad()
	loadCmd.Process.Signal(os.Interrupt)
	wg.Wait()
	select {
	case <-loadDone:
	case <-time.After(30 * time.Second):
		loadCmd.Process.Kill()
		t.Errorf("termsim load did not end within 30s of SIGINT")
	}

	stage("load stopped")
	// The terminals settle, as acquirers do once the host answers again.
	for _, w := range terms {
		w.settle(ctx)
	}
	var log []*sent
	for _, w := range terms {
		log = append(log, w.log...)
		if w.c != nil {
			w.c.Close()
		}
	}

	stage("settled")
	conn := dbConn(t, dbURL)
	waitFor(t, 30*time.Second, "the outbox to be published", func() bool {
		var n int
		if err := conn.QueryRow(ctx, `SELECT n FROM ch_outbox_backlog('relay')`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
	stage("outbox drained")
	// A delivery in flight at the last kill waits out its lease (the
	// attempt timeout and a margin) before it is sent again. The receiver
	// takes up to 40 ms an event and an endpoint gets 4 at a time, so how
	// long the rest takes follows how many events the load made: judged
	// by progress (a minute without one fails), at most 5 minutes.
	waitForDrain(t, time.Minute, 5*time.Minute, "every webhook delivery to be made", func() int {
		var n int
		if err := conn.QueryRow(ctx, `SELECT (SELECT n FROM ch_outbox_backlog('webhooks'))
			+ (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending')`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return int(n)
	})
	stage("webhooks delivered")
	h.stop()

	stage("stopped")
	checkCrashTerminals(t, conn, log, h.killTimes())
	checkCrashSpend(t, conn, log, cards)
	checkCrashEvents(t, conn, broker.Addrs())
	hooks.check(t, conn, h.killTimes())
	ledgerCheck(t, cardhostBin, h.env)

	var lr struct {
		Sent, Answered, Approved, Declined, Errors, Timeouts uint64
	}
	if b, err := os.ReadFile(loadReport); err != nil || json.Unmarshal(b, &lr) != nil || lr.Answered == 0 {
		t.Errorf("termsim load wrote no usable report (%v):\n%s", err, loadOut.String())
	}
	var answered, unanswered, approved int
	for _, s := range log {
		switch {
		case !s.answered:
			unanswered++
		case s.code == iso.Approved:
			approved++
			answered++
		default:
			answered++
		}
	}
	t.Logf("%d kills, restarts ready after %v; tracked terminals sent %d messages (%d approved, %d other answers, %d without answer); "+
		"termsim load sent %d, answered %d (%d approved), %d errors, %d timeouts; %d card updates over REST (%d failed at kills)",
		cfg.Kills, h.restartedAfter, len(log), approved, answered-approved, unanswered, lr.Sent, lr.Answered, lr.Approved, lr.Errors, lr.Timeouts,
		updates, updateErrors)
	if updates == 0 {
		t.Errorf("no card update went through")
	}
	if unanswered == 0 {
		t.Logf("no request was in flight at a kill this time: (b) was not exercised")
	}
}

// storedRecords reads the authorization records matching where.
func storedRecords(t *testing.T, conn *pgxv5.Conn, where string) []stored {
	t.Helper()
	rows, err := conn.Query(t.Context(), `SELECT id, kind, terminal_id, stan, rrn, response_code, status, coalesce(original_id, ''),
		coalesce(card_id, ''), amount, approved_amount, card_amount, held FROM authorizations WHERE `+where)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []stored
	for rows.Next() {
		var r stored
		if err := rows.Scan(&r.id, &r.kind, &r.terminal, &r.stan, &r.rrn, &r.code, &r.status, &r.original, &r.card,
			&r.amount, &r.approved, &r.cardAmount, &r.held); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkCrashTerminals checks (a) and (b): every answer the tracked
// terminals saw matches a stored record, and every stored record of theirs
// either was answered or was sent just before a kill (the process died
// between commit and answer), and then settled.
func checkCrashTerminals(t *testing.T, conn *pgxv5.Conn, log []*sent, kills []time.Time) {
	t.Helper()
	recs := storedRecords(t, conn, `terminal_id LIKE 'CRSH%'`)
	byKey := map[string]stored{}
	for _, r := range recs {
		k := r.terminal + "/" + r.stan
		if _, dup := byKey[k]; dup {
			t.Errorf("two records for terminal/STAN %s", k)
		}
		byKey[k] = r
	}
	sentKeys := map[string][]*sent{}
	for _, s := range log {
		sentKeys[s.key()] = append(sentKeys[s.key()], s)
	}
	nearKill := func(at time.Time) bool {
		for _, k := range kills {
			if !at.After(k.Add(2*time.Second)) && !at.Before(k.Add(-11*time.Second)) {
				return true
			}
		}
		return false
	}
	storedUnanswered := 0
	for _, s := range log {
		r, ok := byKey[s.key()]
		switch {
		case !s.answered:
			if !nearKill(s.at) {
				t.Errorf("(b) %s %s sent at %s got no answer (%s), with no kill around", s.kind, s.key(), s.at.Format(time.StampMilli), s.err)
			}
		case !ok:
			if s.code != iso.IssuerOrSwitchInoperative && s.code != iso.SystemMalfunction {
				t.Errorf("(a) %s %s was answered %s but is not stored", s.kind, s.key(), s.code)
			}
		case string(s.code) != r.code:
			t.Errorf("(a) %s %s was answered %s but is stored with %s", s.kind, s.key(), s.code, r.code)
		case r.rrn != s.tx.RRN:
			t.Errorf("(a) %s %s is stored with RRN %s, sent %s", s.kind, s.key(), r.rrn, s.tx.RRN)
		case s.kind == "purchase" && s.code == iso.Approved && r.approved != s.tx.Amount:
			t.Errorf("(a) %s %s approved %d but stored %d", s.kind, s.key(), s.tx.Amount, r.approved)
		}
	}
	for k, r := range byKey {
		ss := sentKeys[k]
		if len(ss) == 0 {
			t.Errorf("(b) stored %s %s (%s) was never sent", r.kind, k, r.code)
			continue
		}
		answered := false
		for _, s := range ss {
			answered = answered || s.answered
		}
		if answered {
			continue
		}
		storedUnanswered++
		// Stored, never answered: a purchase must be reversed by the
		// settling reversal; a reversal or capture was settled by sending
		// it again (answered from the stored record).
		if r.kind == "authorization" && r.code == "00" && (r.status != "REVERSED" || r.held != 0) {
			t.Errorf("(b) approved %s was never answered, and its timeout reversal left it %s holding %d", k, r.status, r.held)
		}
	}
	t.Logf("(a)(b) %d records of the tracked terminals; %d stored but never answered (the process died between commit and answer), each settled", len(recs), storedUnanswered)
}

// checkCrashSpend checks (c): for every card, total_spent equals the sum of
// what its records still hold, and equals its stored approvals less
// reversals and capture releases; for the tracked cards it also equals
// what their terminals saw approved, reversed and captured.
func checkCrashSpend(t *testing.T, conn *pgxv5.Conn, log []*sent, cards []*terminal.Card) {
	t.Helper()
	rows, err := conn.Query(t.Context(), `
		WITH a AS (SELECT * FROM authorizations WHERE card_id IS NOT NULL)
		SELECT c.id, c.total_spent,
		  coalesce((SELECT sum(held) FROM a WHERE a.card_id = c.id AND a.original_id IS NULL), 0),
		  coalesce((SELECT sum(card_amount) FROM a WHERE a.card_id = c.id AND a.original_id IS NULL
		            AND a.kind IN ('authorization', 'financial', 'advice') AND a.response_code IN ('00', '10')), 0)
		  - coalesce((SELECT sum(card_amount) FROM a WHERE a.card_id = c.id AND a.kind IN ('reversal', 'reversal_advice') AND a.status = 'APPLIED'), 0)
		  + coalesce((SELECT sum(a.card_amount - o.card_amount) FROM a JOIN authorizations o ON o.id = a.original_id
		              WHERE a.card_id = c.id AND a.kind = 'capture'), 0)
		  + coalesce((SELECT sum(card_amount) FROM a WHERE a.card_id = c.id AND a.kind = 'capture' AND a.status = 'UNMATCHED'), 0),
		  (SELECT count(*) FROM a WHERE a.card_id = c.id)
		FROM cards c`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	spent := map[string]int64{}
	active := 0
	for rows.Next() {
		var id string
		var total, held, flow, n int64
		if err := rows.Scan(&id, &total, &held, &flow, &n); err != nil {
			t.Fatal(err)
		}
		spent[id] = total
		if n > 0 {
			active++
		}
		if total != held || total != flow {
			t.Errorf("(c) card %s: total_spent %d, its records hold %d, approvals less reversals and releases %d", id, total, held, flow)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// What the terminals saw, once every message has an answer.
	answered := func(s *sent) *sent {
		if s.answered {
			return s
		}
		return s.settled
	}
	want := make([]int64, len(cards))
	for _, p := range log {
		if p.kind != "purchase" || !p.answered || p.code != iso.Approved {
			continue // an authorization without answer was reversed when settling
		}
		v := p.tx.Amount
		for _, f := range log {
			if f.orig != p || (f.kind != "reversal" && f.kind != "partial" && f.kind != "capture") {
				continue
			}
			a := answered(f)
			if a == nil || !a.answered || a.code != iso.Approved {
				t.Errorf("(c) %s %s of %s was never answered 00", f.kind, f.key(), p.key())
				continue
			}
			switch f.kind {
			case "reversal":
				v = 0
			case "partial":
				v = f.keep
			case "capture":
				v = f.tx.Amount
			}
		}
		want[p.card] += v
	}
	for i, c := range cards {
		if got, ok := spent[c.ID]; !ok || got != want[i] {
			t.Errorf("(c) card %s: total_spent %d, the terminals saw %d approved and not given back", c.ID, got, want[i])
		}
	}
	t.Logf("(c) total_spent consistent for %d cards with records (%d tracked)", active, len(cards))
}

// checkCrashEvents checks (d) and (e): one outbox row per stored
// authorization; every outbox event on Kafka, nothing else, copies of an
// event identical; each subject's events on Kafka (first copies) in
// outbox order.
func checkCrashEvents(t *testing.T, conn *pgxv5.Conn, brokers []string) {
	t.Helper()
	ctx := t.Context()
	var noEvent, doubled, orphan int
	if err := conn.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM authorizations a WHERE a.card_id IS NOT NULL
		   AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.type LIKE 'authorization.%' AND o.data->>'id' = a.id)),
		(SELECT count(*) FROM (SELECT data->>'id' FROM outbox WHERE type LIKE 'authorization.%' GROUP BY 1 HAVING count(*) > 1) d),
		(SELECT count(*) FROM outbox o WHERE o.type LIKE 'authorization.%'
		   AND NOT EXISTS (SELECT 1 FROM authorizations a WHERE a.id = o.data->>'id'))`).Scan(&noEvent, &doubled, &orphan); err != nil {
		t.Fatal(err)
	}
	if noEvent+doubled+orphan > 0 {
		t.Errorf("(d) %d authorizations without outbox row, %d with several, %d outbox rows without authorization", noEvent, doubled, orphan)
	}
	rows, err := conn.Query(ctx, `SELECT event_id, subject, type FROM outbox ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ id, subject, typ string }
	var outbox []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.subject, &r.typ); err != nil {
			t.Fatal(err)
		}
		outbox = append(outbox, r)
	}
	rows.Close()
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	recs, err := readTopic(rctx, brokers, kafka.Topic)
	if err != nil {
		t.Fatalf("reading Kafka: %v", err)
	}
	sort.SliceStable(recs, func(i, j int) bool {
		if recs[i].Partition != recs[j].Partition {
			return recs[i].Partition < recs[j].Partition
		}
		return recs[i].Offset < recs[j].Offset
	})
	first := map[string][]byte{}
	copies := 0
	kafkaOrder := map[string][]string{}
	for _, r := range recs {
		m := kafka.Message{Key: r.Key, Value: r.Value}
		for _, hd := range r.Headers {
			m.Headers = append(m.Headers, kafka.Header{Key: hd.Key, Value: hd.Value})
		}
		ev, err := kafka.ParseMessage(m)
		if err != nil {
			t.Errorf("(d) Kafka record %d/%d is not an event: %v", r.Partition, r.Offset, err)
			continue
		}
		enc, _ := json.Marshal(ev)
		if prev, seen := first[ev.ID]; seen {
			copies++
			if !bytes.Equal(prev, enc) {
				t.Errorf("(d) event %s is on Kafka twice with different content", ev.ID)
			}
			continue
		}
		first[ev.ID] = enc
		kafkaOrder[ev.Subject] = append(kafkaOrder[ev.Subject], ev.ID)
	}
	outboxOrder := map[string][]string{}
	inOutbox := map[string]bool{}
	missing := 0
	for _, r := range outbox {
		inOutbox[r.id] = true
		outboxOrder[r.subject] = append(outboxOrder[r.subject], r.id)
		if _, ok := first[r.id]; !ok {
			missing++
			if missing <= 10 {
				t.Errorf("(d) outbox event %s (%s, %s) is not on Kafka", r.id, r.typ, r.subject)
			}
		}
	}
	for id := range first {
		if !inOutbox[id] {
			t.Errorf("(d) event %s is on Kafka but not in the outbox", id)
		}
	}
	disordered := 0
	for subject, want := range outboxOrder {
		if got := kafkaOrder[subject]; !slices.Equal(got, want) && missing == 0 {
			disordered++
			if disordered <= 5 {
				t.Errorf("(e) %s: events on Kafka in the order %v, outbox order %v", subject, got, want)
			}
		}
	}
	t.Logf("(d)(e) %d outbox events, %d missing on Kafka; %d records read (%d duplicate copies); %d of %d subjects out of outbox order",
		len(outbox), missing, len(recs), copies, disordered, len(outboxOrder))
}

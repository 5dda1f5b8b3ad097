package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	pgxv5 "github.com/jackc/pgx/v5"

	"github.com/cardhost/cardhost/cmd/termsim/scenario"
	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/issuance/postgres/pgtest"
	"github.com/cardhost/cardhost/kafka"
	"github.com/cardhost/cardhost/kafka/consume"
)

// This file holds what the reliability, abuse and TLS tests share: an app
// whose database sits behind a fault proxy, sandbox cards the test can act
// as, and the stored-state consistency check.

// proxiedEnv is testEnv with DATABASE_URL going through a fault proxy.
// direct is the same database without the proxy (for checks the outage
// must not disturb).
func proxiedEnv(t *testing.T) (env map[string]string, proxy *pgtest.Proxy, direct string) {
	t.Helper()
	env = testEnv(t)
	direct = env["DATABASE_URL"]
	proxy, env["DATABASE_URL"] = pgtest.NewPostgresProxy(t, direct)
	return env, proxy, direct
}

// sandboxKey is the API key of the sandbox tenant created at start.
func (a *testApp) sandboxKey(t *testing.T) string {
	t.Helper()
	if !apiKeyRE.MatchString(a.SandboxKey) {
		t.Fatal("no sandbox API key")
	}
	return a.SandboxKey
}

// issuer returns a termsim issuer over the app's REST API with the
// sandbox tenant's key.
func (a *testApp) issuer(t *testing.T, scheme string) *scenario.Issuer {
	t.Helper()
	api, err := scenario.NewAPI(scheme+"://"+a.HTTPAddr(), a.sandboxKey(t), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	kek, _ := hex.DecodeString(terminal.DefaultTransportKeyHex)
	return &scenario.Issuer{API: api, TransportKey: kek}
}

// newCard creates a virtual card on the sandbox tenant's default product
// and returns the termsim card acting as it.
func newCard(t *testing.T, is *scenario.Issuer, r scenario.CardRequest) (*terminal.Card, scenario.CardInfo) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if r.ProductID == "" {
		products, err := is.API.Products(ctx)
		if err != nil || len(products) == 0 {
			t.Fatalf("sandbox products: %v (%d)", err, len(products))
		}
		r.ProductID = products[0].ID
	}
	if r.CardHolderName == "" {
		r.CardHolderName = "Ada Lovelace"
	}
	c, info, err := is.NewCard(ctx, r, "")
	if err != nil {
		t.Fatalf("creating a sandbox card: %v", err)
	}
	if info.Status != "ACTIVE" {
		t.Fatalf("new card is %s, want ACTIVE", info.Status)
	}
	return c, info
}

// dialISO connects a termsim client to the app's ISO port.
func dialISO(t *testing.T, addr string, opts ...terminal.Option) *terminal.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := terminal.Dial(ctx, addr, opts...)
	if err != nil {
		t.Fatalf("dialing the ISO port: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// newTerminal is a terminal of the sandbox acquirer.
func newTerminal(t *testing.T, id string) *terminal.Terminal {
	t.Helper()
	term, err := terminal.NewTerminal(terminal.TerminalConfig{TerminalID: id})
	if err != nil {
		t.Fatal(err)
	}
	return term
}

// purchase sends one chip purchase and returns the answer; a transport
// failure (no answer within wait) fails the test.
func purchase(t *testing.T, c *terminal.Client, term *terminal.Terminal, card *terminal.Card, amount int64, wait time.Duration) *terminal.Result {
	t.Helper()
	tx, err := term.Purchase(card, amount, terminal.TxnOptions{})
	if err != nil {
		t.Fatalf("building a purchase: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	r, err := c.Do(ctx, tx)
	if err != nil {
		t.Fatalf("purchase STAN %s: no answer within %v: %v", tx.STAN, wait, err)
	}
	return r
}

// httpGet sends a GET with the key ("" for none) and returns the status,
// headers and body.
func httpGet(t *testing.T, hc *http.Client, url, key string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// problem is the part of a problem+json answer the tests read.
type problem struct {
	Status int    `json:"status"`
	Slug   string `json:"slug"`
}

func decodeProblem(t *testing.T, h http.Header, body []byte) problem {
	t.Helper()
	if ct := h.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json (%s)", ct, body)
	}
	var p problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("decoding problem %s: %v", body, err)
	}
	return p
}

// consistency is what the database holds about authorizations, read
// straight from PostgreSQL (not through the proxy).
type consistency struct {
	Authorizations int // records of messages with a card
	Approved       int // approved purchase records
	ApprovedSum    int64
	SpentByCards   int64 // sum of cards.total_spent
	Events         int   // authorization events in the outbox
	Unsent         int   // outbox rows not yet published
}

// checkConsistency fails the test unless the stored state is whole:
// every record of a card has exactly one authorization event in the
// outbox, and every card's total spend is the sum of its stored approvals
// (the test sends purchases only, no reversals). It returns the counts.
func checkConsistency(t *testing.T, directURL string) (c consistency) {
	t.Helper()
	withDirectConn(t, directURL, func(ctx context.Context, conn *pgxv5.Conn) { c = checkConsistencyOn(t, ctx, conn) })
	return c
}

func checkConsistencyOn(t *testing.T, ctx context.Context, conn *pgxv5.Conn) consistency {
	t.Helper()
	var c consistency
	err := conn.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM authorizations WHERE card_id IS NOT NULL),
		(SELECT count(*) FROM authorizations WHERE card_id IS NOT NULL AND response_code IN ('00', '10')),
		(SELECT coalesce(sum(approved_amount), 0) FROM authorizations WHERE card_id IS NOT NULL AND response_code IN ('00', '10')),
		(SELECT coalesce(sum(total_spent), 0) FROM cards),
		(SELECT count(*) FROM outbox WHERE type LIKE 'authorization.%'),
		(SELECT n FROM ch_outbox_backlog('relay'))`).
		Scan(&c.Authorizations, &c.Approved, &c.ApprovedSum, &c.SpentByCards, &c.Events, &c.Unsent)
	if err != nil {
		t.Fatalf("reading counts: %v", err)
	}
	// Record <-> event, one to one, by authorization id.
	var orphans, eventless, doubled int
	err = conn.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM outbox o WHERE o.type LIKE 'authorization.%'
		    AND NOT EXISTS (SELECT 1 FROM authorizations a WHERE a.id = o.data->>'id')),
		(SELECT count(*) FROM authorizations a WHERE a.card_id IS NOT NULL
		    AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.type LIKE 'authorization.%' AND o.data->>'id' = a.id)),
		(SELECT count(*) FROM (SELECT data->>'id' FROM outbox WHERE type LIKE 'authorization.%'
		    GROUP BY 1 HAVING count(*) > 1) d)`).Scan(&orphans, &eventless, &doubled)
	if err != nil {
		t.Fatalf("matching records and events: %v", err)
	}
	if orphans+eventless+doubled > 0 {
		t.Errorf("inconsistent outbox: %d events without record, %d records without event, %d records with several events", orphans, eventless, doubled)
	}
	// Per card: total_spent = the sum of its approvals.
	rows, err := conn.Query(ctx, `SELECT c.id, c.total_spent, coalesce(sum(a.approved_amount), 0)
		FROM cards c LEFT JOIN authorizations a ON a.card_id = c.id AND a.response_code IN ('00', '10')
		GROUP BY c.id, c.total_spent HAVING c.total_spent <> coalesce(sum(a.approved_amount), 0)`)
	if err != nil {
		t.Fatalf("comparing spend: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var spent, approved int64
		if err := rows.Scan(&id, &spent, &approved); err != nil {
			t.Fatal(err)
		}
		t.Errorf("card %s: total_spent %d, stored approvals %d", id, spent, approved)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return c
}

// collectDistinct reads the events topic from the beginning until it has
// seen want distinct event ids, and returns the ids per subject in the
// order first read (a duplicate counts where it first appeared).
func collectDistinct(t *testing.T, brokers []string, want int) map[string][]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n := want
	for {
		evs, err := consume.Collect(ctx, brokers, kafka.Topic, n, nil)
		if err != nil {
			t.Fatalf("reading the topic back: %v (read %d of %d)", err, len(evs), n)
		}
		seen := map[string]bool{}
		out := map[string][]string{}
		for _, ev := range evs {
			if !seen[ev.ID] {
				seen[ev.ID] = true
				out[ev.Subject] = append(out[ev.Subject], ev.ID)
			}
		}
		if len(seen) >= want {
			if dups := len(evs) - len(seen); dups > 0 {
				t.Logf("%d duplicate deliveries (at least once)", dups)
			}
			return out
		}
		n += want - len(seen) // duplicates took places: read further
	}
}

// withDirectConn connects straight to PostgreSQL (not through the
// proxy), runs fn and closes the connection.
func withDirectConn(t *testing.T, directURL string, fn func(ctx context.Context, conn *pgxv5.Conn)) {
	t.Helper()
	conn := connectDirect(t, directURL)
	defer conn.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fn(ctx, conn)
}

// directRows runs a query straight on PostgreSQL and collects its rows.
func directRows[T any](t *testing.T, directURL, query string, to pgxv5.RowToFunc[T]) []T {
	t.Helper()
	var out []T
	withDirectConn(t, directURL, func(ctx context.Context, conn *pgxv5.Conn) {
		rows, err := conn.Query(ctx, query)
		if err == nil {
			out, err = pgxv5.CollectRows(rows, to)
		}
		if err != nil {
			t.Fatal(err)
		}
	})
	return out
}

// checkApprovalsStored fails for every approval answered 00 (keys
// terminal/STAN) that is not stored, and for every stored approval that
// was never answered 00, first time or on its repeat.
func checkApprovalsStored(t *testing.T, directURL string, answered map[string]bool) {
	t.Helper()
	stored := map[string]bool{}
	for _, k := range directRows(t, directURL, `SELECT terminal_id || '/' || stan FROM authorizations WHERE card_id IS NOT NULL AND response_code IN ('00', '10')`, pgxv5.RowTo[string]) {
		stored[k] = true
	}
	for k := range answered {
		if !stored[k] {
			t.Errorf("approval %s was answered 00 but is not stored", k)
		}
	}
	for k := range stored {
		if !answered[k] {
			t.Errorf("approval %s is stored but was never answered 00", k)
		}
	}
}

// checkOutboxOnKafka reads the topic from the beginning and fails unless
// it holds every outbox event id, per subject in outbox (seq) order. It
// returns the outbox's event ids per subject and their number.
func checkOutboxOnKafka(t *testing.T, directURL string, brokers []string) (map[string][]string, int) {
	t.Helper()
	type event struct{ Subject, ID string }
	want := map[string][]string{}
	total := 0
	for _, e := range directRows(t, directURL, `SELECT subject, event_id FROM outbox ORDER BY seq`, pgxv5.RowToStructByPos[event]) {
		want[e.Subject] = append(want[e.Subject], e.ID)
		total++
	}
	got := collectDistinct(t, brokers, total)
	for subject, ids := range want {
		if !slices.Equal(got[subject], ids) {
			t.Errorf("subject %s: %d events on Kafka in order %v..., outbox has %d", subject, len(got[subject]), got[subject][:min(3, len(got[subject]))], len(ids))
		}
	}
	return want, total
}

// repeatUntil calls fn every interval, from one goroutine, until stop is
// closed. The returned function waits for that goroutine to end.
func repeatUntil(stop <-chan struct{}, interval time.Duration, fn func()) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(interval):
			}
			fn()
		}
	}()
	return func() { <-done }
}

// waitFor polls cond every 50ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitForDrain waits until count() is 0, failing when it has not gone
// down for stall, or after limit in all: a backlog whose size follows the
// machine's speed (the faster the host, the more a fixed-length load
// leaves to drain) is judged by its progress, not by a fixed deadline.
func waitForDrain(t *testing.T, stall, limit time.Duration, what string, count func() int) {
	t.Helper()
	start := time.Now()
	best, since := count(), time.Now()
	for best > 0 {
		if time.Since(since) > stall {
			t.Fatalf("waiting for %s: %d left, none done in the last %v", what, best, stall)
		}
		if time.Since(start) > limit {
			t.Fatalf("waiting for %s: %d left after %v", what, best, limit)
		}
		time.Sleep(100 * time.Millisecond)
		if n := count(); n < best {
			best, since = n, time.Now()
		}
	}
}

// metricValue returns the value of an unlabelled gauge or counter from a
// Prometheus text exposition, or -1 when absent.
func metricValue(exposition, name string) float64 {
	for _, line := range strings.Split(exposition, "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			var v float64
			if err := json.Unmarshal([]byte(strings.TrimSpace(rest)), &v); err == nil {
				return v
			}
		}
	}
	return -1
}

// termsimCardRequest is a card request with a limit high enough that the
// tests' purchases never hit it.
// ledgerCheck runs `cardhost ledger check` (the binary at bin) with env
// and fails the test unless every invariant holds.
func ledgerCheck(t *testing.T, bin string, env []string) {
	t.Helper()
	cmd := exec.Command(bin, "ledger", "check")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ledger check passed") {
		t.Fatalf("cardhost ledger check: %v\n%s", err, out)
	}
	t.Logf("%s", strings.TrimSpace(string(out)))
}

func termsimCardRequest() scenario.CardRequest {
	limit := int64(100_000_000)
	return scenario.CardRequest{CardLimit: &limit}
}

// purchaseLane is a card at a terminal on its own ISO connection.
type purchaseLane struct {
	card *terminal.Card
	term *terminal.Terminal
	c    *terminal.Client
}

// purchaseUntil has every lane buy 1.00 again and again until stop is
// closed, each answer awaited within bound, and hands each answer to
// answered (lane index, request, result, round trip), concurrently across
// lanes. A request not answered in time fails the test and ends its lane.
// The returned function waits for every lane to end.
func purchaseUntil(t *testing.T, lanes []purchaseLane, bound time.Duration, stop <-chan struct{},
	answered func(i int, tx *terminal.Txn, r *terminal.Result, took time.Duration)) (wait func()) {
	var wg sync.WaitGroup
	for i, l := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				tx, err := l.term.Purchase(l.card, 100, terminal.TxnOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				start := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), bound)
				r, err := l.c.Do(ctx, tx)
				cancel()
				if err != nil {
					t.Errorf("%s STAN %s: no answer within %v: %v", l.term.ID(), tx.STAN, bound, err)
					return
				}
				answered(i, tx, r, time.Since(start))
			}
		}()
	}
	return wg.Wait
}

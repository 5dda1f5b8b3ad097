package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/iso"
	"github.com/cardhost/cardhost/kafka/embedded"
)

// TestReliabilitySoak is the long variant of the outage tests, run only
// when CARDHOST_SOAK is set to a duration (e.g. CARDHOST_SOAK=3m): for
// that long, terminals authorize without pause on their own cards while
// a chaos loop keeps breaking things at random: PostgreSQL cut,
// blackholed or slowed past the statement timeout, Kafka stopped and
// restarted on its port. Every request must be answered 00 or 91 within
// the decision bound. At the end each lane repeats what was answered 91;
// then every stored approval must have been answered 00, every card's
// spend must be the sum of its approvals, every record must have its
// event, and every event must be on Kafka in per-card order.
// docs/RELIABILITY.md records its results.
func TestReliabilitySoak(t *testing.T) {
	soak, err := time.ParseDuration(os.Getenv("CARDHOST_SOAK"))
	if err != nil || soak <= 0 {
		t.Skip("set CARDHOST_SOAK to a duration (e.g. 3m) to run the soak test")
	}
	const (
		lanes           = 6
		dbTimeout       = time.Second
		decisionTimeout = 1500 * time.Millisecond
		answerBound     = decisionTimeout + 1500*time.Millisecond
	)
	dataDir := t.TempDir()
	broker, err := embedded.Start(embedded.Config{Addr: "127.0.0.1:0", DataDir: dataDir, Partitions: 4})
	if err != nil {
		t.Fatal(err)
	}
	kafkaAddr := broker.Addrs()[0]
	var brokerMu sync.Mutex
	defer func() { brokerMu.Lock(); broker.Close(); brokerMu.Unlock() }()

	env, proxy, direct := proxiedEnv(t)
	env["KAFKA_BROKERS"] = kafkaAddr
	env["CARDHOST_KAFKA_PARTITIONS"] = "4"
	env["CARDHOST_DB_TIMEOUT"] = dbTimeout.String()
	env["CARDHOST_ISO_DECISION_TIMEOUT"] = decisionTimeout.String()
	env["CARDHOST_HTTP_REQUEST_TIMEOUT"] = "2s"
	env["CARDHOST_LOG_LEVEL"] = "error"
	app := startApp(t, env)
	is := app.issuer(t, "http")

	ls := make([]purchaseLane, lanes)
	for i := range ls {
		card, _ := newCard(t, is, termsimCardRequest())
		ls[i] = purchaseLane{card: card, term: newTerminal(t, fmt.Sprintf("SOAK%04d", i)), c: dialISO(t, app.ISOAddr())}
	}
	unanswered := make([][]*terminal.Txn, lanes) // per lane, the requests answered 91, in order

	var mu sync.Mutex
	answered := map[string]bool{}
	counts := map[iso.ResponseCode]int{}
	var latencies []time.Duration
	stop := make(chan struct{})
	wait := purchaseUntil(t, ls, answerBound, stop, func(i int, tx *terminal.Txn, r *terminal.Result, took time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		counts[r.Code]++
		latencies = append(latencies, took)
		switch r.Code {
		case iso.Approved:
			answered[ls[i].term.ID()+"/"+tx.STAN] = true
		case iso.IssuerOrSwitchInoperative:
			unanswered[i] = append(unanswered[i], tx)
		default:
			t.Errorf("%s STAN %s answered %s, want 00 or 91", ls[i].term.ID(), tx.STAN, r.Code)
		}
	})

	// Chaos: one outage at a time, then a quiet spell.
	outages := map[string]int{}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	deadline := time.Now().Add(soak)
	pause := func(lo, hi time.Duration) { time.Sleep(lo + time.Duration(rng.Int64N(int64(hi-lo)))) }
	for time.Now().Before(deadline) {
		pause(time.Second, 3*time.Second)
		switch rng.IntN(5) {
		case 0:
			outages["database cut"]++
			proxy.Cut()
			pause(300*time.Millisecond, 2*time.Second)
			proxy.Restore()
		case 1:
			outages["database blackholed"]++
			proxy.Blackhole()
			pause(500*time.Millisecond, 3*time.Second)
			proxy.Restore()
		case 2:
			outages["database slower than the statement timeout"]++
			proxy.Slow(dbTimeout + 200*time.Millisecond)
			pause(time.Second, 3*time.Second)
			proxy.Slow(0)
		case 3:
			outages["Kafka stopped"]++
			brokerMu.Lock()
			broker.Close()
			brokerMu.Unlock()
			pause(2*time.Second, 6*time.Second)
			b, err := embedded.Start(embedded.Config{Addr: kafkaAddr, DataDir: dataDir, Partitions: 4})
			if err != nil {
				t.Fatalf("restarting Kafka on %s: %v", kafkaAddr, err)
			}
			brokerMu.Lock()
			broker = b
			brokerMu.Unlock()
		default:
			outages["none"]++
		}
	}
	time.Sleep(2 * time.Second) // last approvals after the last outage
	close(stop)
	wait()

	// Repeat every 91: recorded ones come back 00, others are decided now.
	repeats := map[iso.ResponseCode]int{}
	for i, l := range ls {
		for _, tx := range unanswered[i] {
			rtx, err := tx.Retransmit(true, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			r, err := l.c.Do(ctx, rtx)
			cancel()
			if err != nil {
				t.Fatalf("repeat of %s STAN %s: %v", l.term.ID(), tx.STAN, err)
			}
			repeats[r.Code]++
			switch {
			case r.Code.Approved():
				answered[l.term.ID()+"/"+tx.STAN] = true
			case r.Code != iso.CryptographicFailure:
				t.Errorf("repeat of %s STAN %s answered %s", l.term.ID(), tx.STAN, r.Code)
			}
		}
	}

	waitFor(t, 2*time.Minute, "the outbox to drain", func() bool { return checkConsistency(t, direct).Unsent == 0 })
	got := checkConsistency(t, direct)
	checkApprovalsStored(t, direct, answered)
	_, total := checkOutboxOnKafka(t, direct, []string{kafkaAddr})

	slices.Sort(latencies)
	pct := func(p float64) time.Duration { return latencies[int(p*float64(len(latencies)-1))] }
	t.Logf("soak %v: %d requests %v; outages %v; repeats of the 91s %v (00 = recorded in spite of the 91)", soak, len(latencies), counts, outages, repeats)
	t.Logf("latency p50 %v, p99 %v, max %v (bound %v); stored %+v; %d events on Kafka", pct(.5), pct(.99), latencies[len(latencies)-1], answerBound, got, total)
}

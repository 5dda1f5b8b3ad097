package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/iso"
	"github.com/cardhost/cardhost/kafka/embedded"
)

// TestReliabilityKafkaDown runs the real app against a Kafka broker (the
// embedded one, started by the test on its own port with a data
// directory, as KAFKA_BROKERS) and stops the broker: authorizations and
// the REST API keep working, the outbox grows, /readyz fails its outbox
// check and cardhost_outbox_lag_events shows the backlog. When the broker
// comes back on the same port every event is delivered, each event id at
// least once, one card's events in the order they were written.
func TestReliabilityKafkaDown(t *testing.T) {
	dataDir := t.TempDir()
	broker, err := embedded.Start(embedded.Config{Addr: "127.0.0.1:0", DataDir: dataDir, Partitions: 4})
	if err != nil {
		t.Fatal(err)
	}
	addr := broker.Addrs()[0]
	defer func() { broker.Close() }()

	env := testEnv(t)
	direct := env["DATABASE_URL"]
	env["KAFKA_BROKERS"] = addr
	env["CARDHOST_KAFKA_PARTITIONS"] = "4"
	env["CARDHOST_OUTBOX_MAX_LAG"] = "1s"
	app := startApp(t, env)
	is := app.issuer(t, "http")
	card, info := newCard(t, is, termsimCardRequest())
	c := dialISO(t, app.ISOAddr())
	term := newTerminal(t, "RELKF001")
	hc := &http.Client{Timeout: 10 * time.Second}
	base := "http://" + app.HTTPAddr()

	authorize := func(n int) {
		t.Helper()
		for range n {
			start := time.Now()
			r := purchase(t, c, term, card, 250, 5*time.Second)
			if r.Code != iso.Approved {
				t.Fatalf("authorization: %s, want 00", r.Code)
			}
			if took := time.Since(start); took > time.Second {
				t.Errorf("authorization took %v with Kafka down; it must not wait for Kafka", took)
			}
		}
	}
	authorize(3)
	waitFor(t, 15*time.Second, "the outbox to drain", func() bool { return checkConsistency(t, direct).Unsent == 0 })

	// Kafka goes away.
	broker.Close()
	authorize(5)
	card2, info2 := newCard(t, is, termsimCardRequest()) // REST writes events too
	for range 3 {
		if r := purchase(t, c, term, card2, 100, 5*time.Second); r.Code != iso.Approved {
			t.Fatalf("authorization on the new card: %s", r.Code)
		}
	}
	backlog := checkConsistency(t, direct).Unsent
	if backlog < 8+3 {
		t.Fatalf("%d events waiting with Kafka down, want at least 11", backlog)
	}
	waitFor(t, 15*time.Second, "/readyz to report the outbox lag", func() bool {
		status, _, body := httpGet(t, hc, base+"/readyz", "")
		var ready struct {
			Status string
			Checks map[string]string
		}
		_ = json.Unmarshal(body, &ready)
		return status == http.StatusServiceUnavailable && strings.Contains(ready.Checks["outbox"], "unpublished") &&
			ready.Checks["postgres"] == "ok"
	})
	waitFor(t, 15*time.Second, "cardhost_outbox_lag_events to show the backlog", func() bool {
		_, _, body := httpGet(t, hc, base+"/metrics", "")
		return metricValue(string(body), "cardhost_outbox_lag_events") >= float64(backlog)
	})

	// Kafka comes back on the same port with its data.
	broker, err = embedded.Start(embedded.Config{Addr: addr, DataDir: dataDir, Partitions: 4})
	if err != nil {
		t.Fatalf("restarting the broker on %s: %v", addr, err)
	}
	waitFor(t, 45*time.Second, "the outbox to drain after Kafka came back", func() bool {
		return checkConsistency(t, direct).Unsent == 0
	})
	waitFor(t, 10*time.Second, "/readyz to report ready", func() bool {
		status, _, _ := httpGet(t, hc, base+"/readyz", "")
		return status == http.StatusOK
	})

	// Every event id of the outbox is on the topic, per subject in seq order.
	want, total := checkOutboxOnKafka(t, direct, []string{addr})
	for _, id := range []string{info.CardID, info2.CardID} {
		if len(want[id]) < 4 {
			t.Errorf("card %s has %d events, want its lifecycle and authorizations", id, len(want[id]))
		}
	}
	t.Logf("%d events over %d subjects delivered after the outage (%d written while Kafka was down)", total, len(want), backlog)
}

package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/moov-io/iso8583"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/cmd/termsim/terminal/terminaltest"
	"github.com/cardhost/cardhost/iso"
)

// loadCards returns n chip cards (Visa CVN 18 and Mastercard CVN 21) that
// issuerHost knows.
func loadCards(t testing.TB, n int) []*terminal.Card {
	out := make([]*terminal.Card, n)
	for i := range out {
		if i%2 == 0 {
			out[i] = terminaltest.Card(t, "VISA", 18)
		} else {
			out[i] = terminaltest.Card(t, "MASTERCARD", 21)
		}
	}
	return out
}

// decideByMCC approves everything but MCC 7995 (57) and wrong CVV2 (82,
// any CVV2 other than the test card's).
func decideByMCC(cvv2s map[string]string) func(*iso8583.Message) iso.ResponseCode {
	return func(m *iso8583.Message) iso.ResponseCode {
		if mcc, _ := m.GetString(iso.FieldMCC); mcc == "7995" {
			return iso.NotPermittedToCardholder
		}
		if v, _ := m.GetString(iso.FieldPrivateData); v != "" {
			pd, _ := iso.ParsePrivateData(v)
			pan, _ := m.GetString(iso.FieldPAN)
			if got, ok := pd.Get(iso.ElementCVV2); ok && got != cvv2s[pan] {
				return iso.CryptographicFailure
			}
		}
		return iso.Approved
	}
}

func cvv2sOf(cards []*terminal.Card) map[string]string {
	m := map[string]string{}
	for _, c := range cards {
		m[c.PAN.Reveal()] = c.CVV2.Reveal()
	}
	return m
}

const testMix = `
kinds:
  - {name: chip, weight: 4, entry: chip}
  - {name: contactless, weight: 2, entry: contactless, reversal: partial}
  - {name: ecommerce, weight: 2, entry: ecommerce}
  - {name: wrong cvv2, weight: 1, entry: ecommerce, cvv2: wrong, expect: ["82"]}
  - {name: blocked mcc, weight: 1, entry: magstripe, mcc: "7995", expect: ["57"]}
`

func TestRunLoadAgainstIssuer(t *testing.T) {
	cards := loadCards(t, 4)
	mix, err := ParseMix([]byte(testMix))
	if err != nil {
		t.Fatal(err)
	}
	addr := terminaltest.IssuerHost(t, decideByMCC(cvv2sOf(cards)))
	var progress bytes.Buffer
	rep, err := RunLoad(context.Background(), LoadConfig{Label: "host", Addr: addr, Cards: cards, Connections: 2, InFlight: 2,
		Duration: 1200 * time.Millisecond, Mix: mix, Validate: true, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Unexpected != 0 || rep.Answered == 0 || rep.Sent != rep.Answered {
		var b bytes.Buffer
		rep.WriteText(&b)
		t.Fatalf("report:\n%s", b.String())
	}
	var codes, kinds uint64
	for _, n := range rep.Codes {
		codes += n
	}
	for _, k := range rep.Kinds {
		kinds += k.Answered + k.Reversals
		if k.Sent == 0 {
			t.Errorf("kind %s never sent", k.Name)
		}
	}
	if codes != rep.Answered || kinds != rep.Answered || rep.Approved+rep.Declined != rep.Answered {
		t.Errorf("codes %d, kinds %d, approved+declined %d, answered %d", codes, kinds, rep.Approved+rep.Declined, rep.Answered)
	}
	if rep.Codes["57"] == 0 || rep.Codes["82"] == 0 || rep.Kinds[1].ReversalCodes["00"] == 0 {
		t.Errorf("codes %v, contactless reversals %v", rep.Codes, rep.Kinds[1].ReversalCodes)
	}
	if rep.Latency.P50 <= 0 || rep.Latency.P50 > rep.Latency.P99 || rep.Latency.P99 > rep.Latency.Max || rep.Throughput <= 0 {
		t.Errorf("latency %+v throughput %f", rep.Latency, rep.Throughput)
	}
	if !strings.Contains(progress.String(), "auths/s") {
		t.Errorf("no progress line: %q", progress.String())
	}
	// Each card's ATC moved by exactly its chip requests: none was lost or
	// used twice (the host would decline a replay).
	var atcs int
	for _, c := range cards {
		atcs += c.ATC()
	}
	chip := rep.Kinds[0].Sent + rep.Kinds[1].Sent
	if uint64(atcs) != chip {
		t.Errorf("ATCs used %d, chip requests %d", atcs, chip)
	}
	var text bytes.Buffer
	rep.WriteText(&text)
	for _, want := range []string{"p99.9", "throughput", "blocked mcc", "reversals"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Errorf("report JSON: %v", err)
	}
}

func TestRunLoadCountsUnexpected(t *testing.T) {
	cards := loadCards(t, 2)
	addr := terminaltest.IssuerHost(t, func(*iso8583.Message) iso.ResponseCode { return iso.InsufficientFunds })
	rep, err := RunLoad(context.Background(), LoadConfig{Label: "host", Addr: addr, Cards: cards, Duration: 300 * time.Millisecond, Validate: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.Unexpected != rep.Answered || rep.Answered == 0 || len(rep.Problems) == 0 ||
		!strings.Contains(rep.Problems[0].Problem, "answered 51 (insufficient funds), expected 00") {
		t.Fatalf("unexpected %d of %d, problems %v", rep.Unexpected, rep.Answered, rep.Problems)
	}
}

func TestRunLoadBareServerIsNotValidated(t *testing.T) {
	cards := loadCards(t, 2)
	s := startBare(t)
	rep, err := RunLoad(context.Background(), LoadConfig{Label: "bare", Addr: s.Addr().String(), Cards: cards, Duration: 300 * time.Millisecond, InFlight: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Codes["00"] != rep.Answered {
		t.Fatalf("bare run: %+v", rep)
	}
	host := *rep
	host.Throughput, host.Latency.P99 = rep.Throughput/2, rep.Latency.P99*3
	b := NewBaseline(&host, rep)
	if b.ThroughputRatio < 0.49 || b.ThroughputRatio > 0.51 || b.P99Ratio < 2.9 || b.P99Ratio > 3.1 ||
		!strings.HasPrefix(b.String(), "host/bare throughput 0.50") {
		t.Errorf("baseline %+v %s", b, b)
	}
}

func TestRunLoadRate(t *testing.T) {
	cards := loadCards(t, 2)
	s := startBare(t)
	rep, err := RunLoad(context.Background(), LoadConfig{Addr: s.Addr().String(), Cards: cards, Rate: 50, Duration: 500 * time.Millisecond, InFlight: 4})
	if err != nil {
		t.Fatal(err)
	}
	// 50/s for 0.5 s: 25 requests started (slots at 0, 20ms, ... 480ms).
	if rep.Sent != 25 {
		t.Fatalf("sent %d at 50/s for 500ms, want 25", rep.Sent)
	}
}

// droppingHost answers the first n requests of every connection, then
// closes it.
func droppingHost(t *testing.T, n int) string {
	return terminaltest.Serve(t, func(nc net.Conn) {
		for range n {
			b, err := iso.ReadFrame(nc, nil)
			if err != nil {
				return
			}
			out, ok := bareAnswer(b)
			if !ok || iso.WriteFrame(nc, out) != nil {
				return
			}
		}
	})
}

func TestRunLoadHostTrouble(t *testing.T) {
	cards := loadCards(t, 2)
	t.Run("drops connections", func(t *testing.T) {
		start := time.Now()
		rep, err := RunLoad(context.Background(), LoadConfig{Addr: droppingHost(t, 5), Cards: cards, Duration: 500 * time.Millisecond,
			Timeout: 300 * time.Millisecond, InFlight: 2})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Answered < 10 || rep.Errors == 0 || rep.OK() {
			t.Fatalf("answered %d errors %d timeouts %d", rep.Answered, rep.Errors, rep.Timeouts)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("run took %v", d)
		}
	})
	t.Run("stops answering", func(t *testing.T) {
		silent := terminaltest.ScriptedHost(t, func(*iso8583.Message) *iso8583.Message { return nil })
		start := time.Now()
		rep, err := RunLoad(context.Background(), LoadConfig{Addr: silent, Cards: cards, Duration: 300 * time.Millisecond, Timeout: 200 * time.Millisecond, InFlight: 2})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Timeouts == 0 || rep.Answered != 0 || rep.OK() {
			t.Fatalf("timeouts %d answered %d", rep.Timeouts, rep.Answered)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("run took %v", d)
		}
	})
	t.Run("down", func(t *testing.T) {
		_, err := RunLoad(context.Background(), LoadConfig{Addr: terminaltest.ClosedPort(t), Cards: cards, Duration: time.Second, Timeout: 200 * time.Millisecond})
		if err == nil || !strings.Contains(err.Error(), "connecting to") {
			t.Fatalf("RunLoad against a closed port = %v", err)
		}
	})
}

func TestLoadConfigErrors(t *testing.T) {
	stripeSpec := terminaltest.CardSpec(t, "VISA", 0)
	stripeSpec.ICCMasterKeyAC = ""
	stripe, _ := terminal.NewCard(stripeSpec)
	tests := []struct {
		name string
		cfg  LoadConfig
		word string
	}{
		{"no cards", LoadConfig{Addr: "127.0.0.1:1"}, "no cards"},
		{"no address", LoadConfig{Cards: loadCards(t, 1)}, "no host address"},
		{"chip mix, stripe card", LoadConfig{Addr: "127.0.0.1:1", Cards: []*terminal.Card{stripe}}, "has no chip"},
		{"negative rate", LoadConfig{Addr: "127.0.0.1:1", Cards: loadCards(t, 1), Rate: -1}, "must not be negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := RunLoad(context.Background(), tc.cfg)
			if !errors.Is(err, ErrLoadConfig) || !strings.Contains(err.Error(), tc.word) {
				t.Fatalf("RunLoad = %v, want ErrLoadConfig with %q", err, tc.word)
			}
		})
	}
}

func TestParseMix(t *testing.T) {
	m, err := ParseMix([]byte(`{"kinds": [{"name": "a", "weight": 3}, {"name": "b", "weight": 1, "entry": "e-commerce", "cvv2": "wrong", "expect": ["82", "05"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.total != 4 || m.Kinds[1].entry != terminal.EntryEcommerce || !m.Kinds[1].expect["05"] || !m.Kinds[0].expect["00"] {
		t.Fatalf("mix %+v", m)
	}
	bad := []struct{ name, data, word string }{
		{"unknown member", "kinds:\n  - {name: a, weight: 1, colour: red}\n", "line 2: field colour not found"},
		{"unknown code", "kinds:\n  - {name: a, weight: 1, expect: [\"77\"]}\n", `"77" is not a response code`},
		{"zero weight", "kinds:\n  - {name: a, weight: 0}\n", "weight must be positive"},
		{"duplicate name", "kinds:\n  - {name: a, weight: 1}\n  - {name: a, weight: 1}\n", "unique name"},
		{"bad entry", "kinds:\n  - {name: a, weight: 1, entry: swipe}\n", "entry \"swipe\""},
		{"tamper stripe", "kinds:\n  - {name: a, weight: 1, entry: magstripe, tamper_arqc: true}\n", "tamper_arqc needs a chip"},
		{"empty", "", "empty mix"},
		{"no kinds", "kinds: []\n", "no kinds"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseMix([]byte(tc.data)); !errors.Is(err, ErrMix) || !strings.Contains(err.Error(), tc.word) {
				t.Fatalf("ParseMix = %v, want ErrMix with %q", err, tc.word)
			}
		})
	}
}

// slowHost answers every request after delay, one at a time per
// connection.
func slowHost(t *testing.T, delay time.Duration) string {
	return terminaltest.Serve(t, func(nc net.Conn) {
		for {
			b, err := iso.ReadFrame(nc, nil)
			if err != nil {
				return
			}
			time.Sleep(delay)
			out, ok := bareAnswer(b)
			if !ok || iso.WriteFrame(nc, out) != nil {
				return
			}
		}
	})
}

// TestRunLoadOpenLoop: at a rate the host cannot keep up with (one
// request in flight, 40 ms an answer, 100/s asked), each request's
// latency counts from its scheduled send, so the backlog shows (wrk2's
// coordinated-omission correction) instead of a flattering 40 ms; the
// report says the achieved rate fell short and why; every kind has its
// latencies; the JSON holds the histogram's buckets.
func TestRunLoadOpenLoop(t *testing.T) {
	cards := loadCards(t, 2)
	rep, err := RunLoad(context.Background(), LoadConfig{Addr: slowHost(t, 40*time.Millisecond), Cards: cards, Rate: 100,
		Duration: 800 * time.Millisecond, InFlight: 1, Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if rep.LatencyFrom != "scheduled" || rep.Latency.P99 < 300*time.Millisecond || rep.Latency.P50 < 100*time.Millisecond {
		t.Errorf("latency from %s: %+v; with 20 answers a second for 100 asked, the last ones waited hundreds of ms", rep.LatencyFrom, rep.Latency)
	}
	if !rep.ShortOfRate || rep.AchievedRate > 40 || rep.Scheduled != 80 {
		t.Errorf("achieved %.1f/s of 100/s (scheduled %d), short %v", rep.AchievedRate, rep.Scheduled, rep.ShortOfRate)
	}
	var text bytes.Buffer
	rep.WriteText(&text)
	if !strings.Contains(text.String(), "WARNING    asked 100/s, achieved") || !strings.Contains(text.String(), "--inflight") {
		t.Errorf("the text report does not warn:\n%s", text.String())
	}
	var n uint64
	for _, k := range rep.Kinds {
		if k.Answered > 0 && (k.Latency.Count != k.Answered || k.Latency.P50 <= 0) {
			t.Errorf("kind %s: %d answered, latency %+v", k.Name, k.Answered, k.Latency)
		}
		n += k.Latency.Count
	}
	var buckets uint64
	for _, b := range rep.Histogram {
		buckets += b.Count
	}
	if n == 0 || buckets != rep.Latency.Count {
		t.Errorf("per-kind counts %d, histogram buckets hold %d of %d latencies", n, buckets, rep.Latency.Count)
	}
	data, _ := json.Marshal(rep)
	if !bytes.Contains(data, []byte(`"histogram":[{"lo_ns":`)) || !bytes.Contains(data, []byte(`"latency_from":"scheduled"`)) {
		t.Errorf("JSON report: %s", data)
	}

	// Closed loop against the same host: latency is the round trip.
	closed, err := RunLoad(context.Background(), LoadConfig{Addr: slowHost(t, 40*time.Millisecond), Cards: cards, Duration: 400 * time.Millisecond, InFlight: 1})
	if err != nil {
		t.Fatal(err)
	}
	if closed.LatencyFrom != "sent" || closed.Latency.P99 > 200*time.Millisecond || closed.ShortOfRate {
		t.Errorf("closed loop: latency from %s %+v, short %v", closed.LatencyFrom, closed.Latency, closed.ShortOfRate)
	}
}

// TestRunLoadWarmup: requests of the warm-up are sent and checked but
// left out of the latencies, the throughput and the achieved rate.
func TestRunLoadWarmup(t *testing.T) {
	cards := loadCards(t, 2)
	s := startBare(t)
	rep, err := RunLoad(context.Background(), LoadConfig{Addr: s.Addr().String(), Cards: cards, Rate: 50, Warmup: 300 * time.Millisecond,
		Duration: 500 * time.Millisecond, InFlight: 4})
	if err != nil {
		t.Fatal(err)
	}
	// 50/s: 15 slots in the warm-up, 25 in the measured half second.
	if rep.Sent != 40 || rep.Latency.Count != 25 || rep.AchievedRate != 50 || rep.ShortOfRate || rep.Warmup != 300*time.Millisecond {
		t.Fatalf("sent %d, measured %d latencies, achieved %.1f/s (short %v), warm-up %v; want 40 sent, 25 measured at 50/s",
			rep.Sent, rep.Latency.Count, rep.AchievedRate, rep.ShortOfRate, rep.Warmup)
	}
	if _, err := RunLoad(context.Background(), LoadConfig{Addr: s.Addr().String(), Cards: cards, Warmup: -time.Second}); !errors.Is(err, ErrLoadConfig) {
		t.Fatalf("negative warm-up: %v", err)
	}
}

package host_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/iso"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/kafka"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func p64(v int64) *int64 { return &v }
func pint(v int) *int    { return &v }

func TestEcommerceApprovalAndDeclines(t *testing.T) {
	e := newHostEnv(t)
	card := e.newCard(cardOpts{})
	good := cvv2(t, card)
	for _, tc := range []struct {
		name   string
		m      msg
		code   string
		reason host.Reason
	}{
		{"approved with CVV2", msg{cvv2: good}, "00", host.ReasonApproved},
		{"approved with the expiry and CVV2 the cardholder typed", msg{}, "00", host.ReasonApproved},
		{"wrong CVV2", msg{cvv2: wrongCVV2(good)}, "82", host.ReasonCVV2Invalid},
		{"no CVV2 (the product requires it)", msg{noCVV2: true}, "82", host.ReasonCVV2Missing},
		{"key entry without CVV2", msg{entry: "012", noCVV2: true}, "82", host.ReasonCVV2Missing},
		{"no field 14", msg{noExpiry: true}, "30", host.ReasonExpiryMissing},
		{"key entry without field 14", msg{entry: "011", noExpiry: true}, "30", host.ReasonExpiryMissing},
		{"field 14 mismatch", msg{expiry: "2001"}, "54", host.ReasonCardExpired},
		{"refund", msg{processing: "200000"}, "00", host.ReasonApproved},
		{"unsupported processing code", msg{processing: "400000"}, "12", host.ReasonInvalidTransaction},
		{"zero amount", msg{zeroAmount: true}, "13", host.ReasonInvalidAmount},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.auth(card, tc.m)
			if a.code != tc.code {
				t.Fatalf("response code %s, want %s", a.code, tc.code)
			}
			if (tc.code == "00") != (a.approval != "") {
				t.Fatalf("approval code %q with response %s", a.approval, a.code)
			}
			ev := e.lastEvent(card.ID)
			var d kafka.AuthorizationData
			if err := ev.DecodeData(&d); err == nil && tc.code != "13" && tc.code != "12" {
				if d.ResponseCode != tc.code || d.Reason != string(tc.reason) {
					t.Fatalf("event %s says %s/%s, want %s/%s", ev.Type, d.ResponseCode, d.Reason, tc.code, tc.reason)
				}
			}
		})
	}
	// Purchases of 10.00 twice and a refund of 10.00: 10.00 spent.
	if _, total, _ := e.cardState(card.ID); total != 1000 {
		t.Fatalf("total spent %d, want 1000", total)
	}
	// A product that takes CVV2s only when sent: no CVV2 approves, a
	// missing field 14 still declines.
	lenient := e.newCard(cardOpts{cvv2Policy: "IF_PRESENT"})
	if a := e.auth(lenient, msg{noCVV2: true}); a.code != "00" {
		t.Fatalf("IF_PRESENT card without CVV2 answered %s, want 00", a.code)
	}
	if a := e.auth(lenient, msg{cvv2: wrongCVV2(cvv2(t, lenient))}); a.code != "82" {
		t.Fatalf("IF_PRESENT card with a wrong CVV2 answered %s, want 82", a.code)
	}
	if a := e.auth(lenient, msg{noCVV2: true, noExpiry: true}); a.code != "30" {
		t.Fatalf("IF_PRESENT card without field 14 answered %s, want 30", a.code)
	}
	// Card present: neither is needed.
	if a := e.auth(card, msg{entry: "901", track2: track2(t, card, true)}); a.code != "00" {
		t.Fatalf("magnetic stripe without field 14 and CVV2 answered %s, want 00", a.code)
	}
	// Unknown card.
	other := testCard{PAN: luhnComplete("411111111111111"), Expiry: "3012"}
	if a := e.auth(other, msg{}); a.code != "14" {
		t.Fatalf("unknown card answered %s, want 14", a.code)
	}
}

func TestStatusesDecline(t *testing.T) {
	e := newHostEnv(t)
	for _, tc := range []struct {
		status issuance.Status
		reason string
		code   string
	}{
		{issuance.StatusProvisioned, "", "62"},
		{issuance.StatusFrozen, "", "62"},
		{issuance.StatusBlocked, "lost", "41"},
		{issuance.StatusBlocked, "stolen", "43"},
		{issuance.StatusBlocked, "fraud", "62"},
		{issuance.StatusCanceled, "", "62"},
		{issuance.StatusExpired, "", "54"},
	} {
		t.Run(string(tc.status)+tc.reason, func(t *testing.T) {
			card := e.newCard(cardOpts{status: tc.status, reason: tc.reason})
			if a := e.auth(card, msg{}); a.code != tc.code {
				t.Fatalf("answered %s, want %s", a.code, tc.code)
			}
		})
	}
	expired := e.newCard(cardOpts{expiry: "2001"})
	if a := e.auth(expired, msg{}); a.code != "54" {
		t.Fatalf("card past its printed expiry answered %s", a.code)
	}
}

func TestMagstripeAndPIN(t *testing.T) {
	e := newHostEnv(t)
	card := e.newCard(cardOpts{pin: "4321"})
	mag := func(pin string, goodCVV bool) answer {
		m := msg{entry: "901", track2: track2(t, card, goodCVV)}
		if pin != "" {
			m.pinBlock = pinBlock(t, pin, card.PAN)
		}
		return e.auth(card, m)
	}
	if a := mag("4321", true); a.code != "00" {
		t.Fatalf("right PIN and CVV answered %s", a.code)
	}
	if a := mag("4321", false); a.code != "82" {
		t.Fatalf("wrong CVV answered %s", a.code)
	}
	if a := e.auth(card, msg{entry: "901"}); a.code != "30" {
		t.Fatalf("magstripe without track 2 answered %s", a.code)
	}
	for i, want := range []string{"55", "55", "75", "75"} {
		if a := mag("1111", true); a.code != want {
			t.Fatalf("wrong PIN #%d answered %s, want %s", i+1, a.code, want)
		}
	}
	if a := mag("4321", true); a.code != "75" {
		t.Fatalf("right PIN after the tries ran out answered %s, want 75", a.code)
	}
	if _, _, tries := e.cardState(card.ID); tries != 3 {
		t.Fatalf("pin_tries = %d, want 3", tries)
	}
	// A right PIN resets the counter of a card under the limit.
	card2 := e.newCard(cardOpts{pin: "4321"})
	e.auth(card2, msg{entry: "901", track2: track2(t, card2, true), pinBlock: pinBlock(t, "0000", card2.PAN)})
	if a := e.auth(card2, msg{entry: "901", track2: track2(t, card2, true), pinBlock: pinBlock(t, "4321", card2.PAN)}); a.code != "00" {
		t.Fatalf("right PIN answered %s", a.code)
	}
	if _, _, tries := e.cardState(card2.ID); tries != 0 {
		t.Fatalf("pin_tries after a right PIN = %d, want 0", tries)
	}
}

func TestRiskControls(t *testing.T) {
	e := newHostEnv(t)
	off := false
	card := e.newCard(cardOpts{risk: issuance.RiskControls{BlockedMCC: []string{"7995"}, AllowedCountries: []string{"US", "CA"},
		Channels: issuance.Channels{ATM: &off}, Allow3DSTransactions: &off}})
	for _, tc := range []struct {
		name string
		m    msg
		code string
	}{
		{"allowed", msg{}, "00"},
		{"blocked MCC", msg{mcc: "7995"}, "57"},
		{"country not allowed", msg{country: "826"}, "57"},
		{"ATM off", msg{mcc: "6011", processing: "010000"}, "57"},
		{"3DS authenticated e-commerce off", msg{eci: "05"}, "57"},
		{"non-authenticated e-commerce", msg{eci: "07"}, "00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if a := e.auth(card, tc.m); a.code != tc.code {
				t.Fatalf("answered %s, want %s", a.code, tc.code)
			}
		})
	}
}

func TestSpendingControlsAndPartialApproval(t *testing.T) {
	e := newHostEnv(t)
	card := e.newCard(cardOpts{spending: []issuance.SpendingControl{
		{Amount: p64(2500), Interval: issuance.Daily},
		{Count: pint(3), Interval: issuance.Weekly},
		{Amount: p64(2000), Interval: issuance.PerTransaction},
	}})
	for i, tc := range []struct {
		m      msg
		code   string
		amount int64
	}{
		{msg{amount: 2001}, "61", 0},                  // per transaction
		{msg{amount: 1000}, "00", 1000},               // daily 1000/2500, count 1
		{msg{amount: 1000}, "00", 1000},               // daily 2000, count 2
		{msg{amount: 1000}, "61", 0},                  // daily would be 3000
		{msg{amount: 1000, partial: true}, "10", 500}, // partial: 500 left today, count 3
		{msg{amount: 1}, "65", 0},                     // weekly count exhausted
	} {
		a := e.auth(card, tc.m)
		if a.code != tc.code || (tc.amount > 0 && a.amount != tc.amount) {
			t.Fatalf("request %d: answered %s for %d, want %s for %d", i, a.code, a.amount, tc.code, tc.amount)
		}
	}
	if _, total, _ := e.cardState(card.ID); total != 2500 {
		t.Fatalf("total spent %d, want 2500", total)
	}
	limited := e.newCard(cardOpts{limit: p64(1500)})
	if a := e.auth(limited, msg{amount: 1000}); a.code != "00" {
		t.Fatalf("within card limit: %s", a.code)
	}
	if a := e.auth(limited, msg{amount: 1000}); a.code != "51" {
		t.Fatalf("over card limit: %s, want 51", a.code)
	}
	// Balance inquiry answers the available amount in field 54.
	a := e.auth(limited, msg{processing: "300000"})
	if a.code != "00" || !strings.Contains(a.balances, "0002840C000000000500") {
		t.Fatalf("balance inquiry: %s %q", a.code, a.balances)
	}
}

func TestReversalsAndCaptures(t *testing.T) {
	e := newHostEnv(t)
	card := e.newCard(cardOpts{limit: p64(10000)})
	auth := e.build(card, msg{amount: 4000})
	stan, _ := auth.GetString(11)
	tt, _ := auth.GetString(7)
	if a := e.send(e.client, auth); a.code != "00" {
		t.Fatalf("authorization: %s", a.code)
	}
	// Partial reversal: 1500 stays authorized.
	if a := e.auth(card, msg{mti: "0400", amount: 4000, original: original("0100", stan, tt), replacement: p64(1500)}); a.code != "00" {
		t.Fatalf("partial reversal: %s", a.code)
	}
	if _, total, _ := e.cardState(card.ID); total != 1500 {
		t.Fatalf("after partial reversal total %d, want 1500", total)
	}
	// Full reversal, twice: applied once.
	for i := 0; i < 2; i++ {
		if a := e.auth(card, msg{mti: "0420", amount: 4000, original: original("0100", stan, tt)}); a.code != "00" {
			t.Fatalf("reversal %d: %s", i, a.code)
		}
		if _, total, _ := e.cardState(card.ID); total != 0 {
			t.Fatalf("after reversal %d total %d, want 0", i, total)
		}
	}
	// Unknown original: acknowledged, nothing changes.
	if a := e.auth(card, msg{mti: "0400", amount: 100, original: original("0100", "999999", tt)}); a.code != "00" {
		t.Fatalf("unknown reversal: %s", a.code)
	}
	// Capture for less than authorized releases the rest.
	auth2 := e.build(card, msg{amount: 3000})
	stan2, _ := auth2.GetString(11)
	tt2, _ := auth2.GetString(7)
	e.send(e.client, auth2)
	if a := e.auth(card, msg{mti: "0220", amount: 2500, original: original("0100", stan2, tt2)}); a.code != "00" {
		t.Fatalf("capture: %s", a.code)
	}
	if _, total, _ := e.cardState(card.ID); total != 2500 {
		t.Fatalf("after capture total %d, want 2500", total)
	}
	types := e.events(card.ID)
	want := []string{kafka.TypeAuthorizationApproved, kafka.TypeAuthorizationReversed, kafka.TypeAuthorizationReversed,
		kafka.TypeAuthorizationReversed, kafka.TypeAuthorizationReversed, kafka.TypeAuthorizationApproved, kafka.TypeAuthorizationCaptured}
	if strings.Join(types, ",") != strings.Join(want, ",") {
		t.Fatalf("events %v, want %v", types, want)
	}
}

// TestReversalsMatchTheAcquirer: a reversal without field 90 is matched
// by RRN and terminal, and only among the authorizations of its own
// acquirer (field 32): another acquirer's reversal that quotes the same
// RRN and terminal finds no original and changes nothing.
func TestReversalsMatchTheAcquirer(t *testing.T) {
	e := newHostEnv(t)
	card := e.newCard(cardOpts{limit: p64(10000)})
	if a := e.auth(card, msg{amount: 4000, rrn: "RRNACQ000001"}); a.code != "00" {
		t.Fatalf("authorization: %s", a.code)
	}
	if a := e.auth(card, msg{mti: "0400", amount: 4000, rrn: "RRNACQ000001", acquirer: "99999"}); a.code != "00" {
		t.Fatalf("other acquirer's reversal: %s", a.code)
	}
	if _, total, _ := e.cardState(card.ID); total != 4000 {
		t.Fatalf("another acquirer's reversal moved the total to %d, want 4000", total)
	}
	if a := e.auth(card, msg{mti: "0400", amount: 4000, rrn: "RRNACQ000001"}); a.code != "00" {
		t.Fatalf("reversal: %s", a.code)
	}
	if _, total, _ := e.cardState(card.ID); total != 0 {
		t.Fatalf("the acquirer's own reversal left the total at %d, want 0", total)
	}
}

// TestReversalsMatchTheTerminal: a reversal without field 90 is matched
// only among the authorizations of its own terminal (field 41): a
// reversal of the same acquirer from another terminal that quotes the
// same RRN finds no original and changes nothing.
func TestReversalsMatchTheTerminal(t *testing.T) {
	e := newHostEnv(t)
	card := e.newCard(cardOpts{limit: p64(10000)})
	if a := e.auth(card, msg{amount: 4000, rrn: "RRNTRM000001", terminal: "TERM0001"}); a.code != "00" {
		t.Fatalf("authorization: %s", a.code)
	}
	if a := e.auth(card, msg{mti: "0400", amount: 4000, rrn: "RRNTRM000001", terminal: "TERM0002"}); a.code != "00" {
		t.Fatalf("other terminal's reversal: %s", a.code)
	}
	if _, total, _ := e.cardState(card.ID); total != 4000 {
		t.Fatalf("another terminal's reversal moved the total to %d, want 4000", total)
	}
	if a := e.auth(card, msg{mti: "0400", amount: 4000, rrn: "RRNTRM000001", terminal: "TERM0001"}); a.code != "00" {
		t.Fatalf("reversal: %s", a.code)
	}
	if _, total, _ := e.cardState(card.ID); total != 0 {
		t.Fatalf("the terminal's own reversal left the total at %d, want 0", total)
	}
}

func TestOneTimeCards(t *testing.T) {
	e := newHostEnv(t)
	onAuth := e.newCard(cardOpts{oneTime: issuance.CancelOnAuth})
	if a := e.auth(onAuth, msg{}); a.code != "00" {
		t.Fatalf("first use: %s", a.code)
	}
	if a := e.auth(onAuth, msg{}); a.code != "62" {
		t.Fatalf("second use: %s, want 62", a.code)
	}
	if st, _, _ := e.cardState(onAuth.ID); st != "CANCELED" {
		t.Fatalf("status %s, want CANCELED", st)
	}
	if got := e.events(onAuth.ID); strings.Join(got, ",") != "authorization.approved,card.canceled,authorization.declined" {
		t.Fatalf("events %v", got)
	}
	var d kafka.AuthorizationData
	if err := e.lastEvent(onAuth.ID).DecodeData(&d); err != nil || d.Reason != string(host.ReasonOneTimeCardUsed) {
		t.Fatalf("decline reason %q (%v)", d.Reason, err)
	}

	onCapture := e.newCard(cardOpts{oneTime: issuance.CancelOnCapture})
	auth := e.build(onCapture, msg{amount: 500})
	stan, _ := auth.GetString(11)
	tt, _ := auth.GetString(7)
	if a := e.send(e.client, auth); a.code != "00" {
		t.Fatalf("authorization: %s", a.code)
	}
	if st, _, _ := e.cardState(onCapture.ID); st != "ACTIVE" {
		t.Fatalf("ON_CAPTURE card cancelled before its capture (%s)", st)
	}
	if a := e.auth(onCapture, msg{mti: "0220", amount: 500, original: original("0100", stan, tt)}); a.code != "00" {
		t.Fatalf("capture: %s", a.code)
	}
	if st, _, _ := e.cardState(onCapture.ID); st != "CANCELED" {
		t.Fatalf("ON_CAPTURE card status after capture %s", st)
	}
	if a := e.auth(onCapture, msg{}); a.code != "62" {
		t.Fatalf("use after capture: %s", a.code)
	}
}

func TestRetransmissions(t *testing.T) {
	e := newHostEnv(t)
	card := e.newCard(cardOpts{limit: p64(5000)})
	m := msg{amount: 2000, stan: "424242", transmission: "1122101010", rrn: "RRN424242000"}
	first := e.auth(card, m)
	again := e.auth(card, m)
	if first.code != "00" || !bytes.Equal(first.packed, again.packed) {
		t.Fatalf("retransmission answered differently:\n%s\n%s", first.packed, again.packed)
	}
	if _, total, _ := e.cardState(card.ID); total != 2000 {
		t.Fatalf("retransmission spent twice: total %d", total)
	}
	changed := m
	changed.amount = 2500
	if a := e.auth(card, changed); a.code != "94" {
		t.Fatalf("same key, other content: %s, want 94", a.code)
	}
	repeat := m
	repeat.mti = "0101" // a repeat MTI is the same request
	if a := e.auth(card, repeat); a.code != "00" || a.approval != first.approval {
		t.Fatalf("0101 repeat: %s %s", a.code, a.approval)
	}
}

// TestConcurrentAuthorizationsNeverOverspend sends 100 authorizations at
// once on one card over several connections: the sum approved must not
// pass the limit, and exactly as many as fit are approved.
func TestConcurrentAuthorizationsNeverOverspend(t *testing.T) {
	e := newHostEnv(t)
	card := e.newCard(cardOpts{limit: p64(10_000), spending: []issuance.SpendingControl{{Count: pint(1000), Interval: issuance.Daily}}})
	clients := []*hostClient{}
	for i := 0; i < 4; i++ {
		clients = append(clients, &hostClient{c: e.dial()})
	}
	var wg sync.WaitGroup
	codes := make([]string, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := e.send(clients[i%len(clients)].c, e.build(card, msg{amount: 300, terminal: "TERM0002"}))
			codes[i] = a.code
		}()
	}
	wg.Wait()
	approved := 0
	for _, c := range codes {
		switch c {
		case "00":
			approved++
		case "51":
		default:
			t.Fatalf("unexpected response %s", c)
		}
	}
	if approved != 33 {
		t.Fatalf("%d approvals of 300 on a 10000 limit, want 33", approved)
	}
	if _, total, _ := e.cardState(card.ID); total != int64(approved*300) {
		t.Fatalf("total spent %d, want %d", total, approved*300)
	}
	var stored int
	e.db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM authorizations WHERE card_id = $1 AND response_code = '00'`, card.ID).Scan(&stored)
	if stored != approved {
		t.Fatalf("%d approvals stored, %d answered", stored, approved)
	}
}

type hostClient struct{ c *terminal.Client }

// TestFreezeIsSeenAtOnce: a change made elsewhere (REST, another instance)
// bumps the card's version; the engine's cached snapshot must not approve.
func TestFreezeIsSeenAtOnce(t *testing.T) {
	e := newHostEnv(t)
	card := e.newCard(cardOpts{})
	if a := e.auth(card, msg{}); a.code != "00" {
		t.Fatal(a.code)
	}
	if _, err := e.db.Pool().Exec(context.Background(), `UPDATE cards SET status = 'FROZEN', version = version + 1 WHERE id = $1`, card.ID); err != nil {
		t.Fatal(err)
	}
	if a := e.auth(card, msg{}); a.code != "62" {
		t.Fatalf("frozen card answered %s", a.code)
	}
	if _, err := e.db.Pool().Exec(context.Background(), `UPDATE cards SET status = 'ACTIVE', version = version + 1 WHERE id = $1`, card.ID); err != nil {
		t.Fatal(err)
	}
	if a := e.auth(card, msg{}); a.code != "00" {
		t.Fatalf("unfrozen card answered %s (stale decline)", a.code)
	}
}

// TestFormatDeclinesOfKnownCardsArePublished: a request for a known card
// that fails the format step (12, 13) is stored with the card and
// published, like every other decline.
func TestFormatDeclinesOfKnownCardsArePublished(t *testing.T) {
	e := newHostEnv(t)
	card := e.newCard(cardOpts{})
	for _, tc := range []struct {
		m      msg
		code   string
		reason host.Reason
	}{
		{msg{zeroAmount: true}, "13", host.ReasonInvalidAmount},
		{msg{processing: "400000"}, "12", host.ReasonInvalidTransaction},
	} {
		if a := e.auth(card, tc.m); a.code != tc.code {
			t.Fatalf("answered %s, want %s", a.code, tc.code)
		}
		ev := e.lastEvent(card.ID)
		var d kafka.AuthorizationData
		if err := ev.DecodeData(&d); err != nil || ev.Type != kafka.TypeAuthorizationDeclined || d.Reason != string(tc.reason) {
			t.Fatalf("last event %s %+v (%v), want authorization.declined with %s", ev.Type, d, err, tc.reason)
		}
	}
}

// TestCardContendedByAnotherInstance: while another writer (standing for a
// second instance) keeps changing the card between this engine's read and
// its commit, optimistic commits keep losing; the engine then decides under
// the card's lock in the database and every request is still decided
// exactly (no 96), with the limit honoured.
func TestCardContendedByAnotherInstance(t *testing.T) {
	e := newHostEnv(t)
	card := e.newCard(cardOpts{limit: p64(3000)})
	ctx, stop := context.WithCancel(context.Background())
	rival := make(chan int)
	go func() {
		n := 0
		for ctx.Err() == nil {
			if _, err := e.db.Pool().Exec(ctx, `UPDATE cards SET version = version + 1 WHERE id = $1`, card.ID); err == nil {
				n++
			}
		}
		rival <- n
	}()
	codes := map[string]int{}
	for range 20 {
		codes[e.auth(card, msg{amount: 300}).code]++
	}
	stop()
	bumps := <-rival
	if codes["00"] != 10 || codes["51"] != 10 || len(codes) != 2 {
		t.Fatalf("answers %v, want 10 approvals and 10 declines (51)", codes)
	}
	if _, total, _ := e.cardState(card.ID); total != 3000 {
		t.Fatalf("total spent %d, want 3000", total)
	}
	if n := stepCount(t, e.reg, "commit_locked"); n == 0 {
		t.Fatalf("no locked commit in 20 requests against %d concurrent card changes", bumps)
	}
}

// stepCount returns how often the pipeline step ran.
func stepCount(t *testing.T, reg *prometheus.Registry, step string) uint64 {
	return metric(t, reg, "cardhost_host_step_duration_seconds", "step", step).GetHistogram().GetSampleCount()
}

// metric returns the metric of the family name whose label is value (nil
// when there is none).
func metric(t *testing.T, reg *prometheus.Registry, name, label, value string) *dto.Metric {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m
				}
			}
		}
	}
	return nil
}

// TestAdviceMatchesTheAuthorizationItReports: the host approved and stored
// an 0100 whose answer the acquirer never got, so the network stood in and
// sends its 0120 advice of the same transaction (same RRN and terminal, its
// own STAN and approval code). The amount is held once, not twice; a
// reversal naming the advice releases it; a stand-in decline of such an
// approval releases its hold; an advice with nothing to match still spends.
func TestAdviceMatchesTheAuthorizationItReports(t *testing.T) {
	e := newHostEnv(t)
	card := e.newCard(cardOpts{limit: p64(10000)})
	ctx := context.Background()
	total := func(want int64, when string) {
		t.Helper()
		if _, got, _ := e.cardState(card.ID); got != want {
			t.Fatalf("%s: total spent %d, want %d", when, got, want)
		}
	}
	if a := e.auth(card, msg{amount: 4000, rrn: "ADV000000001"}); a.code != "00" {
		t.Fatalf("authorization: %s", a.code)
	}
	adv := e.build(card, msg{mti: "0120", amount: 4000, rrn: "ADV000000001", approval: "NET123"})
	advSTAN, _ := adv.GetString(iso.FieldSTAN)
	advTT, _ := adv.GetString(iso.FieldTransmissionTime)
	if a := e.send(e.client, adv); a.code != "00" {
		t.Fatalf("advice: %s", a.code)
	}
	total(4000, "after the advice of a stored approval")
	var origID, status, approval string
	var held int64
	err := e.db.Pool().QueryRow(ctx, `SELECT coalesce(a.original_id, ''), a.status, a.approval_code, a.held
		FROM authorizations a WHERE a.card_id = $1 AND a.mti = '0120'`, card.ID).Scan(&origID, &status, &approval, &held)
	if err != nil {
		t.Fatal(err)
	}
	var want string
	e.db.Pool().QueryRow(ctx, `SELECT id FROM authorizations WHERE card_id = $1 AND mti = '0100'`, card.ID).Scan(&want)
	if origID != want || status != "APPLIED" || approval != "NET123" || held != 0 {
		t.Fatalf("advice stored as original %q status %s approval %q held %d; want original %q, APPLIED, NET123, 0", origID, status, approval, held, want)
	}
	// A reversal naming the advice (field 90) reverses the transaction.
	if a := e.auth(card, msg{mti: "0400", amount: 4000, original: original("0120", advSTAN, advTT)}); a.code != "00" {
		t.Fatalf("reversal: %s", a.code)
	}
	total(0, "after reversing the advice")

	// The network declined in stand-in what the host had approved: the
	// hold is released.
	if a := e.auth(card, msg{amount: 2500, rrn: "ADV000000002"}); a.code != "00" {
		t.Fatalf("second authorization: %s", a.code)
	}
	if a := e.auth(card, msg{mti: "0120", amount: 2500, rrn: "ADV000000002", adviceCode: "05"}); a.code != "00" {
		t.Fatalf("declined advice: %s", a.code)
	}
	total(0, "after a stand-in decline of a stored approval")

	// Nothing to match: the stand-in approval spends, with the network's code.
	if a := e.auth(card, msg{mti: "0120", amount: 700, approval: "NET777"}); a.code != "00" {
		t.Fatalf("standalone advice: %s", a.code)
	}
	total(700, "after a standalone advice")
	e.db.Pool().QueryRow(ctx, `SELECT approval_code FROM authorizations WHERE card_id = $1 AND mti = '0120' ORDER BY decided_at DESC LIMIT 1`, card.ID).Scan(&approval)
	if approval != "NET777" {
		t.Fatalf("standalone advice stored approval code %q, want the network's NET777", approval)
	}
	types := e.events(card.ID)
	wantTypes := []string{kafka.TypeAuthorizationApproved, kafka.TypeAuthorizationApproved, kafka.TypeAuthorizationReversed,
		kafka.TypeAuthorizationApproved, kafka.TypeAuthorizationDeclined, kafka.TypeAuthorizationApproved}
	if strings.Join(types, ",") != strings.Join(wantTypes, ",") {
		t.Fatalf("events %v, want %v", types, wantTypes)
	}
}

// TestRefundsAreBounded: a refund gives back at most what the card has
// spent (issue 12 point 5): the unmatched refund of a million on a card
// with a 1,000 limit is declined 13 refund_exceeds_spent, in the answer,
// the stored record and its event, and the card may still spend only its
// limit.
func TestRefundsAreBounded(t *testing.T) {
	e := newHostEnv(t)
	card := e.newCard(cardOpts{limit: p64(1000)})
	refund := func(amount int64) answer { return e.auth(card, msg{processing: "200000", amount: amount}) }
	declined := func(step string, a answer, code string, reason host.Reason) {
		t.Helper()
		if a.code != code || a.approval != "" {
			t.Fatalf("%s: answered %s (approval %q), want %s", step, a.code, a.approval, code)
		}
		var d kafka.AuthorizationData
		ev := e.lastEvent(card.ID)
		err := ev.DecodeData(&d)
		var stored string
		e.db.Pool().QueryRow(context.Background(), `SELECT reason FROM authorizations WHERE id = $1`, d.ID).Scan(&stored)
		if err != nil || ev.Type != kafka.TypeAuthorizationDeclined || d.Reason != string(reason) || stored != string(reason) {
			t.Fatalf("%s: stored %q, event %s %+v (%v), want reason %s", step, stored, ev.Type, d, err, reason)
		}
	}
	declined("refund of a million on a fresh card", refund(1_000_000), "13", host.ReasonRefundExceedsSpent)
	if a := e.auth(card, msg{amount: 600}); a.code != "00" {
		t.Fatalf("purchase: %s", a.code)
	}
	declined("refund of more than was spent", refund(601), "13", host.ReasonRefundExceedsSpent)
	declined("refund in euros without field 6", e.auth(card, msg{processing: "200000", currency: "978", amount: 100}), "12", host.ReasonInvalidTransaction)
	if a := refund(600); a.code != "00" || a.approval == "" {
		t.Fatalf("refund of what was spent: %s", a.code)
	}
	declined("a second refund of the same purchase", refund(1), "13", host.ReasonRefundExceedsSpent)
	if _, total, _ := e.cardState(card.ID); total != 0 {
		t.Fatalf("total spent %d, want 0", total)
	}
	if a := e.auth(card, msg{amount: 1001}); a.code != "51" {
		t.Fatalf("purchase over the limit after the refunds: %s, want 51", a.code)
	}
}

package host_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/emv/pinblock"
	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/issuance"
)

// logBuffer is a log destination the servers' goroutines write to while
// the test reads it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestDeclinesAreLoggedWithoutCardData, over TCP: every refusal of issue
// 12 writes one log line at its documented level (docs/operations.md,
// "Logged declines") that names the reason, the code and the acquirer,
// merchant and terminal; no line holds a PAN, track 2, CVV2 or PIN block
// the requests carried.
func TestDeclinesAreLoggedWithoutCardData(t *testing.T) {
	e := newHostEnv(t)
	logs := &logBuffer{}
	e.logTo(logs)

	card := e.newCard(cardOpts{limit: p64(1000), pin: "4321"})
	secrets := map[string]bool{} // every field 2, 35 and 52 sent
	send := func(what, wantCode string, m msg) {
		t.Helper()
		req := e.build(card, m)
		for _, id := range []int{2, 35, 52} {
			if v, _ := req.GetString(id); v != "" {
				secrets[v] = true
			}
		}
		if a, _ := e.sendMAC(req, nil); a.code != wantCode {
			t.Fatalf("%s answered %s, want %s", what, a.code, wantCode)
		}
	}
	send("no expiry", "30", msg{noExpiry: true})
	send("no CVV2", "82", msg{noCVV2: true})
	send("entry mode 000", "58", msg{entry: "000"})
	send("refund of a million", "13", msg{processing: "200000", amount: 1_000_000})
	mag := func(m msg) msg {
		m.entry, m.track2 = "901", track2(t, card, true)
		return m
	}
	send("PIN block format 1", "63", mag(msg{pinBlock: pinBlockIn(t, pinblock.Format1, "4321", card.PAN)}))
	send("no MAC from an acquirer that requires one", "63", mag(msg{acquirer: macAcquirerID}))

	chip := e.chipCard(t, issuance.NetworkVisa, 10, cardOpts{})
	secrets[chip.PAN.Reveal()] = true
	term, err := terminal.NewTerminal(terminal.TerminalConfig{AcquirerID: acquirerID, ZPK: clearZPK})
	if err != nil {
		t.Fatal(err)
	}
	for what, tamper := range map[string]terminal.ChipTamper{
		"an AAC relabelled ARQC":         {Cryptogram: "AAC", RelabelARQC: true},
		"a cryptogram of another amount": {Amount: 1},
	} {
		if res := e.purchase(t, term, chip, 1000, terminal.TxnOptions{Entry: "chip", Chip: tamper}); res.Code != "82" {
			t.Fatalf("%s answered %s, want 82", what, res.Code)
		}
	}

	lines := map[string][]map[string]any{}
	all := logs.String()
	sc := bufio.NewScanner(strings.NewReader(all))
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if r, ok := l["reason"].(string); ok {
			lines[r] = append(lines[r], l)
		}
		for k, v := range l { // three digits are found in any line: the CVV2 is looked for as a value
			if v == cvv2(t, card) {
				t.Errorf("log line %q: %s is the CVV2", sc.Text(), k)
			}
		}
	}
	for _, want := range []struct {
		reason                host.Reason
		level                 string
		acquirerKey, acquirer string
	}{
		{host.ReasonExpiryMissing, "INFO", "acquirer_id", acquirerID},
		{host.ReasonCVV2Missing, "INFO", "acquirer_id", acquirerID},
		{host.ReasonEntryModeNotSupported, "WARN", "acquirer_id", acquirerID},
		{host.ReasonRefundExceedsSpent, "INFO", "acquirer_id", acquirerID},
		{host.ReasonPINFormatNotAllowed, "WARN", "acquirer_id", acquirerID},
		{host.ReasonCryptogramTypeInvalid, "WARN", "acquirer_id", acquirerID},
		{host.ReasonCryptogramAmountMismatch, "WARN", "acquirer_id", acquirerID},
		{host.ReasonMACMissing, "WARN", "acquirer", macAcquirerID}, // the ISO server's line
	} {
		got := lines[string(want.reason)]
		if len(got) != 1 {
			t.Errorf("%s: %d log lines, want 1 (log:\n%s)", want.reason, len(got), all)
			continue
		}
		l := got[0]
		if l["level"] != want.level || l[want.acquirerKey] != want.acquirer || l["terminal"] != "TERM0001" {
			t.Errorf("%s: logged %v, want level %s, %s %s, terminal TERM0001", want.reason, l, want.level, want.acquirerKey, want.acquirer)
		}
		if want.reason != host.ReasonMACMissing && (l["code"] != string(want.reason.Code()) || l["merchant_id"] != "MERCHANT0000001") {
			t.Errorf("%s: logged %v, want code %s and merchant MERCHANT0000001", want.reason, l, want.reason.Code())
		}
	}
	for s := range secrets {
		if strings.Contains(all, s) {
			t.Errorf("the log holds card data %q:\n%s", s, all)
		}
	}
}

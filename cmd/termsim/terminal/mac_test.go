package terminal_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/moov-io/iso8583"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/cmd/termsim/terminal/terminaltest"
	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/iso"
)

// macOf returns the MAC field of a packed message (64 or 128) and whether
// it verifies under the sandbox ZAK.
func macOf(t *testing.T, m *iso8583.Message) (field int, ok bool) {
	t.Helper()
	b, err := iso.Pack(m)
	if err != nil {
		t.Fatal(err)
	}
	data, mac, present, err := iso.MACInput(b)
	if err != nil || !present {
		return 0, false
	}
	want, _ := emv.MACAlgorithm3(terminaltest.MustHex(t, terminal.DefaultZAKHex), data, emv.PaddingMethod2)
	field = iso.FieldMAC
	if v, _ := m.GetString(iso.FieldSecondaryMAC); v != "" {
		field = iso.FieldSecondaryMAC
	}
	return field, emv.EncodeHex(want) == string(mac)
}

// TestTerminalMACs: a terminal with MAC set MACs its requests under its
// ZAK (field 64, or 128 with a secondary bitmap), follow-ups of a MACed
// request too, and a repeat again; per request a MAC can be wrong or
// left out, or asked of a terminal that does not MAC by default.
func TestTerminalMACs(t *testing.T) {
	card := terminaltest.Card(t, "VISA", 18)
	term, err := terminal.NewTerminal(terminal.TerminalConfig{MAC: true})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := term.Purchase(card, 1000, terminal.TxnOptions{Entry: terminal.EntryMagstripe})
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := macOf(t, tx.Msg); f != iso.FieldMAC || !ok || tx.MAC != terminal.MACRight {
		t.Fatalf("purchase: MAC in field %d, verifies %v, mode %q", f, ok, tx.MAC)
	}
	rev, err := term.Reversal(tx, terminal.ReversalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := macOf(t, rev.Msg); f != iso.FieldSecondaryMAC || !ok {
		t.Fatalf("reversal: MAC in field %d, verifies %v", f, ok)
	}
	rep, err := tx.Retransmit(true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := macOf(t, rep.Msg); f != iso.FieldMAC || !ok || mustMAC(t, rep.Msg) == mustMAC(t, tx.Msg) {
		t.Fatalf("repeat: MAC in field %d, verifies %v (the MTI is MACed: it must change)", f, ok)
	}
	same, _ := tx.Retransmit(false, nil)
	if a, b := mustPack(t, same.Msg), mustPack(t, tx.Msg); !bytes.Equal(a, b) {
		t.Fatal("a retransmission is not the same bytes")
	}
	for mode, want := range map[terminal.MACMode]string{terminal.MACWrong: "wrong", terminal.MACNone: "none"} {
		tx, err := term.Purchase(card, 1000, terminal.TxnOptions{Entry: terminal.EntryMagstripe, MAC: mode})
		if err != nil {
			t.Fatal(err)
		}
		f, ok := macOf(t, tx.Msg)
		if want == "wrong" && (f != iso.FieldMAC || ok) || want == "none" && f != 0 {
			t.Fatalf("%s: MAC field %d, verifies %v", want, f, ok)
		}
	}
	plain := testTerminal(t)
	if tx, _ := plain.Purchase(card, 1000, terminal.TxnOptions{Entry: terminal.EntryMagstripe}); tx.MAC != terminal.MACNone {
		t.Fatalf("a terminal without MAC MACed: %q", tx.MAC)
	} else if f, _ := macOf(t, tx.Msg); f != 0 {
		t.Fatalf("a terminal without MAC sent field %d", f)
	}
	if tx, _ := plain.Purchase(card, 1000, terminal.TxnOptions{Entry: terminal.EntryMagstripe, MAC: terminal.MACRight}); tx == nil {
		t.Fatal("no request")
	} else if f, ok := macOf(t, tx.Msg); f != iso.FieldMAC || !ok {
		t.Fatalf("mac: right on a terminal without MAC: field %d, verifies %v", f, ok)
	}
	if _, err := terminal.NewTerminal(terminal.TerminalConfig{ZAK: []byte{1, 2, 3}}); !errors.Is(err, terminal.ErrTransaction) {
		t.Fatalf("a 3-byte ZAK: %v", err)
	}
	if _, err := terminal.ParseMACMode("sometimes"); !errors.Is(err, terminal.ErrTransaction) {
		t.Fatalf("ParseMACMode: %v", err)
	}

	// A host that answers without MAC: a problem for a MACed request only.
	c := terminaltest.Dial(t, terminaltest.IssuerHost(t, func(*iso8583.Message) iso.ResponseCode { return iso.Approved }))
	for _, tc := range []struct {
		mode    terminal.MACMode
		problem bool
	}{{terminal.MACRight, true}, {terminal.MACNone, false}} {
		tx, _ := term.Purchase(card, 1000, terminal.TxnOptions{Entry: terminal.EntryMagstripe, MAC: tc.mode})
		r, err := c.Do(context.Background(), tx)
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Contains(strings.Join(r.Problems, ";"), "no MAC")
		if r.MAC != terminal.MACAbsent || got != tc.problem || (r.MACProblem != "") != tc.problem {
			t.Fatalf("%s: MAC %q, problems %q", tc.mode, r.MAC, r.Problems)
		}
	}
}

func mustPack(t *testing.T, m *iso8583.Message) []byte {
	t.Helper()
	b, err := iso.Pack(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustMAC(t *testing.T, m *iso8583.Message) string {
	t.Helper()
	v, _ := m.GetString(iso.FieldMAC)
	return v
}

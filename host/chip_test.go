package host_test

import (
	"context"
	"encoding/hex"
	"testing"
	"time"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/iso"
	"github.com/cardhost/cardhost/issuance"
)

// chipCard creates a card of the given network and CVN and the termsim card
// that plays it (chip keys derived from the test IMK, as data prep does).
func (e *hostEnv) chipCard(t *testing.T, network issuance.Network, cvn int, o cardOpts) *terminal.Card {
	t.Helper()
	o.network, o.cvn = network, cvn
	tc := e.newCard(o)
	row, err := network.CVN(cvn)
	if err != nil {
		t.Fatal(err)
	}
	imk, err := emv.NewTDES(clearIMK)
	if err != nil {
		t.Fatal(err)
	}
	mk, err := emv.DeriveICCMasterKeyWith(imk, row.MKD, tc.PAN, "00") // the CVN's option, as data prep does
	if err != nil {
		t.Fatal(err)
	}
	icvv, err := emv.GenerateICVV(clearCVK, tc.PAN, tc.Expiry)
	if err != nil {
		t.Fatal(err)
	}
	card, err := terminal.NewCard(terminal.CardSpec{ID: tc.ID, PAN: tc.PAN, Expiry: tc.Expiry, PSN: "00", ICVV: icvv.Reveal(),
		Network: string(network), CVN: cvn, ICCMasterKeyAC: hex.EncodeToString(mk)})
	if err != nil {
		t.Fatal(err)
	}
	return card
}

// purchase sends a purchase of card from term through the test client.
func (e *hostEnv) purchase(t *testing.T, term *terminal.Terminal, card *terminal.Card, amount int64, o terminal.TxnOptions) *terminal.Result {
	t.Helper()
	tx, err := term.Purchase(card, amount, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := e.client.Do(ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestChipEveryCVN authorizes a chip card of every supported cryptogram
// version: the ARQC verifies and the response carries a valid ARPC; a
// tampered cryptogram declines 82 without ARPC; a 9F10 of another CVN
// declines 82; a replayed ATC declines 82 (the cryptogram itself verified,
// so the decline carries an ARPC with its ARC); a decline for the card
// limit carries a valid ARPC too.
func TestChipEveryCVN(t *testing.T) {
	e := newHostEnv(t)
	term, err := terminal.NewTerminal(terminal.TerminalConfig{AcquirerID: acquirerID, ZPK: clearZPK})
	if err != nil {
		t.Fatal(err)
	}
	for _, cv := range []struct {
		network issuance.Network
		cvn     int
	}{
		{issuance.NetworkVisa, 10}, {issuance.NetworkVisa, 18}, {issuance.NetworkVisa, 22},
		{issuance.NetworkMastercard, 16}, {issuance.NetworkMastercard, 17}, {issuance.NetworkMastercard, 20}, {issuance.NetworkMastercard, 21},
		{issuance.NetworkUnionPay, 1},
	} {
		t.Run(string(cv.network)+"/"+itoa(cv.cvn), func(t *testing.T) {
			card := e.chipCard(t, cv.network, cv.cvn, cardOpts{limit: p64(5000)})
			do := func(entry terminal.EntryMode, amount int64, o terminal.TxnOptions) *terminal.Result {
				t.Helper()
				o.Entry = entry
				return e.purchase(t, term, card, amount, o)
			}
			for _, entry := range []terminal.EntryMode{terminal.EntryMode("chip"), terminal.EntryMode("contactless")} {
				res := do(terminal.EntryMode(entry), 1000, terminal.TxnOptions{})
				if res.Code != iso.Approved || res.ARPC.Status != terminal.ARPCValid || len(res.Problems) > 0 {
					t.Fatalf("%s approval: code %s, ARPC %s %s, problems %v", entry, res.Code, res.ARPC.Status, res.ARPC.Detail, res.Problems)
				}
			}
			if res := do("chip", 100, terminal.TxnOptions{Chip: terminal.ChipTamper{ARQC: true}}); res.Code != "82" || res.ARPC.Status != terminal.ARPCAbsent {
				t.Fatalf("tampered ARQC: code %s, ARPC %s", res.Code, res.ARPC.Status)
			}
			if res := do("chip", 100, terminal.TxnOptions{Chip: terminal.ChipTamper{CVN: -1}}); res.Code != "82" {
				t.Fatalf("CVN mismatch: code %s", res.Code)
			}
			if res := do("chip", 100, terminal.TxnOptions{Chip: terminal.ChipTamper{ATC: 1}}); res.Code != "82" || res.ARPC.Status != terminal.ARPCValid {
				t.Fatalf("ATC replay: code %s, ARPC %s %s", res.Code, res.ARPC.Status, res.ARPC.Detail)
			}
			if res := do("chip", 4000, terminal.TxnOptions{}); res.Code != "51" || res.ARPC.Status != terminal.ARPCValid {
				t.Fatalf("decline over the card limit: code %s, ARPC %s %s", res.Code, res.ARPC.Status, res.ARPC.Detail)
			}
			if res := do("chip", 100, terminal.TxnOptions{WrongTrackCVV: true}); res.Code != "82" {
				t.Fatalf("wrong iCVV: code %s", res.Code)
			}
			if res := do("chip", 100, terminal.TxnOptions{Chip: terminal.ChipTamper{Field55: []byte{0x9F, 0x26, 0x08, 0x01}}}); res.Code != "30" {
				t.Fatalf("field 55 not BER-TLV: code %s", res.Code)
			}
		})
	}
}

func itoa(n int) string { return string(rune('0'+n/10)) + string(rune('0'+n%10)) }

package isoserver

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/iso"
)

// TestBalanceOverTwelveDigits: a card whose available balance is 10^12
// minor units or more is approved 00 without field 54 (docs/iso8583.md
// section 5.10), by the host's real pipeline; a card whose balance fits
// gets its field 54 as before; a retransmission gets the same answer.
func TestBalanceOverTwelveDigits(t *testing.T) {
	received := time.Date(2025, 6, 21, 14, 30, 5, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		limit int64
		want  string // field 54 ("" = absent)
	}{
		{"fits", 1_000_000, "0002840C000000995001"},
		{"largest that fits", iso.MaxAmount + 4999, "0002840C999999999999"},
		{"one over", iso.MaxAmount + 5000, ""},
		{"10^13", 10_000_000_000_000, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ledger := newMemLedger()
			ledger.card.CardLimit = &tc.limit
			ledger.card.SpendingControls = nil // the limit alone is the balance
			ledger.card.CVN = 17               // the golden request's IAD (9F10 06011103A00000)
			engine, err := host.New(host.Config{PANIndexRef: "idx", Now: func() time.Time { return received }}, ledger, okVerifier{}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			s, err := New(Config{FingerprintKey: make([]byte, 32), Now: func() time.Time { return received }}, engine, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			msg := golden(t, "0100_ecommerce") // 49.99 USD, card not present
			out, _, code := s.process(msg, received, "test")
			if code != iso.Approved {
				t.Fatalf("answered %q, want 00", code)
			}
			resp, err := iso.Unpack(out)
			if err != nil {
				t.Fatal(err)
			}
			if got := str(resp, iso.FieldAdditionalAmounts); got != tc.want {
				t.Errorf("field 54 = %q, want %q", got, tc.want)
			}
			if str(resp, iso.FieldApprovalCode) == "" || str(resp, iso.FieldSTAN) != "000103" || str(resp, iso.FieldAmount) != "000000004999" {
				t.Errorf("38 %q, 11 %q, 4 %q: not a complete approval", str(resp, iso.FieldApprovalCode), str(resp, iso.FieldSTAN), str(resp, iso.FieldAmount))
			}
			again, _, _ := s.process(msg, received.Add(time.Second), "test")
			if !bytes.Equal(again, out) {
				t.Errorf("the retransmission got another answer")
			}
		})
	}
}

// TestBalanceEntriesLeftOut: each balance field 54 cannot carry is left
// out, the others are sent in order, and the log says how many were left
// out without an amount.
func TestBalanceEntriesLeftOut(t *testing.T) {
	balances := []host.Balance{
		{AccountType: "00", AmountType: "01", Currency: "840", Amount: 1_000_000_000_000},
		{AccountType: "00", AmountType: "02", Currency: "840", Amount: iso.MaxAmount},
		{AccountType: "00", AmountType: "02", Currency: "978", Amount: -1_234_567_890_123},
		{AccountType: "00", AmountType: "01", Currency: "978", Amount: -iso.MaxAmount},
	}
	for _, tc := range []struct {
		name     string
		balances []host.Balance
		want     string
	}{
		{"some fit", balances, "0002840C999999999999" + "0001978D999999999999"},
		{"none fits", []host.Balance{balances[0], balances[2]}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, Config{}, &fakeEngine{decide: func(_ context.Context, req *host.Request) (*host.Response, error) {
				return &host.Response{Decision: host.Approve, Amount: req.Amount, ApprovalCode: "A00001", Balances: tc.balances}, nil
			}})
			c := dial(t, ts.addr)
			c.send(authMessage("000701", "000000005000"))
			r := c.recv()
			if got := str(r, iso.FieldResponseCode); got != "00" {
				t.Fatalf("39 = %s, want 00", got)
			}
			if got := str(r, iso.FieldAdditionalAmounts); got != tc.want {
				t.Errorf("field 54 = %q, want %q", got, tc.want)
			}
			if str(r, iso.FieldApprovalCode) != "A00001" || str(r, iso.FieldAmount) != "000000005000" {
				t.Errorf("38 %q, 4 %q", str(r, iso.FieldApprovalCode), str(r, iso.FieldAmount))
			}
			logs := ts.logs.String()
			if !strings.Contains(logs, `"omitted":2`) {
				t.Errorf("the log does not say that 2 balances were left out:\n%s", logs)
			}
			for _, b := range balances {
				if a := fmt.Sprint(max(b.Amount, -b.Amount)); strings.Contains(logs, a) {
					t.Errorf("the log holds the amount %s:\n%s", a, logs)
				}
			}
		})
	}
}

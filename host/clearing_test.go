package host_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/issuance/ledger"
	"github.com/cardhost/cardhost/kafka"
)

// arn returns a 23-digit acquirer reference number.
func arn(n int) string { return fmt.Sprintf("74000016074%012d", n) }

// TestClearingRecords: clearing records through Engine.Clear on a PREPAID
// card: a presentment with a tip within the restaurant tolerance posts the
// hold and the tip; a presentment of an authorization a 0220 already
// posted settles without moving money; one that matches nothing is
// force-posted and flagged; a refund that matches no authorization is
// credited; a reversal credits its presentment back once; a record
// applied twice is a duplicate; an unknown card and another currency are
// refused. ledger.* events carry the card's balance.
func TestClearingRecords(t *testing.T) {
	e := newHostEnv(t)
	card := e.newCard(cardOpts{funding: ledger.ModePrepaid})
	e.deposit(20000)
	e.recharge(card.ID, 10000)
	own := ledger.CardAccount(card.ID)
	ctx := context.Background()
	lunch := msg{amount: 2000, mcc: "5812", stan: "000401", transmission: "0601150000", rrn: "612345000401"}
	a := e.auth(card, lunch)
	if a.code != "00" {
		t.Fatal(a.code)
	}
	shoes := msg{amount: 3000, stan: "000402", transmission: "0601150001", rrn: "612345000402"}
	b := e.auth(card, shoes)
	if b.code != "00" || e.auth(card, msg{mti: "0220", amount: 3000, original: original("0100", shoes.stan, shoes.transmission)}).code != "00" {
		t.Fatal("shoes")
	}
	rec := func(typ string, amount int64, approval, rrn string, n int) ledger.ClearingRecord {
		return ledger.ClearingRecord{Type: typ, PAN: emv.PAN(card.PAN), Amount: amount, Currency: "USD", ApprovalCode: approval, RRN: rrn,
			ARN: arn(n), MCC: "5812", Merchant: "CAFE"}
	}
	steps := []struct {
		name    string
		r       ledger.ClearingRecord
		outcome host.ClearingOutcome
		avail   int64
		event   string
	}{
		{"lunch with a 15% tip", rec(ledger.ClearingPurchase, 2300, a.approval, lunch.rrn, 1), host.ClearingPosted, 4700, kafka.TypeLedgerCleared},
		{"the same record again", rec(ledger.ClearingPurchase, 2300, a.approval, lunch.rrn, 1), host.ClearingDuplicate, 4700, ""},
		{"shoes, captured by a 0220 already", rec(ledger.ClearingPurchase, 3000, b.approval, shoes.rrn, 2), host.ClearingSettled, 4700, ""},
		{"a sale the host never saw", rec(ledger.ClearingPurchase, 999, "ZZZ999", "", 3), host.ClearingForced, 3701, kafka.TypeLedgerForcePosted},
		{"a refund", rec(ledger.ClearingRefund, 500, "", "", 4), host.ClearingPosted, 4201, kafka.TypeLedgerCleared},
		{"the forced sale reversed", rec(ledger.ClearingReversal, 999, "", "", 3), host.ClearingPosted, 5200, kafka.TypeLedgerCleared},
		{"reversed again (another ARN key: nothing left)", rec(ledger.ClearingReversal, 999, "", "", 3), host.ClearingDuplicate, 5200, ""},
		{"a reversal of nothing", rec(ledger.ClearingReversal, 100, "", "", 77), host.ClearingUnmatched, 5200, ""},
	}
	for _, s := range steps {
		res, err := e.engine.Clear(ctx, s.r)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if res.Outcome != s.outcome || res.RecordID == "" {
			t.Fatalf("%s: %+v, want %s", s.name, res, s.outcome)
		}
		if got := e.balance(own).Available; got != s.avail {
			t.Fatalf("%s: available %d, want %d", s.name, got, s.avail)
		}
		if s.event != "" {
			typ, d := e.moneyEvent(card.ID)
			if typ != s.event || d.BalanceAfter != s.avail || d.Reference != s.r.ARN || (s.event == kafka.TypeLedgerForcePosted) != d.Flagged {
				t.Fatalf("%s: event %s %+v", s.name, typ, d)
			}
		}
	}
	if got := strings.Join(e.kinds(card.ID), " "); got != "recharge hold hold post post debit force_post refund credit" {
		t.Fatalf("transfers %s", got)
	}
	var status string
	var cleared int64
	if err := e.db.Pool().QueryRow(ctx, `SELECT status, cleared_amount FROM authorizations WHERE card_id = $1 AND stan = '000401' AND kind = 'authorization'`,
		card.ID).Scan(&status, &cleared); err != nil || status != "CAPTURED" || cleared != 2300 {
		t.Fatalf("the lunch authorization: %s cleared %d (%v)", status, cleared, err)
	}
	// Refused records change nothing.
	other := rec(ledger.ClearingPurchase, 100, "", "", 90)
	other.PAN = emv.PAN(luhnComplete("411111111111111"))
	if _, err := e.engine.Clear(ctx, other); !errors.Is(err, host.ErrUnknownCard) {
		t.Fatalf("unknown card: %v", err)
	}
	euro := rec(ledger.ClearingPurchase, 100, "", "", 91)
	euro.Currency = "EUR"
	if _, err := e.engine.Clear(ctx, euro); !errors.Is(err, host.ErrCurrencyMismatch) {
		t.Fatalf("another currency: %v", err)
	}
	e.checkLedger()
}

// TestClearingLimitCard: a LIMIT card's presentment is matched and moves
// its spend as a capture does, without transfers.
func TestClearingLimitCard(t *testing.T) {
	e := newHostEnv(t)
	card := e.newCard(cardOpts{limit: p64(5000)})
	m := msg{amount: 1000, stan: "000501", transmission: "0601160000", rrn: "612345000501"}
	a := e.auth(card, m)
	res, err := e.engine.Clear(context.Background(), ledger.ClearingRecord{Type: ledger.ClearingPurchase, PAN: emv.PAN(card.PAN), Amount: 1200,
		Currency: "USD", ApprovalCode: a.approval, RRN: m.rrn, ARN: arn(5), MCC: "5411", Merchant: "SHOP"})
	if err != nil || res.Outcome != host.ClearingPosted {
		t.Fatalf("%+v %v", res, err)
	}
	if _, total, _ := e.cardState(card.ID); total != 1200 {
		t.Fatalf("total spent %d, want 1200", total)
	}
	if k := e.kinds(card.ID); len(k) != 0 {
		t.Fatalf("a LIMIT card moved money: %v", k)
	}
	e.checkLedger()
}

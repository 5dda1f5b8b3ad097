package host_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/issuance"
	cvv2rules "github.com/cardhost/cardhost/issuance/cvv2"
	"github.com/cardhost/cardhost/kafka"
)

// lastReason is the reason of the card's newest authorization event.
func (e *hostEnv) lastReason(cardID string) string {
	e.t.Helper()
	var d kafka.AuthorizationData
	if err := e.lastEvent(cardID).DecodeData(&d); err != nil {
		e.t.Fatal(err)
	}
	return d.Reason
}

// TestCVV2TriesPersistAndReset, over TCP and PostgreSQL: wrong CVV2s are
// counted in the card row by the commit path (declines write it), a right
// one resets the count; at the product's limit every card-not-present
// request declines, the right CVV2 included, on this instance and on
// another one with a cold cache; the issuer's reset (issuance/cvv2, the
// REST API's service) is seen at once by the instance that cached the
// locked card, and is audited and published.
func TestCVV2TriesPersistAndReset(t *testing.T) {
	e := newHostEnv(t)
	card := e.newCard(cardOpts{cvv2MaxTries: 3})
	right := cvv2(t, card)
	wrong := wrongCVV2(right)
	step := func(what string, m msg, code string, reason host.Reason, tries int) {
		t.Helper()
		if a := e.auth(card, m); a.code != code {
			t.Fatalf("%s: answered %s, want %s", what, a.code, code)
		}
		if got := e.lastReason(card.ID); got != string(reason) {
			t.Fatalf("%s: reason %s, want %s", what, got, reason)
		}
		if n := e.cvv2Tries(card.ID); n != tries {
			t.Fatalf("%s: %d wrong CVV2s stored, want %d", what, n, tries)
		}
	}
	step("first wrong CVV2", msg{cvv2: wrong}, "82", host.ReasonCVV2Invalid, 1)
	step("second wrong CVV2", msg{cvv2: wrong}, "82", host.ReasonCVV2Invalid, 2)
	step("right CVV2", msg{cvv2: right}, "00", host.ReasonApproved, 0)
	step("first wrong CVV2 again", msg{cvv2: wrong}, "82", host.ReasonCVV2Invalid, 1)
	step("a decline for another reason keeps the count", msg{cvv2: right, zeroAmount: true}, "13", host.ReasonInvalidAmount, 1)
	step("second wrong CVV2 again", msg{cvv2: wrong}, "82", host.ReasonCVV2Invalid, 2)
	step("third wrong CVV2: the limit", msg{cvv2: wrong}, "82", host.ReasonCVV2TriesExceeded, 3)
	step("the right CVV2 is no longer told apart", msg{cvv2: right}, "82", host.ReasonCVV2TriesExceeded, 3)
	step("nor a key entry without CVV2", msg{entry: "012", noCVV2: true}, "82", host.ReasonCVV2TriesExceeded, 3)
	step("card present still works", msg{entry: "901", track2: track2(t, card, true)}, "00", host.ReasonApproved, 3)

	other := e.instance()
	if a := e.send(other, e.build(card, msg{cvv2: right})); a.code != "82" || e.lastReason(card.ID) != string(host.ReasonCVV2TriesExceeded) {
		t.Fatalf("another instance answered %s (%s), want 82 cvv2_tries_exceeded from the stored count", a.code, e.lastReason(card.ID))
	}

	var version int64
	e.db.Pool().QueryRow(context.Background(), `SELECT version FROM cards WHERE id = $1`, card.ID).Scan(&version)
	svc := cvv2rules.New(issuance.Deps{Cards: e.db})
	actor := issuance.Actor{APIKeyID: "key_test", RequestID: "req_reset"}
	if _, err := svc.ResetTries(context.Background(), actor, e.tenant, card.ID); err != nil {
		t.Fatal(err)
	}
	var after int64
	e.db.Pool().QueryRow(context.Background(), `SELECT version FROM cards WHERE id = $1`, card.ID).Scan(&after)
	if after <= version || e.cvv2Tries(card.ID) != 0 {
		t.Fatalf("reset: version %d -> %d, %d tries", version, after, e.cvv2Tries(card.ID))
	}
	if evs := e.events(card.ID); evs[len(evs)-1] != kafka.TypeCardCVV2TriesReset {
		t.Fatalf("events %v, want card.cvv2_tries_reset last", evs)
	}
	trail, err := e.db.AuditTrail(context.Background(), e.tenant, card.ID)
	if err != nil || len(trail) != 1 || trail[0].Action != cvv2rules.AuditTriesReset || trail[0].APIKeyID != "key_test" || trail[0].RequestID != "req_reset" {
		t.Fatalf("audit trail %+v (%v)", trail, err)
	}
	// This instance's cache holds the locked snapshot: the commit finds
	// the card changed and decides again on the reset card.
	step("right CVV2 after the reset", msg{cvv2: right}, "00", host.ReasonApproved, 0)
	if _, err := svc.ResetTries(context.Background(), actor, "ten_other", card.ID); err != issuance.ErrNotFound {
		t.Fatalf("another tenant's reset: %v, want ErrNotFound", err)
	}
}

// TestMerchantBlockedAfterBINAttack, over TCP and PostgreSQL: a merchant
// whose card-not-present requests fail verification on ten distinct cards
// (unknown card numbers, a wrong CVV2 of a real card) is blocked: its
// card-not-present requests decline 59 merchant_blocked, for an unknown
// card as for a known one with the right expiry and CVV2; card-present
// requests and other merchants are not affected; the issuer whose card it
// hit gets merchant.blocked; the decisions are counted by reason.
func TestMerchantBlockedAfterBINAttack(t *testing.T) {
	e := newHostEnv(t)
	card := e.newCard(cardOpts{})
	const attacker = "BINATTACK000001"
	if a := e.auth(card, msg{merchant: attacker, cvv2: wrongCVV2(cvv2(t, card))}); a.code != "82" {
		t.Fatalf("wrong CVV2 answered %s", a.code)
	}
	for i := range 9 {
		guess := testCard{PAN: luhnComplete(fmt.Sprintf("499999%09d", i)), Expiry: card.Expiry}
		if a := e.auth(guess, msg{merchant: attacker}); a.code != "14" {
			t.Fatalf("guess %d answered %s, want 14 (then 59 once blocked)", i, a.code)
		}
	}
	if a := e.auth(card, msg{merchant: attacker}); a.code != "59" || e.lastReason(card.ID) != string(host.ReasonMerchantBlocked) {
		t.Fatalf("the real card at the blocked merchant answered %s (%s), want 59 merchant_blocked", a.code, e.lastReason(card.ID))
	}
	unknown := testCard{PAN: luhnComplete("499999999999999"), Expiry: card.Expiry}
	if a := e.auth(unknown, msg{merchant: attacker}); a.code != "59" {
		t.Fatalf("an unknown card at the blocked merchant answered %s, want 59 (not 14)", a.code)
	}
	if a := e.auth(card, msg{merchant: attacker, entry: "901", track2: track2(t, card, true)}); a.code != "00" {
		t.Fatalf("card present at the blocked merchant answered %s, want 00", a.code)
	}
	if a := e.auth(card, msg{}); a.code != "00" {
		t.Fatalf("another merchant answered %s, want 00", a.code)
	}
	var d kafka.MerchantData
	deadline := time.Now().Add(5 * time.Second)
	for {
		var ev kafka.Event
		err := e.db.Pool().QueryRow(context.Background(), `SELECT type, subject, tenant_id, data FROM outbox WHERE type = $1`,
			kafka.TypeMerchantBlocked).Scan(&ev.Type, &ev.Subject, &ev.TenantID, &ev.Data)
		if err == nil {
			if err := ev.DecodeData(&d); err != nil {
				t.Fatal(err)
			}
			if ev.Subject != acquirerID+"/"+attacker || ev.TenantID != e.tenant {
				t.Fatalf("merchant.blocked subject %s tenant %s", ev.Subject, ev.TenantID)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no merchant.blocked event: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d.MerchantID != attacker || d.AcquirerID != acquirerID || !slices.Equal(d.CardIDs, []string{card.ID}) || d.FailedCards != 10 ||
		d.FailedRequests != 10 || d.Requests != 10 || !d.BlockedUntil.After(d.BlockedAt) {
		t.Fatalf("merchant.blocked %+v", d)
	}
	if n := decisionCount(t, e.reg, host.ReasonMerchantBlocked); n != 2 {
		t.Fatalf("%v merchant_blocked decisions counted, want 2", n)
	}
}

// decisionCount returns cardhost_host_decisions_total for a reason.
func decisionCount(t *testing.T, reg *prometheus.Registry, reason host.Reason) float64 {
	return metric(t, reg, "cardhost_host_decisions_total", "reason", string(reason)).GetCounter().GetValue()
}

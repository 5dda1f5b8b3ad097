package host_test

import (
	"context"
	"maps"
	"sync"
	"testing"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/iso"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/postgres"
)

// countingHSM counts the HSM's verifications by operation.
type countingHSM struct {
	host.Verifier
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingHSM) count(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[op]++
}

func (c *countingHSM) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	calls := c.calls
	c.calls = map[string]int{}
	return calls
}

func (c *countingHSM) VerifyARQC(ctx context.Context, a emv.ARQCCheck) (emv.ARQCResult, error) {
	c.count("arqc")
	return c.Verifier.VerifyARQC(ctx, a)
}
func (c *countingHSM) GenerateARPC(ctx context.Context, a emv.ARQCCheck, v int, rc string) ([]byte, error) {
	c.count("arpc")
	return c.Verifier.GenerateARPC(ctx, a, v, rc)
}
func (c *countingHSM) VerifyCVV(ctx context.Context, ref string, pan emv.PAN, exp, sc string, cvv emv.CVV) (bool, error) {
	c.count("cvv")
	return c.Verifier.VerifyCVV(ctx, ref, pan, exp, sc, cvv)
}
func (c *countingHSM) VerifyICVV(ctx context.Context, ref string, pan emv.PAN, exp string, cvv emv.CVV) (bool, error) {
	c.count("icvv")
	return c.Verifier.VerifyICVV(ctx, ref, pan, exp, cvv)
}
func (c *countingHSM) VerifyCVV2(ctx context.Context, ref string, pan emv.PAN, exp string, cvv emv.CVV) (bool, error) {
	c.count("cvv2")
	return c.Verifier.VerifyCVV2(ctx, ref, pan, exp, cvv)
}
func (c *countingHSM) VerifyPIN(ctx context.Context, in emv.EncryptedPIN, pan emv.PAN, pc emv.PINCheck) (bool, error) {
	c.count("pin")
	return c.Verifier.VerifyPIN(ctx, in, pan, pc)
}

// rivalLedger plays another instance: before each of the next commits of a
// card it changes the card (its version), so those commits are stale. It
// counts the optimistic and locked commits.
type rivalLedger struct {
	host.Ledger
	db              *postgres.DB
	mu              sync.Mutex
	spoil           map[string]int
	commits, locked int
}

func (r *rivalLedger) Commit(ctx context.Context, c *host.Commit) (host.CommitOutcome, *host.Authorization, error) {
	r.mu.Lock()
	spoil := r.spoil[c.CardID] > 0
	if spoil {
		r.spoil[c.CardID]--
	}
	r.commits++
	r.mu.Unlock()
	if spoil {
		if _, err := r.db.Pool().Exec(ctx, `UPDATE cards SET version = version + 1 WHERE id = $1`, c.CardID); err != nil {
			return 0, nil, err
		}
	}
	return r.Ledger.Commit(ctx, c)
}

func (r *rivalLedger) CommitLocked(ctx context.Context, id string, decide func(*host.Card) (*host.Commit, error)) (host.CommitOutcome, *host.Authorization, error) {
	r.mu.Lock()
	r.locked++
	r.mu.Unlock()
	return r.Ledger.CommitLocked(ctx, id, decide)
}

// TestStaleCommitReusesCryptography: a commit that finds the card changed
// decides the request again on the fresh card, but the cryptography of the
// request is not computed again: each HSM verification (ARQC, iCVV, CVV,
// CVV2, PIN) and the ARPC runs once per request, after one stale commit as
// after three (the locked fallback), and the answer is the same.
func TestStaleCommitReusesCryptography(t *testing.T) {
	hsm := &countingHSM{calls: map[string]int{}}
	rival := &rivalLedger{spoil: map[string]int{}}
	e := newHostEnvWith(t, func(l host.Ledger, v host.Verifier) (host.Ledger, host.Verifier) {
		rival.Ledger, hsm.Verifier = l, v
		return rival, hsm
	})
	rival.db = e.db
	term, err := terminal.NewTerminal(terminal.TerminalConfig{AcquirerID: acquirerID, ZPK: clearZPK})
	if err != nil {
		t.Fatal(err)
	}
	// Each request kind makes its card and returns the card's id and a
	// function that sends the request and returns the answer's code.
	for _, rq := range []struct {
		name string
		card func(t *testing.T) (string, func() string)
		want map[string]int
	}{
		{"chip and PIN", func(t *testing.T) (string, func() string) {
			card := e.chipCard(t, issuance.NetworkVisa, 10, cardOpts{pin: "1234"})
			return card.ID, func() string {
				res := e.purchase(t, term, card, 1000, terminal.TxnOptions{Entry: terminal.EntryChip, PIN: "1234"})
				if res.ARPC.Status != terminal.ARPCValid {
					t.Errorf("ARPC %s %s", res.ARPC.Status, res.ARPC.Detail)
				}
				return string(res.Code)
			}
		}, map[string]int{"arqc": 1, "icvv": 1, "pin": 1, "arpc": 1}},
		{"magstripe and PIN", func(t *testing.T) (string, func() string) {
			card := e.newCard(cardOpts{pin: "4321"})
			return card.ID, func() string {
				return e.auth(card, msg{entry: "901", track2: track2(t, card, true), pinBlock: pinBlock(t, "4321", card.PAN)}).code
			}
		}, map[string]int{"cvv": 1, "pin": 1}},
		{"e-commerce with CVV2", func(t *testing.T) (string, func() string) {
			card := e.newCard(cardOpts{})
			return card.ID, func() string { return e.auth(card, msg{cvv2: cvv2(t, card)}).code }
		}, map[string]int{"cvv2": 1}},
	} {
		for _, tc := range []struct {
			name            string
			stale           int // commits made stale by the rival
			commits, locked int // optimistic and locked commits expected
		}{
			{"one stale commit", 1, 2, 0},
			{"locked fallback", 3, 3, 1},
		} {
			t.Run(rq.name+"/"+tc.name, func(t *testing.T) {
				id, send := rq.card(t)
				rival.mu.Lock()
				rival.spoil[id], rival.commits, rival.locked = tc.stale, 0, 0
				rival.mu.Unlock()
				hsm.take()
				if code := send(); code != string(iso.Approved) {
					t.Fatalf("answered %s, want 00", code)
				}
				rival.mu.Lock()
				commits, locked := rival.commits, rival.locked
				rival.mu.Unlock()
				if commits != tc.commits || locked != tc.locked {
					t.Fatalf("%d optimistic and %d locked commits, want %d and %d", commits, locked, tc.commits, tc.locked)
				}
				if calls := hsm.take(); !maps.Equal(calls, rq.want) {
					t.Fatalf("HSM calls %v, want %v (once per request)", calls, rq.want)
				}
			})
		}
	}
}

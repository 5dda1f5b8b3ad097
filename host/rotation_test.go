package host_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/issuance"
)

// TestKeyRotationKeepsEveryCard rotates each kind of key a card or an
// acquirer depends on and then uses a card made before the rotation: the
// card is still found, its CVV2, track CVV, chip cryptogram and PIN still
// verify, the acquirer's PIN blocks under the old zone PIN key still
// decipher and the sealed PAN still opens (issue 12, point 6).
func TestKeyRotationKeepsEveryCard(t *testing.T) {
	e, ctx := newHostEnv(t), context.Background()
	term, err := terminal.NewTerminal(terminal.TerminalConfig{AcquirerID: acquirerID, ZPK: clearZPK})
	if err != nil {
		t.Fatal(err)
	}
	// use authorizes card every way it can be used: e-commerce with CVV2,
	// magnetic stripe with PIN, chip.
	use := func(t *testing.T, card testCard, chip *terminal.Card) {
		t.Helper()
		if a := e.auth(card, msg{cvv2: cvv2(t, card), expiry: card.Expiry}); a.code != "00" {
			t.Fatalf("e-commerce with CVV2 answered %s", a.code)
		}
		if a := e.auth(card, msg{entry: "901", track2: track2(t, card, true), pinBlock: pinBlock(t, "4321", card.PAN)}); a.code != "00" {
			t.Fatalf("magnetic stripe with PIN answered %s", a.code)
		}
		if chip != nil {
			if res := e.purchase(t, term, chip, 100, terminal.TxnOptions{Entry: "chip"}); res.Code != "00" || res.ARPC.Status != terminal.ARPCValid {
				t.Fatalf("chip answered %s, ARPC %s %s", res.Code, res.ARPC.Status, res.ARPC.Detail)
			}
		}
	}
	for _, kind := range []emv.KeyType{emv.KeyPANIDX, emv.KeyPANDEK, emv.KeyCVK, emv.KeyIMKAC, emv.KeyPVK, emv.KeyZPK} {
		t.Run(string(kind), func(t *testing.T) {
			used := e.newCard(cardOpts{pin: "4321"})                               // in the engine's cache
			cold := e.chipCard(t, issuance.NetworkVisa, 10, cardOpts{pin: "4321"}) // read from the ledger
			coldCard := testCard{ID: cold.ID, PAN: cold.PAN.Reveal(), Expiry: cold.Expiry}
			use(t, used, nil)
			if _, err := e.hsm.Rotate(ctx, e.keys[kind], time.Time{}); err != nil {
				t.Fatal(err)
			}
			use(t, used, nil)
			use(t, coldCard, cold)
			var sealed []byte
			if err := e.db.Pool().QueryRow(ctx, `SELECT pan_cipher FROM cards WHERE id = $1`, used.ID).Scan(&sealed); err != nil {
				t.Fatal(err)
			}
			if pan, err := e.hsm.OpenPAN(ctx, e.keys[emv.KeyPANDEK], e.tenant, used.ID, sealed); err != nil || pan.Reveal() != used.PAN {
				t.Fatalf("opening the sealed PAN after the rotation: %v", err)
			}
		})
	}
}

// TestPANIndexRotationReindexesTouchedCards: after a rotation of the
// PAN-index key a card is found under its old index, and moved to the new
// version by its next authorization once every instance knows that version
// (two HSM key-cache lifetimes after its activation).
func TestPANIndexRotationReindexesTouchedCards(t *testing.T) {
	e, ctx := newHostEnv(t), context.Background()
	card := e.newCard(cardOpts{})
	index := func() []byte {
		t.Helper()
		var b []byte
		if err := e.db.Pool().QueryRow(ctx, `SELECT pan_index FROM cards WHERE id = $1`, card.ID).Scan(&b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	old := index()
	if _, err := e.hsm.Rotate(ctx, e.keys[emv.KeyPANIDX], time.Time{}); err != nil {
		t.Fatal(err)
	}
	newest, err := e.hsm.IndexPAN(ctx, e.keys[emv.KeyPANIDX], emv.PAN(card.PAN))
	if err != nil || bytes.Equal(newest, old) {
		t.Fatalf("index under the new version: %v (equal to the old: %v)", err, bytes.Equal(newest, old))
	}
	// Until every instance knows the new version, cards stay where they are.
	if a := e.auth(card, msg{cvv2: cvv2(t, card), expiry: card.Expiry}); a.code != "00" {
		t.Fatalf("first authorization after the rotation answered %s", a.code)
	}
	if !bytes.Equal(index(), old) {
		t.Fatal("the card was moved to a PAN-index version other instances may not know yet")
	}
	e.hsmAhead.Store(int64(11 * time.Minute))
	if a := e.auth(card, msg{cvv2: cvv2(t, card), expiry: card.Expiry}); a.code != "00" {
		t.Fatalf("authorization once the new version settled answered %s", a.code)
	}
	if !bytes.Equal(index(), newest) {
		t.Fatal("the card was not re-indexed under the newest PAN-index version")
	}
}

// TestIBM3624WrongLengthPINIsWrongPIN: a PIN of another length than the
// one set for an IBM 3624 (offset) card is a wrong PIN: 55, counted in the
// card's PIN tries, not 96 (issue 12, point 10).
func TestIBM3624WrongLengthPINIsWrongPIN(t *testing.T) {
	e := newHostEnv(t)
	card := e.newCard(cardOpts{})
	vd, err := emv.PINValidationData(card.PAN, len(card.PAN)-13, 12, 'F')
	if err != nil {
		t.Fatal(err)
	}
	offset, err := emv.IBM3624Offset(clearPVK, "4321", vd, emv.DefaultDecimalizationTable)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Pool().Exec(context.Background(), `UPDATE cards SET pin_method = 'IBM3624', pin_verify = $2 WHERE id = $1`, card.ID, offset); err != nil {
		t.Fatal(err)
	}
	mag := func(pin string) string {
		return e.auth(card, msg{entry: "901", track2: track2(t, card, true), pinBlock: pinBlock(t, pin, card.PAN)}).code
	}
	if code := mag("4321"); code != "00" {
		t.Fatalf("right PIN answered %s", code)
	}
	if code := mag("43210"); code != "55" {
		t.Fatalf("a 5-digit PIN for a 4-digit offset answered %s, want 55", code)
	}
	if _, _, tries := e.cardState(card.ID); tries != 1 {
		t.Fatalf("pin_tries = %d, want 1", tries)
	}
}

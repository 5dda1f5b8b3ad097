package host_test

import (
	"context"
	"testing"

	"github.com/cardhost/cardhost/emv"
)

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

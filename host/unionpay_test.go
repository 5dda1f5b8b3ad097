package host_test

import (
	"testing"

	"github.com/cardhost/cardhost/issuance"
)

// TestUnionPayStripeAndCardNotPresent authorizes a UnionPay card (a
// 19-digit 62 PAN) on the channels without a chip: the stripe with its CVV
// and PIN, and e-commerce with CVV2 and 3-D Secure ECIs read as UnionPay's
// (05 authenticated, like Visa's; Mastercard's 02 means nothing). The
// response codes are the other networks'. Chip and contactless are in
// TestChipEveryCVN.
func TestUnionPayStripeAndCardNotPresent(t *testing.T) {
	e := newHostEnv(t)
	off := false
	card := e.newCard(cardOpts{network: issuance.NetworkUnionPay, cvn: 1, pin: "2468"})
	if len(card.PAN) != 19 || card.PAN[:2] != "62" {
		t.Fatalf("test card PAN of %d digits, want a 19-digit UnionPay PAN", len(card.PAN))
	}
	no3DS := e.newCard(cardOpts{network: issuance.NetworkUnionPay, cvn: 1, risk: issuance.RiskControls{Allow3DSTransactions: &off}})
	good := cvv2(t, card)
	for _, tc := range []struct {
		name string
		card testCard
		m    msg
		code string
	}{
		{"stripe with CVV and PIN", card, msg{entry: "901", track2: track2(t, card, true), pinBlock: pinBlock(t, "2468", card.PAN)}, "00"},
		{"stripe with a wrong CVV", card, msg{entry: "901", track2: track2(t, card, false)}, "82"},
		{"stripe with a wrong PIN", card, msg{entry: "901", track2: track2(t, card, true), pinBlock: pinBlock(t, "1357", card.PAN)}, "55"},
		{"e-commerce with CVV2", card, msg{cvv2: good}, "00"},
		{"e-commerce with a wrong CVV2", card, msg{cvv2: wrongCVV2(good)}, "82"},
		{"e-commerce without field 14", card, msg{noExpiry: true}, "30"},
		{"3-D Secure ECI 05 on a card refusing it", no3DS, msg{eci: "05"}, "57"},
		{"ECI 07 on that card", no3DS, msg{eci: "07"}, "00"},
		{"Mastercard's ECI 02 on that card", no3DS, msg{eci: "02"}, "00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if a := e.auth(tc.card, tc.m); a.code != tc.code {
				t.Fatalf("answered %s, want %s", a.code, tc.code)
			}
		})
	}
}

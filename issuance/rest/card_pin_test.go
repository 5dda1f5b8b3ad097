package rest_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"slices"
	"testing"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/pinblock"
	"github.com/cardhost/cardhost/emv/softhsm"
)

// issuerPINKey is an issuer key with a cardhost certificate.
type issuerPINKey struct {
	key *ecdsa.PrivateKey
	ref string // hsm_key_reference
}

func newIssuerPINKey(t *testing.T, ce *cardEnv) issuerPINKey {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var c certOut
	mustStatus(t, ce.do("POST", "/v1/certificates", map[string]any{"certificate_request_pem": base64.StdEncoding.EncodeToString(pemCSR(csrFor(t, key)))}), 201).JSON(t, &c)
	return issuerPINKey{key: key, ref: c.HSMKeyReference}
}

// block builds a PIN-set block with the client code of the example.
func (k issuerPINKey) block(t *testing.T, ce *cardEnv, pan, pin string) string {
	t.Helper()
	var pk struct {
		PEM string `json:"public_key_pem"`
	}
	mustStatus(t, ce.do("GET", "/v1/hsm/public-key", nil), 200).JSON(t, &pk)
	priv, err := k.key.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	b, err := pinSetBlock(priv, pk.PEM, pan, pin)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// verifyPIN checks a PIN as the authorization host does: a format 0 block
// under an acquirer ZPK, verified against the card's stored PVV.
func verifyPIN(t *testing.T, ce *cardEnv, cardID, pan, pin string) bool {
	t.Helper()
	ctx := context.Background()
	c, err := ce.db.Card(ctx, ce.tenantID, cardID)
	if err != nil {
		t.Fatal(err)
	}
	if c.PINMethod != "PVV" || len(c.PINVerify) != 4 {
		t.Fatalf("card PIN data: method %q, %d-digit PVV", c.PINMethod, len(c.PINVerify))
	}
	zpkClear := make([]byte, 16)
	_, _ = rand.Read(zpkClear)
	zpk := importTestKey(t, ce.env, emv.KeyZPK, emv.KeySpecTDES2, emv.AdjustParity(zpkClear))
	blk, err := emv.NewTDES(emv.AdjustParity(zpkClear))
	if err != nil {
		t.Fatal(err)
	}
	b, err := pinblock.Encipher(pinblock.Format0, blk, []byte(pin), pan, nil)
	if err != nil {
		t.Fatal(err)
	}
	ok, err := ce.hsm.VerifyPIN(ctx, emv.EncryptedPIN{ZPKRef: zpk, Format: pinblock.Format0, Block: emv.PINBlock(emv.EncodeHex(b))},
		emv.PAN(pan), emv.PINCheck{Method: emv.PINMethodPVV, PVKRef: c.PVKRef, PVKI: c.PVKI, PVV: c.PINVerify})
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// importTestKey imports a shared key with a known clear value.
func importTestKey(t *testing.T, e *env, typ emv.KeyType, spec emv.KeySpec, clear []byte) string {
	t.Helper()
	c2 := bytes.Repeat([]byte{0x5A}, len(clear))
	c1 := make([]byte, len(clear))
	subtle.XORBytes(c1, clear, c2)
	alg := emv.AlgorithmTDES
	if spec == emv.KeySpecAES128 || spec == emv.KeySpecAES256 {
		alg = emv.AlgorithmAES
	}
	kcv, _ := emv.KCV(alg, clear)
	info, err := e.hsm.ImportComponents(context.Background(), softhsm.ImportRequest{
		KeyRequest: softhsm.KeyRequest{Type: typ, Spec: spec},
		Components: []emv.SecretBytes{c1, c2}, KCV: emv.EncodeHex(kcv),
	})
	if err != nil {
		t.Fatal(err)
	}
	return info.Ref
}

func TestPINSetEndToEnd(t *testing.T) {
	ce := newCardEnv(t)
	ctx := context.Background()
	issuer := newIssuerPINKey(t, ce)

	// At creation the PAN does not exist yet: the block is bound to the
	// placeholder PAN.
	c := ce.createCard(t, ce.cat.product, map[string]any{
		"enciphered_pin_block": issuer.block(t, ce, "000000000000", "1234"),
		"incoming_pek":         map[string]any{"key_reference": issuer.ref},
	})
	if !c.PINSet {
		t.Fatalf("card created without its PIN: %+v", c)
	}
	pan, _, _ := ce.reveal(t, c.CardID)
	if !verifyPIN(t, ce, c.CardID, pan, "1234") || verifyPIN(t, ce, c.CardID, pan, "1235") {
		t.Fatal("the PIN set at creation does not verify as the host checks it")
	}
	if ev := cardEvents(t, ce.db, c.CardID); !slices.Equal(ev, []string{"card.created", "card.pin_changed", "card.activated PROVISIONED", "order.completed"}) {
		t.Fatalf("events %v", ev)
	}

	// A PIN change binds the card's PAN and restarts the wrong-PIN counter.
	if _, err := ce.db.Pool().Exec(ctx, `UPDATE cards SET pin_tries = 2 WHERE id = $1`, c.CardID); err != nil {
		t.Fatal(err)
	}
	var got cardOut
	mustStatus(t, ce.do("POST", "/v1/cards/"+c.CardID+"/pin", map[string]any{
		"enciphered_pin_block": issuer.block(t, ce, pan, "9081"),
		"incoming_pek":         map[string]any{"key_reference": issuer.ref},
	}, "Idempotency-Key", "pin-1"), 200).JSON(t, &got)
	if !got.PINSet || !verifyPIN(t, ce, c.CardID, pan, "9081") || verifyPIN(t, ce, c.CardID, pan, "1234") {
		t.Fatal("the changed PIN does not verify (or the old one still does)")
	}
	var tries int
	if err := ce.db.Pool().QueryRow(ctx, `SELECT pin_tries FROM cards WHERE id = $1`, c.CardID).Scan(&tries); err != nil || tries != 0 {
		t.Fatalf("pin_tries %d after a PIN set (%v)", tries, err)
	}
	if n := len(cardEvents(t, ce.db, c.CardID)); n != 5 {
		t.Fatalf("%d events after the change, want 5", n)
	}

	other := newIssuerPINKey(t, ce)
	for _, tc := range []struct {
		name, block, ref string
		status           int
		slug             string
	}{
		{"unknown key reference", issuer.block(t, ce, pan, "1111"), "nope", 422, "incoming_pek_not_found"},
		{"bound to another PAN", issuer.block(t, ce, "4000001234567899", "1111"), issuer.ref, 422, "pin_block_invalid"},
		{"bound to the placeholder", issuer.block(t, ce, "000000000000", "1111"), issuer.ref, 422, "pin_block_invalid"},
		{"made with another issuer key", other.block(t, ce, pan, "1111"), issuer.ref, 422, "pin_block_invalid"},
		{"not a block", "00112233445566778899AABBCCDDEEFF", issuer.ref, 422, "pin_block_invalid"},
		{"a 16-hex block that is not a format 0 block under the agreed key (QPay's example)", "A1B2C3D4E5F60708", issuer.ref, 422, "pin_block_invalid"},
		{"too short", "00112233445566", issuer.ref, 422, "validation_failed"},
		{"between the two lengths", "00112233445566778899AABB", issuer.ref, 422, "validation_failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ce.do("POST", "/v1/cards/"+c.CardID+"/pin", map[string]any{"enciphered_pin_block": tc.block, "incoming_pek": map[string]any{"key_reference": tc.ref}})
			if r.Status != tc.status || r.problem(t).Slug != tc.slug {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		})
	}
	if !verifyPIN(t, ce, c.CardID, pan, "9081") {
		t.Fatal("a rejected PIN set changed the PIN")
	}
	// At creation, a block that does not decipher creates nothing.
	r := ce.do("POST", "/v1/cards", cardBody(ce.cat.product, map[string]any{"reference_id": "BAD-PIN",
		"enciphered_pin_block": issuer.block(t, ce, "4000001234567899", "1234"), "incoming_pek": map[string]any{"key_reference": issuer.ref}}))
	if r.Status != 422 || r.problem(t).Slug != "pin_block_invalid" {
		t.Fatalf("creation with a bad block: %d %s", r.Status, r.Body)
	}
	var list struct{ Data []cardOut }
	mustStatus(t, ce.do("GET", "/v1/cards?reference_id=BAD-PIN", nil), 200).JSON(t, &list)
	if len(list.Data) != 0 {
		t.Fatal("a card was created with a PIN block that does not decipher")
	}
	// Closed cards take no PIN.
	mustStatus(t, ce.do("POST", "/v1/cards/"+c.CardID+"/block", map[string]any{"reason": "fraud"}), 200)
	r = ce.do("POST", "/v1/cards/"+c.CardID+"/pin", map[string]any{"enciphered_pin_block": issuer.block(t, ce, pan, "2222"), "incoming_pek": map[string]any{"key_reference": issuer.ref}})
	if r.Status != 409 || r.problem(t).Slug != "card_closed" {
		t.Fatalf("PIN set on a blocked card: %d %s", r.Status, r.Body)
	}
}

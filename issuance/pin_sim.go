package issuance

import (
	"context"
	"crypto/aes"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/pinblock"
	"github.com/cardhost/cardhost/iso/digit"
)

// The sandbox simulator's PIN call sets a PIN from a clear test PIN. It
// goes through the real PIN-set path: cardhost plays the issuer with a
// one-off P-256 key, agrees a key with the HSM's ECDH key exactly as
// docs/hsm.md describes, enciphers a format 4 block and asks the HSM for
// the verification data. The clear PIN is also kept sealed (PAN-DEK,
// bound to the card) so that the sandbox personalisation export can hand
// it to the terminal simulator; a real PIN set deletes it.

// pinSetAlgorithmID is the KDF's AlgorithmID (docs/hsm.md).
const pinSetAlgorithmID = "cardhost:pin-set:iso9564-4:aes-256"

// SimulatorPINRequest is the body of POST /v1/simulator/cards/{id}/pin.
type SimulatorPINRequest struct {
	PIN emv.Sensitive `json:"pin" required:"true" doc:"a test PIN of the card's pin_length digits (sandbox only)"`
}

// sandboxPINBinding binds the sealed sandbox PIN to its card (the PAN-DEK
// seal's card id field), apart from the card's PAN seal.
func sandboxPINBinding(cardID string) string { return cardID + "/sandbox-pin" }

// SimulatorSetPIN sets a card's PIN from a clear test PIN (sandbox only)
// and publishes card.pin_changed. Rejections: sandbox_only,
// validation_failed, card_closed, pin_not_supported; ErrNotFound.
func (s *Service) SimulatorSetPIN(ctx context.Context, a Actor, tenantID, cardID string, req SimulatorPINRequest) (Card, error) {
	if !a.Sandbox {
		return Card{}, Errorf(SlugSandboxOnly, "the simulator exists only in sandbox mode")
	}
	c, err := s.d.Cards.Card(ctx, tenantID, cardID)
	if err != nil {
		return Card{}, err
	}
	pin := req.PIN.Reveal()
	var v Validator
	v.Check(pin != "" && digit.All(pin) && len(pin) == c.PINLength, "pin", "invalid", fmt.Sprintf("%d digits (the card's pin_length)", c.PINLength))
	if err := v.Err(); err != nil {
		return Card{}, err
	}
	check, err := s.pinCheck(ctx, &c)
	if err != nil {
		return Card{}, err
	}
	pan, err := s.openPAN(ctx, &c)
	if err != nil {
		return Card{}, err
	}
	hsm, err := s.d.Vault.ECDHPublicKey(ctx, s.d.Keys.ECDH)
	if err != nil {
		return Card{}, fmt.Errorf("reading the HSM's ECDH key: %w", err)
	}
	issuerPub, block, err := encipherPINForSet(hsm.Point, pan, []byte(pin))
	if err != nil {
		return Card{}, err
	}
	data, err := s.d.Vault.SetPIN(ctx, emv.PINSet{ECDHRef: s.d.Keys.ECDH, IssuerPublicKey: issuerPub, Block: block, PAN: pan}, check)
	if err != nil {
		return Card{}, fmt.Errorf("setting sandbox PIN: %w", err)
	}
	sealed, err := s.d.Vault.SealPAN(ctx, s.d.Keys.PANDEK, c.TenantID, sandboxPINBinding(c.ID), emv.PAN(pin))
	if err != nil {
		return Card{}, fmt.Errorf("sealing sandbox PIN: %w", err)
	}
	return s.storePIN(ctx, &c, data, sealed, a.audit(AuditSandboxPIN, &c, s))
}

// encipherPINForSet is the issuer's side of the PIN set (docs/api.md):
// ECDH with a fresh P-256 key against the HSM's public point, the SP
// 800-56C one-step KDF (SHA-256) over the docs/hsm.md FixedInfo, and an ISO
// 9564 format 4 block for pin and pan under the result. It returns the
// fresh public key (uncompressed point) and the block in hex.
func encipherPINForSet(hsmPoint []byte, pan emv.PAN, pin []byte) ([]byte, emv.PINBlock, error) {
	hsmPub, err := ecdh.P256().NewPublicKey(hsmPoint)
	if err != nil {
		return nil, "", fmt.Errorf("reading the HSM's ECDH key: %w", err)
	}
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, "", fmt.Errorf("generating PIN-set key: %w", err)
	}
	z, err := priv.ECDH(hsmPub)
	if err != nil {
		return nil, "", fmt.Errorf("agreeing PIN-set key: %w", err)
	}
	defer emv.SecretBytes(z).Wipe()
	issuerPub := priv.PublicKey().Bytes()
	key := pinSetKey(z, issuerPub, hsmPoint)
	defer key.Wipe()
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, "", fmt.Errorf("agreeing PIN-set key: %w", err)
	}
	b, err := pinblock.Encipher(pinblock.Format4, blk, pin, pan.Reveal(), rand.Reader)
	if err != nil {
		return nil, "", fmt.Errorf("building PIN block: %w", err)
	}
	return issuerPub, emv.PINBlock(emv.EncodeHex(b)), nil
}

// pinSetKey is NIST SP 800-56C rev. 2 one-step KDF with SHA-256 (one
// block: 32 bytes) over z and FixedInfo = AlgorithmID ‖ issuer point ‖ HSM
// point ‖ 256, each field but the last prefixed by its 4-byte length.
func pinSetKey(z, issuerPub, hsmPub []byte) emv.SecretBytes {
	h := sha256.New()
	h.Write([]byte{0, 0, 0, 1})
	h.Write(z)
	for _, f := range [][]byte{[]byte(pinSetAlgorithmID), issuerPub, hsmPub} {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(f))))
		h.Write(f)
	}
	h.Write(binary.BigEndian.AppendUint32(nil, 256))
	return h.Sum(nil)
}

package issuance

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/iso/digit"
)

// The sandbox simulator's PIN call sets a PIN from a clear test PIN. It
// goes through the real PIN-set path: cardhost plays the issuer with a
// one-off P-256 key, agrees a key with the HSM's ECDH key exactly as
// docs/hsm.md describes, enciphers a format 4 block and asks the HSM for
// the verification data. The clear PIN is also kept sealed (PAN-DEK,
// bound to the card) so that the sandbox personalisation export can hand
// it to the terminal simulator; a real PIN set deletes it.

// SimulatorPINRequest is the body of POST /v1/simulator/cards/{id}/pin.
type SimulatorPINRequest struct {
	PIN emv.PIN `json:"pin" required:"true" doc:"a test PIN of the card's pin_length digits (sandbox only)"`
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
	var v Validator
	v.Check(req.PIN != "" && digit.All(req.PIN.Reveal()) && len(req.PIN) == c.PINLength, "pin", "invalid", fmt.Sprintf("%d digits (the card's pin_length)", c.PINLength))
	if err := v.Err(); err != nil {
		return Card{}, err
	}
	check, err := s.pinCheck(ctx, &c)
	if err != nil {
		return Card{}, err
	}
	pan, err := s.OpenPAN(ctx, &c)
	if err != nil {
		return Card{}, err
	}
	hsm, err := s.d.Vault.ECDHPublicKey(ctx, s.d.Keys.ECDH)
	if err != nil {
		return Card{}, fmt.Errorf("reading the HSM's ECDH key: %w", err)
	}
	issuerPub, block, err := emv.EncipherPINForSet(hsm.Point, pan, []byte(req.PIN.Reveal()), rand.Reader)
	if err != nil {
		return Card{}, err
	}
	data, err := s.d.Vault.SetPIN(ctx, emv.PINSet{ECDHRef: s.d.Keys.ECDH, IssuerPublicKey: issuerPub, Block: block, PAN: pan}, check)
	if err != nil {
		return Card{}, fmt.Errorf("setting sandbox PIN: %w", err)
	}
	sealed, err := s.d.Vault.SealPIN(ctx, s.d.Keys.PANDEK, c.TenantID, sandboxPINBinding(c.ID), req.PIN)
	if err != nil {
		return Card{}, fmt.Errorf("sealing sandbox PIN: %w", err)
	}
	return s.storePIN(ctx, &c, data, sealed, a.audit(AuditSandboxPIN, &c, s))
}

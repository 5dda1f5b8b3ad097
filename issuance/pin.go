package issuance

import (
	"context"
	"errors"
	"fmt"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/kafka"
)

// PIN set (DESIGN.md "PIN set over REST"): the issuer agrees a key with the
// HSM's ECDH key from its certificate's key (ECDH P-256, SP 800-56C
// one-step KDF, docs/hsm.md) and sends the PIN as an ISO 9564 format 4
// block under it. The HSM turns it into verification data (PVV or IBM 3624
// offset) with the card's PVK; cardhost stores only that, and never sees
// the PIN.

// PINSetPlaceholderPAN is the PAN a PIN block sent with the card creation
// request is bound to (the card's PAN does not exist yet): the format 4
// PAN field of twelve zeros. Later PIN sets bind the card's PAN.
const PINSetPlaceholderPAN = emv.PINSetPlaceholderPAN

// PINSetRequest is the body of POST /v1/cards/{id}/pin.
type PINSetRequest struct {
	EncipheredPINBlock emv.PINBlock `json:"enciphered_pin_block" required:"true" doc:"ISO 9564 format 4 PIN block (32 hex), or format 0 (16 hex), for the card's PAN, enciphered under the ECDH-agreed key"`
	IncomingPEK        *PEKRef      `json:"incoming_pek" required:"true"`
}

// SetPIN sets a card's PIN from an enciphered PIN block and publishes
// card.pin_changed; the wrong-PIN counter restarts. Rejections:
// validation_failed, card_closed, pin_not_supported,
// incoming_pek_not_found, pin_block_invalid; ErrNotFound.
func (s *Service) SetPIN(ctx context.Context, tenantID, cardID string, req PINSetRequest) (Card, error) {
	var v Validator
	v.Check(req.EncipheredPINBlock != "", "enciphered_pin_block", "required", "the enciphered PIN block")
	validatePINSet(&v, req.EncipheredPINBlock, req.IncomingPEK)
	if err := v.Err(); err != nil {
		return Card{}, err
	}
	c, err := s.d.Cards.Card(ctx, tenantID, cardID)
	if err != nil {
		return Card{}, err
	}
	check, err := s.pinCheck(ctx, &c)
	if err != nil {
		return Card{}, err
	}
	key, _, err := s.d.Catalog.IssuerPublicKey(ctx, tenantID, req.IncomingPEK.KeyReference)
	if errors.Is(err, ErrNotFound) {
		return Card{}, &Error{Slug: SlugIncomingPEKNotFound, Message: "no unexpired issuer certificate has this hsm_key_reference",
			Fields: []FieldError{{Field: "incoming_pek.key_reference", Code: "not_found", Message: "import a certificate first (POST /v1/certificates)"}}}
	}
	if err != nil {
		return Card{}, fmt.Errorf("reading issuer public key: %w", err)
	}
	pan, err := s.OpenPAN(ctx, &c)
	if err != nil {
		return Card{}, err
	}
	data, err := s.d.Vault.SetPIN(ctx, emv.PINSet{ECDHRef: s.d.Keys.ECDH, IssuerPublicKey: key, Block: req.EncipheredPINBlock, PAN: pan}, check)
	if err != nil {
		return Card{}, s.pinSetError(err)
	}
	return s.storePIN(ctx, &c, data, nil, nil)
}

// storePIN writes new PIN verification data (and the sandbox PIN, when
// set through the simulator) with card.pin_changed.
func (s *Service) storePIN(ctx context.Context, c *Card, data emv.PINVerificationData, sandboxPIN []byte, audit *AuditEntry) (Card, error) {
	return s.d.Cards.UpdateCard(ctx, c.TenantID, c.ID, func(ch *CardChange) error {
		if ch.Card.Status.Terminal() {
			return Errorf(SlugCardClosed, "card %s is %s", ch.Card.ID, ch.Card.Status)
		}
		now := s.now()
		applyPINData(&ch.Card, data)
		ch.Card.UpdatedAt = now
		ch.ResetPINTries = true
		ch.SandboxPIN = sandboxPIN
		if ch.SandboxPIN == nil {
			ch.SandboxPIN = []byte{} // a real PIN set replaces the simulator's PIN
		}
		ch.Audit = audit
		ev, err := cardEvent(kafka.TypeCardPINChanged, &ch.Card, "", false, now)
		if err != nil {
			return err
		}
		ch.Events = append(ch.Events, ev)
		return nil
	})
}

// pinCheck says how a card's PIN is verified: its own method once a PIN is
// set, else its template's (PVV for imported cards without one).
func (s *Service) pinCheck(ctx context.Context, c *Card) (emv.PINCheck, error) {
	if c.Status.Terminal() {
		return emv.PINCheck{}, Errorf(SlugCardClosed, "card %s is %s", c.ID, c.Status)
	}
	method := c.PINMethod
	if method == "" && c.TemplateID != "" {
		tpl, err := s.d.Catalog.Template(ctx, c.TenantID, c.TemplateID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return emv.PINCheck{}, fmt.Errorf("reading data prep template: %w", err)
		}
		method = tpl.PINMethod
	}
	if method == "" && c.Imported {
		method = PINMethodPVV
	}
	m := pinMethodOf(method)
	if m == "" || c.PVKRef == "" {
		return emv.PINCheck{}, Errorf(SlugPINNotSupported, "card %s has no PIN verification key or method", c.ID)
	}
	return emv.PINCheck{Method: m, PVKRef: c.PVKRef, PVKI: pvkiOr(c.PVKI)}, nil
}

// pinSetError maps an HSM PIN-set failure: rejected input is the client's
// (pin_block_invalid), anything else a failure.
func (s *Service) pinSetError(err error) error {
	if s.d.Vault.IsInputError(err) {
		return &Error{Slug: SlugPINBlockInvalid, Message: "the PIN block does not decipher under the key agreed with this key reference",
			Fields: []FieldError{{Field: "enciphered_pin_block", Code: "invalid", Message: "an ISO 9564 format 4 (or format 0) block for this card, under the ECDH-agreed key (docs/api.md)"}}}
	}
	return fmt.Errorf("setting PIN: %w", err)
}

func pinMethodOf(m string) emv.PINMethod {
	switch m {
	case PINMethodPVV:
		return emv.PINMethodPVV
	case PINMethodIBM3624:
		return emv.PINMethodIBM3624
	}
	return ""
}

// pvkiOr returns the PVKI, "1" when none is set.
func pvkiOr(p string) string {
	if p == "" {
		return "1"
	}
	return p
}

// applyPINData stores verification data on the card.
func applyPINData(c *Card, d emv.PINVerificationData) {
	switch d.Method {
	case emv.PINMethodPVV:
		c.PINMethod, c.PVKI, c.PINVerify = PINMethodPVV, d.PVKI, d.PVV
	case emv.PINMethodIBM3624:
		c.PINMethod, c.PINVerify = PINMethodIBM3624, d.Offset
	}
}

// OpenPAN opens a card's sealed PAN (the HSM, by the platform's data key).
func (s *Service) OpenPAN(ctx context.Context, c *Card) (emv.PAN, error) {
	pan, err := s.d.Vault.OpenPAN(ctx, s.d.Keys.PANDEK, c.TenantID, c.ID, c.PANCipher)
	if err != nil {
		return "", fmt.Errorf("opening PAN of card %s: %w", c.ID, err)
	}
	return pan, nil
}

// PIN-set key agreement, as published with the HSM public key
// (docs/hsm.md, "PIN set key agreement"; emv defines it).
const (
	PINSetKeyAgreement = emv.PINSetKeyAgreement
	PINSetKDF          = emv.PINSetKDF
)

// HSMPublicKey returns the HSM's ECDH public key that issuers agree the
// PIN-encryption key with. key_not_configured when no ECDH key is assigned.
func (s *Service) HSMPublicKey(ctx context.Context) (emv.PublicKey, error) {
	if s.d.Keys.ECDH == "" {
		return emv.PublicKey{}, Errorf(SlugKeyNotConfigured, "no ECDH key is assigned (cardhost keys assign --role ecdh)")
	}
	pk, err := s.d.Vault.ECDHPublicKey(ctx, s.d.Keys.ECDH)
	if err != nil {
		return emv.PublicKey{}, err
	}
	return pk, nil
}

package issuance

import (
	"context"

	"github.com/cardhost/cardhost/emv"
)

// PIN-set key agreement, as published with the HSM public key
// (docs/hsm.md, "PIN set key agreement").
const (
	PINSetKeyAgreement = "ECDH-P256"
	PINSetKDF          = "NIST SP 800-56C one-step SHA-256"
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

package issuance

import (
	"context"

	"github.com/cardhost/cardhost/emv"
)

// Vault is what the card domain needs from the HSM: card data protection,
// data prep and PIN set, certificates — all by key reference, so clear keys
// never reach this package. *softhsm.HSM satisfies it.
type Vault interface {
	// SealPAN encrypts a PAN for storage, bound to its tenant and card.
	SealPAN(ctx context.Context, dekRef, tenant, cardID string, pan emv.PAN) ([]byte, error)
	// OpenPAN decrypts a sealed PAN (reveal, perso export).
	OpenPAN(ctx context.Context, dekRef, tenant, cardID string, sealed []byte) (emv.PAN, error)
	// SealPIN and OpenPIN seal and open the sandbox simulator's clear test
	// PIN like a PAN, bound to binding instead of the card id.
	SealPIN(ctx context.Context, dekRef, tenant, binding string, pin emv.PIN) ([]byte, error)
	OpenPIN(ctx context.Context, dekRef, tenant, binding string, sealed []byte) (emv.PIN, error)
	// IndexPANAll returns the keyed look-up hashes of a PAN under every
	// version of the PAN-index key usable for look-ups, newest first (a
	// PAN issued before a rotation is indexed under an older one).
	IndexPANAll(ctx context.Context, idxRef string, pan emv.PAN) ([][]byte, error)
	// GenerateCVVSet computes CVV, iCVV and CVV2 for data prep.
	GenerateCVVSet(ctx context.Context, cvkRef string, pan emv.PAN, expiry, serviceCode string) (emv.CVVSet, error)
	// RevealCVV2 recomputes a card's CVV2 for the audited reveal call.
	RevealCVV2(ctx context.Context, cvkRef string, version int, pan emv.PAN, expiry string) (emv.CVV, error)
	// DeriveICCKeys derives the chip master keys and exports them under a
	// transport key (personalisation).
	DeriveICCKeys(ctx context.Context, req emv.ICCKeyRequest) (emv.ICCKeys, error)
	// SetPIN turns an enciphered PIN block into verification data.
	SetPIN(ctx context.Context, req emv.PINSet, c emv.PINCheck) (emv.PINVerificationData, error)
	// SetPINWithBinding is SetPIN for a block bound to bindPAN instead of
	// the card's PAN (a PIN chosen at card creation, before the PAN
	// exists, is bound to a placeholder PAN).
	SetPINWithBinding(ctx context.Context, req emv.PINSet, bindPAN emv.PAN, c emv.PINCheck) (emv.PINVerificationData, error)
	// SignCSR issues an issuer certificate from a CSR.
	SignCSR(ctx context.Context, caRef string, csr []byte) (emv.Certificate, error)
	// ECDHPublicKey returns the HSM's PIN-set public key.
	ECDHPublicKey(ctx context.Context, ecdhRef string) (emv.PublicKey, error)
	// SealRecord encrypts a personalisation record for the holder of the
	// transport key kekRef (docs/perso.md) and returns the envelope and the
	// key's check value; aad (the card id) is authenticated. With clearICC
	// the HSM adds the card's ICC master keys in clear inside the sealed
	// record (sandbox export only).
	SealRecord(ctx context.Context, kekRef string, aad, record []byte, clearICC *emv.ICCKeyRequest) (sealed []byte, kcv string, err error)
	// IsInputError reports whether an error of the methods above means the
	// data given was rejected (a PIN block that does not decipher, a
	// malformed public key, PAN or PSN) rather than the HSM failing.
	IsInputError(err error) bool
}

// SystemKeys are the HSM key references the platform itself uses (not a
// tenant's): assigned by `cardhost keys assign` or seeded in sandbox mode.
type SystemKeys struct {
	PANDEK   string // PAN-DEK: seals PANs
	PANIndex string // PAN-IDX: keyed PAN index (shared by all tenants)
	CA       string // CA: signs issuer certificates
	ECDH     string // ECDH: PIN-set key agreement
}

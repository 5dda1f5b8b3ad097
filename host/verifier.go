package host

import (
	"context"

	"github.com/cardhost/cardhost/emv"
)

// Verifier is the HSM as the authorization host uses it: every operation
// by key reference. *softhsm.HSM satisfies it. A failed verification is
// (false, nil) — a decline, not an error.
type Verifier interface {
	// IndexPANAll returns the keyed look-up hashes of a PAN under every
	// version of the PAN-index key usable for look-ups, newest first: a
	// card indexed before a rotation is found under an older one.
	IndexPANAll(ctx context.Context, idxRef string, pan emv.PAN) ([][]byte, error)
	// VerifyARQC checks an ARQC; errors for malformed chip data wrap
	// emv.ErrMissingTag, emv.ErrIAD or similar.
	VerifyARQC(ctx context.Context, a emv.ARQCCheck) (emv.ARQCResult, error)
	// GenerateARPC returns the tag 91 value for a verified ARQC.
	GenerateARPC(ctx context.Context, a emv.ARQCCheck, keyVersion int, responseCode string) ([]byte, error)
	VerifyCVV(ctx context.Context, cvkRef string, pan emv.PAN, expiry, serviceCode string, cvv emv.CVV) (bool, error)
	VerifyICVV(ctx context.Context, cvkRef string, pan emv.PAN, expiry string, icvv emv.CVV) (bool, error)
	VerifyCVV2(ctx context.Context, cvkRef string, pan emv.PAN, expiry string, cvv2 emv.CVV) (bool, error)
	// VerifyPIN checks a PIN block under a zone PIN key against the card's
	// PIN verification data.
	VerifyPIN(ctx context.Context, in emv.EncryptedPIN, pan emv.PAN, c emv.PINCheck) (bool, error)
}

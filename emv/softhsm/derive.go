package softhsm

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"

	"github.com/cardhost/cardhost/emv"
)

// DeriveSecret returns a 32-byte secret bound to purpose, derived from the
// master key (HMAC-SHA-256 expansion, as HKDF-Expand with one block). Every
// instance with the same master key derives the same secret, so it serves
// for keyed hashes that must agree across a cluster but protect no card
// data on their own: the ISO host's retransmission fingerprint key. Card
// data keys never come from here; they are key records used by reference.
// The caller should Wipe the result when done.
func (h *HSM) DeriveSecret(purpose string) (emv.SecretBytes, error) {
	if purpose == "" {
		return nil, errors.New("deriving secret: empty purpose")
	}
	mac := hmac.New(sha256.New, h.master.prk)
	mac.Write([]byte(purpose))
	mac.Write([]byte{1})
	return mac.Sum(nil), nil
}

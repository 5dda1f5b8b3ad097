package emv

import (
	"crypto/cipher"
	"math/bits"

	"github.com/cardhost/cardhost/emv/internal/dea"
)

// NewTDES returns a DES-family block cipher for a clear key of 8 (single
// DES), 16 (double-length TDES, K1 K2 K1) or 24 bytes (triple-length TDES).
// Parity bits are ignored, as DES itself ignores them. A single-length key,
// or a double-length key whose halves are equal, behaves as single DES.
//
// The returned cipher.Block holds the expanded key schedule; callers that
// use one key many times (the software HSM caching an issuer master key)
// should keep it rather than rebuild it per call. It is safe for concurrent
// use. DES is cardhost's own (package emv/internal/dea, held to NIST's
// known-answer tests and to crypto/des by FuzzDES), for the cost of the key
// schedule: see docs/crypto.md.
func NewTDES(key []byte) (cipher.Block, error) {
	switch len(key) {
	case 8:
		return dea.New(key)
	case 16:
		return newTDES2(key), nil
	case 24:
		return newTDES3(key), nil
	default:
		return nil, keyLengthError("DES key", len(key), "8, 16 or 24")
	}
}

// newDoubleTDES is NewTDES restricted to double-length keys, the only size
// EMV card keys (issuer and ICC master keys, session keys) have.
func newDoubleTDES(what string, key []byte) (*tdes2, error) {
	if len(key) != 16 {
		return nil, keyLengthError(what, len(key), "16")
	}
	return newTDES2(key), nil
}

// tdes2 is double-length TDES (encrypt K1, decrypt K2, encrypt K1) built
// from two single-DES key schedules, held by value: one allocation per
// key. Expanding a DES key costs more than enciphering a block, and a
// three-key TDES would expand K1 twice; the two schedules also serve
// ISO/IEC 9797-1 MAC algorithm 3, whose K and K' are the same halves.
type tdes2 struct{ k1, k2 dea.Cipher }

func newTDES2(key []byte) *tdes2 {
	t := new(tdes2)
	_ = t.k1.SetKey(key[:8]) // cannot fail for 8 bytes
	_ = t.k2.SetKey(key[8:16])
	return t
}

// BlockSize implements cipher.Block.
func (t *tdes2) BlockSize() int { return 8 }

// Encrypt implements cipher.Block.
func (t *tdes2) Encrypt(dst, src []byte) { dea.EncryptEDE(&t.k1, &t.k2, &t.k1, dst, src) }

// Decrypt implements cipher.Block.
func (t *tdes2) Decrypt(dst, src []byte) { dea.DecryptEDE(&t.k1, &t.k2, &t.k1, dst, src) }

// tdes3 is triple-length TDES: encrypt K1, decrypt K2, encrypt K3.
type tdes3 struct{ k1, k2, k3 dea.Cipher }

func newTDES3(key []byte) *tdes3 {
	t := new(tdes3)
	_ = t.k1.SetKey(key[:8]) // cannot fail for 8 bytes
	_ = t.k2.SetKey(key[8:16])
	_ = t.k3.SetKey(key[16:24])
	return t
}

// BlockSize implements cipher.Block.
func (t *tdes3) BlockSize() int { return 8 }

// Encrypt implements cipher.Block.
func (t *tdes3) Encrypt(dst, src []byte) { dea.EncryptEDE(&t.k1, &t.k2, &t.k3, dst, src) }

// Decrypt implements cipher.Block.
func (t *tdes3) Decrypt(dst, src []byte) { dea.DecryptEDE(&t.k1, &t.k2, &t.k3, dst, src) }

// retailMAC runs ISO/IEC 9797-1 MAC algorithm 3 with K = K1 and K' = K2
// over data already padded to a multiple of 8 bytes.
func (t *tdes2) retailMAC(padded []byte) []byte {
	h := make([]byte, 8)
	for i := 0; i < len(padded); i += 8 {
		xorInto(h, h, padded[i:i+8])
		t.k1.Encrypt(h, h)
	}
	t.k2.Decrypt(h, h)
	t.k1.Encrypt(h, h)
	return h
}

// AdjustParity returns a copy of key with every byte set to odd parity by
// flipping its least significant bit where needed, as EMV Book 2 A1.4
// requires of derived keys.
func AdjustParity(key []byte) []byte {
	out := make([]byte, len(key))
	for i, b := range key {
		if bits.OnesCount8(b)%2 == 0 {
			b ^= 0x01
		}
		out[i] = b
	}
	return out
}

// HasOddParity reports whether every byte of key has odd parity.
func HasOddParity(key []byte) bool {
	for _, b := range key {
		if bits.OnesCount8(b)%2 == 0 {
			return false
		}
	}
	return true
}

// xorInto sets dst[i] = a[i] ^ b[i] for the length of dst.
func xorInto(dst, a, b []byte) {
	for i := range dst {
		dst[i] = a[i] ^ b[i]
	}
}

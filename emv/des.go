package emv

import (
	"crypto/cipher"
	"crypto/des"
	"math/bits"
)

// NewTDES returns a DES-family block cipher for a clear key of 8 (single
// DES), 16 (double-length TDES, K1 K2 K1) or 24 bytes (triple-length TDES).
// Parity bits are ignored, as DES itself ignores them. A single-length key,
// or a double-length key whose halves are equal, behaves as single DES.
//
// The returned cipher.Block holds the expanded key schedule; callers that
// use one key many times (the software HSM caching an issuer master key)
// should keep it rather than rebuild it per call. It is safe for concurrent
// use.
func NewTDES(key []byte) (cipher.Block, error) {
	switch len(key) {
	case 8:
		return des.NewCipher(key)
	case 16:
		return newTDES2(key), nil
	case 24:
		return des.NewTripleDESCipher(key)
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
// from two single-DES key schedules. Expanding a DES key costs several
// times more than enciphering a block, and the standard library's TDES
// expands K1 twice; two schedules also serve ISO/IEC 9797-1 MAC algorithm
// 3, whose K and K' are the same halves.
type tdes2 struct{ k1, k2 cipher.Block }

func newTDES2(key []byte) *tdes2 {
	k1, _ := des.NewCipher(key[:8]) // cannot fail for 8 bytes
	k2, _ := des.NewCipher(key[8:16])
	return &tdes2{k1: k1, k2: k2}
}

// BlockSize implements cipher.Block.
func (t *tdes2) BlockSize() int { return 8 }

// Encrypt implements cipher.Block.
func (t *tdes2) Encrypt(dst, src []byte) {
	t.k1.Encrypt(dst, src)
	t.k2.Decrypt(dst, dst)
	t.k1.Encrypt(dst, dst)
}

// Decrypt implements cipher.Block.
func (t *tdes2) Decrypt(dst, src []byte) {
	t.k1.Decrypt(dst, src)
	t.k2.Encrypt(dst, dst)
	t.k1.Decrypt(dst, dst)
}

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

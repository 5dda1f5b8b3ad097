package dea

import (
	"encoding/binary"
	"math/bits"
	"strconv"
)

// BlockSize is the DES block size in bytes.
const BlockSize = 8

// KeySize is the size of a single-DES key in bytes, parity bits included.
const KeySize = 8

// KeySizeError is the length of a key that is not KeySize bytes. It carries
// the length only, never key bytes.
type KeySizeError int

func (e KeySizeError) Error() string {
	return "dea: invalid key size " + strconv.Itoa(int(e))
}

// Cipher is a single-DES key schedule: the sixteen 48-bit subkeys, laid out
// for the rounds. It implements cipher.Block through its pointer. The zero
// value is the schedule of the all-zero key. A Cipher is a value of 128
// bytes that holds no pointers, so it can be embedded in a larger type; it
// is safe for concurrent use once SetKey has returned.
type Cipher struct {
	subkeys [16]uint64
}

// New returns the cipher for an 8-byte key, or a KeySizeError.
func New(key []byte) (*Cipher, error) {
	c := new(Cipher)
	if err := c.SetKey(key); err != nil {
		return nil, err
	}
	return c, nil
}

// SetKey expands an 8-byte key into c; it returns a KeySizeError, and leaves
// c unchanged, for any other length. Parity bits are ignored. It does not
// allocate.
func (c *Cipher) SetKey(key []byte) error {
	if len(key) != KeySize {
		return KeySizeError(len(key))
	}
	cd := permuteNibbles(&pc1Nibble, binary.BigEndian.Uint64(key))
	const mask28 = 1<<28 - 1
	hc, hd := uint32(cd>>28), uint32(cd)&mask28
	for i, s := range leftShifts {
		hc = (hc<<s | hc>>(28-s)) & mask28
		hd = (hd<<s | hd>>(28-s)) & mask28
		c.subkeys[i] = pc2C[0][hc>>21] | pc2C[1][hc>>14&0x7f] | pc2C[2][hc>>7&0x7f] | pc2C[3][hc&0x7f] |
			pc2D[0][hd>>21] | pc2D[1][hd>>14&0x7f] | pc2D[2][hd>>7&0x7f] | pc2D[3][hd&0x7f]
	}
	return nil
}

// BlockSize implements cipher.Block: 8.
func (c *Cipher) BlockSize() int { return BlockSize }

// Encrypt enciphers the first block of src into dst, which may be src
// itself. It panics if either is shorter than a block.
func (c *Cipher) Encrypt(dst, src []byte) {
	l, r := load(dst, src)
	l, r = c.encryptRounds(l, r)
	store(dst, r, l)
}

// Decrypt deciphers the first block of src into dst, which may be src
// itself. It panics if either is shorter than a block.
func (c *Cipher) Decrypt(dst, src []byte) {
	l, r := load(dst, src)
	l, r = c.decryptRounds(l, r)
	store(dst, r, l)
}

// EncryptEDE enciphers a block with TDES: encipher under k1, decipher
// under k2, encipher under k3 (k3 = k1 for a double-length key). The result
// is that of the three single-DES operations in turn; the final and
// initial permutations between them cancel and are left out.
func EncryptEDE(k1, k2, k3 *Cipher, dst, src []byte) {
	l, r := load(dst, src)
	l, r = k1.encryptRounds(l, r)
	l, r = k2.decryptRounds(r, l)
	l, r = k3.encryptRounds(r, l)
	store(dst, r, l)
}

// DecryptEDE is the inverse of EncryptEDE with the same three keys:
// decipher under k3, encipher under k2, decipher under k1.
func DecryptEDE(k1, k2, k3 *Cipher, dst, src []byte) {
	l, r := load(dst, src)
	l, r = k3.decryptRounds(l, r)
	l, r = k2.encryptRounds(r, l)
	l, r = k1.decryptRounds(r, l)
	store(dst, r, l)
}

// load checks the lengths and returns the two halves of IP(src), each
// rotated right by one bit.
func load(dst, src []byte) (l, r uint32) {
	if len(src) < BlockSize {
		panic("dea: input not full block")
	}
	if len(dst) < BlockSize {
		panic("dea: output not full block")
	}
	x := permuteNibbles(&ipNibble, binary.BigEndian.Uint64(src))
	return uint32(x >> 32), uint32(x)
}

// store writes IP⁻¹(l || r) to dst, for halves rotated right by one bit.
func store(dst []byte, l, r uint32) {
	binary.BigEndian.PutUint64(dst, permuteNibbles(&fpNibble, uint64(l)<<32|uint64(r)))
}

// permuteNibbles applies a nibble lookup table (ipNibble, fpNibble,
// pc1Nibble) to x, written out so that every shift is a constant.
func permuteNibbles(t *[16][16]uint64, x uint64) uint64 {
	return t[0][x>>60] | t[1][x>>56&0xf] | t[2][x>>52&0xf] | t[3][x>>48&0xf] |
		t[4][x>>44&0xf] | t[5][x>>40&0xf] | t[6][x>>36&0xf] | t[7][x>>32&0xf] |
		t[8][x>>28&0xf] | t[9][x>>24&0xf] | t[10][x>>20&0xf] | t[11][x>>16&0xf] |
		t[12][x>>12&0xf] | t[13][x>>8&0xf] | t[14][x>>4&0xf] | t[15][x&0xf]
}

// encryptRounds runs the 16 rounds with K1..K16 from (L0, R0) and returns
// (L16, R16); the output block is IP⁻¹(R16 || L16).
func (c *Cipher) encryptRounds(l, r uint32) (uint32, uint32) {
	return rounds(&c.subkeys, 0, l, r)
}

// decryptRounds is encryptRounds with the subkeys in reverse order.
func (c *Cipher) decryptRounds(l, r uint32) (uint32, uint32) {
	return rounds(&c.subkeys, 15, l, r)
}

// rounds runs the 16 rounds with subkey K(1 + (i xor rev)) in round i+1:
// rev 0 enciphers, 15 deciphers. Two rounds per iteration update the
// halves in place instead of swapping them.
func rounds(k *[16]uint64, rev int, l, r uint32) (uint32, uint32) {
	for i := 0; i < 16; i += 2 {
		l ^= feistel(r, k[(i^rev)&15])
		r ^= feistel(l, k[(i+1^rev)&15])
	}
	return l, r
}

// feistel is the cipher function f(R, K) = P(S(E(R) xor K)), on halves
// kept rotated right by one bit: r is R rotated so, and so is the result.
// E's groups are 6-bit windows of R that overlap by two bits: R rotated
// right by one has B1, B3, B5 and B7 in bits 31-26, 23-18, 15-10 and 7-2,
// and rotated left by three (r rotated left by four) has B2, B4, B6 and B8
// in the same places, which is how the subkeys are laid out (see pc2C).
// spBox folds P (and the rotation) into the S-boxes, so the eight lookups
// are ORed.
func feistel(r uint32, k uint64) uint32 {
	even := r ^ uint32(k>>32)
	odd := bits.RotateLeft32(r, 4) ^ uint32(k)
	return spBox[0][even>>26&0x3f] | spBox[2][even>>18&0x3f] | spBox[4][even>>10&0x3f] | spBox[6][even>>2&0x3f] |
		spBox[1][odd>>26&0x3f] | spBox[3][odd>>18&0x3f] | spBox[5][odd>>10&0x3f] | spBox[7][odd>>2&0x3f]
}

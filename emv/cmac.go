package emv

import (
	"crypto/cipher"
	"crypto/subtle"
	"fmt"
)

// CMAC computes the CMAC of msg (NIST SP 800-38B, also ISO/IEC 9797-1 MAC
// algorithm 5) with a block cipher whose block size is 8 (DES, TDES) or 16
// bytes (AES). The result is one full block; truncate it as the protocol
// requires. Other block sizes give ErrUnsupported.
func CMAC(b cipher.Block, msg []byte) ([]byte, error) {
	bs := b.BlockSize()
	var rb byte
	switch bs {
	case 8:
		rb = 0x1B
	case 16:
		rb = 0x87
	default:
		return nil, fmt.Errorf("%w: CMAC block size %d", ErrUnsupported, bs)
	}

	// Subkeys K1, K2 from L = E_K(0^n).
	l := make([]byte, bs)
	b.Encrypt(l, l)
	k1 := shiftLeftXor(l, rb)
	k2 := shiftLeftXor(k1, rb)
	clear(l)

	n := (len(msg) + bs - 1) / bs
	complete := n > 0 && len(msg)%bs == 0
	if n == 0 {
		n = 1
	}

	x := make([]byte, bs)
	for i := 0; i < n-1; i++ {
		subtle.XORBytes(x, x, msg[i*bs:(i+1)*bs])
		b.Encrypt(x, x)
	}
	last := make([]byte, bs)
	rest := msg[(n-1)*bs:]
	if complete {
		subtle.XORBytes(last, rest, k1)
	} else {
		copy(last, rest)
		last[len(rest)] = 0x80
		subtle.XORBytes(last, last, k2)
	}
	subtle.XORBytes(x, x, last)
	b.Encrypt(x, x)
	clear(k1)
	clear(k2)
	return x, nil
}

// shiftLeftXor returns in<<1, XORed with rb in the last byte when the
// shifted-out bit was set (SP 800-38B subkey generation).
func shiftLeftXor(in []byte, rb byte) []byte {
	out := make([]byte, len(in))
	var carry byte
	for i := len(in) - 1; i >= 0; i-- {
		out[i] = in[i]<<1 | carry
		carry = in[i] >> 7
	}
	if carry == 1 {
		out[len(out)-1] ^= rb
	}
	return out
}

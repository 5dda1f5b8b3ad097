package emv

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
)

// KeyAlgorithm names the block cipher a key belongs to. It matters for
// check values because a 16- or 24-byte key can be either TDES or AES.
type KeyAlgorithm string

// Key algorithms.
const (
	AlgorithmTDES KeyAlgorithm = "tdes" // DES, double- and triple-length TDES (8, 16, 24 bytes)
	AlgorithmAES  KeyAlgorithm = "aes"  // AES-128, -192, -256 (16, 24, 32 bytes)
)

// KCVMethod selects how a key check value is computed.
type KCVMethod string

// Key check value methods (ANSI X9.24-1:2017 section 7.7, PCI PIN
// requirement 15-1).
const (
	// KCVEncryptZeros encrypts one block of binary zeros (8 bytes for TDES,
	// 16 for AES) and keeps the leftmost bytes. It is the legacy TDES method
	// used by HSM consoles and key ceremonies, and the default for TDES.
	KCVEncryptZeros KCVMethod = "encrypt-zeros"
	// KCVCMAC computes the CMAC of one block of binary zeros and keeps the
	// leftmost bytes. X9.24-1:2017 and TR-31/X9.143 require it for AES; it
	// is the default for AES.
	KCVCMAC KCVMethod = "cmac"
)

// KCVLength is the length of the check values KCV returns: 3 bytes, six hex
// digits, the form key ceremony forms and HSM consoles print.
const KCVLength = 3

// KCV returns the 3-byte key check value of a clear key with the default
// method of its algorithm: encrypt-zeros for TDES (E_K(0^8)), CMAC for AES
// (CMAC_K(0^16), ANSI X9.24-1:2017 7.7.2). Use KCVWithMethod for the other
// method or a longer value.
func KCV(alg KeyAlgorithm, key []byte) ([]byte, error) {
	m := KCVEncryptZeros
	if alg == AlgorithmAES {
		m = KCVCMAC
	}
	return KCVWithMethod(alg, m, key, KCVLength)
}

// KCVWithMethod returns the leftmost n bytes (1 to the cipher's block size)
// of the key check value of key computed with method m. X9.24-1 allows at
// most 3 bytes for encrypt-zeros and 5 for CMAC; longer values are accepted
// here for comparison with tools that print a whole block.
func KCVWithMethod(alg KeyAlgorithm, m KCVMethod, key []byte, n int) ([]byte, error) {
	var b cipher.Block
	var err error
	switch alg {
	case AlgorithmTDES:
		b, err = NewTDES(key)
	case AlgorithmAES:
		switch len(key) {
		case 16, 24, 32:
			b, err = aes.NewCipher(key)
		default:
			err = keyLengthError("AES key", len(key), "16, 24 or 32")
		}
	default:
		return nil, fmt.Errorf("computing key check value: %w: key algorithm %q", ErrUnsupported, string(alg))
	}
	if err != nil {
		return nil, fmt.Errorf("computing key check value: %w", err)
	}
	if n < 1 || n > b.BlockSize() {
		return nil, fmt.Errorf("computing key check value: %w: check value length %d", ErrUnsupported, n)
	}
	zero := make([]byte, b.BlockSize())
	var out []byte
	switch m {
	case KCVEncryptZeros:
		out = make([]byte, b.BlockSize())
		b.Encrypt(out, zero)
	case KCVCMAC:
		out, err = CMAC(b, zero)
		if err != nil {
			return nil, fmt.Errorf("computing key check value: %w", err)
		}
	default:
		return nil, fmt.Errorf("computing key check value: %w: method %q", ErrUnsupported, string(m))
	}
	return out[:n], nil
}

// XORComponents combines clear key components by XOR, the way key
// ceremonies form a key from components held by different custodians. All
// components must have the same length, and there must be at least two.
func XORComponents(components ...[]byte) (SecretBytes, error) {
	if len(components) < 2 {
		return nil, fmt.Errorf("combining key components: %w: need at least 2 components, got %d", ErrUnsupported, len(components))
	}
	out := make(SecretBytes, len(components[0]))
	for i, c := range components {
		if len(c) != len(out) {
			out.Wipe()
			return nil, fmt.Errorf("combining key components: %w", keyLengthError(fmt.Sprintf("component %d", i+1), len(c), fmt.Sprint(len(out))))
		}
		xorInto(out, out, c)
	}
	return out, nil
}

package emv

import "fmt"

// Padding is an ISO/IEC 9797-1 padding method.
type Padding int

// ISO/IEC 9797-1:2011 section 6.3 padding methods.
const (
	// PaddingMethod1 appends the fewest zero bytes that make the length a
	// multiple of the block size (none when it already is; one zero block
	// for empty data). Visa CVN 10 cryptograms use it.
	PaddingMethod1 Padding = 1
	// PaddingMethod2 appends 0x80 and then the fewest zero bytes that make
	// the length a multiple of the block size. EMV Book 2 A1.2 and most CVNs
	// use it.
	PaddingMethod2 Padding = 2
	// PaddingMethod3 prefixes a block holding the data length in bits
	// (big-endian) and pads the data as method 1.
	PaddingMethod3 Padding = 3
)

// Pad returns data padded to a multiple of blockSize with method p.
// The input is not modified.
func Pad(data []byte, p Padding, blockSize int) ([]byte, error) {
	if blockSize <= 0 {
		return nil, fmt.Errorf("padding data: %w: block size %d", ErrUnsupported, blockSize)
	}
	switch p {
	case PaddingMethod1:
		n := (len(data) + blockSize - 1) / blockSize * blockSize
		if n == 0 {
			n = blockSize
		}
		out := make([]byte, n)
		copy(out, data)
		return out, nil
	case PaddingMethod2:
		n := (len(data)/blockSize + 1) * blockSize
		out := make([]byte, n)
		copy(out, data)
		out[len(data)] = 0x80
		return out, nil
	case PaddingMethod3:
		n := (len(data) + blockSize - 1) / blockSize * blockSize
		out := make([]byte, blockSize+n)
		bitsLen := uint64(len(data)) * 8
		for i := 0; i < 8 && i < blockSize; i++ {
			out[blockSize-1-i] = byte(bitsLen >> (8 * i))
		}
		copy(out[blockSize:], data)
		return out, nil
	default:
		return nil, fmt.Errorf("padding data: %w: method %d", ErrPadding, int(p))
	}
}

// MACAlgorithm1 computes the ISO/IEC 9797-1 MAC algorithm 1 (CBC-MAC, zero
// IV, no output transformation) of data padded with method p, with a DES
// or TDES key of 8, 16 or 24 bytes. The result is the full 8-byte block;
// truncate it as the protocol requires (ANSI X9.9 and FIPS 113 keep 4).
func MACAlgorithm1(key, data []byte, p Padding) ([]byte, error) {
	b, err := NewTDES(key)
	if err != nil {
		return nil, fmt.Errorf("computing MAC algorithm 1: %w", err)
	}
	padded, err := Pad(data, p, 8)
	if err != nil {
		return nil, fmt.Errorf("computing MAC algorithm 1: %w", err)
	}
	h := make([]byte, 8)
	for i := 0; i < len(padded); i += 8 {
		xorInto(h, h, padded[i:i+8])
		b.Encrypt(h, h)
	}
	return h, nil
}

// MACAlgorithm3 computes the ISO/IEC 9797-1 MAC algorithm 3 ("retail MAC",
// ANSI X9.19) of data padded with method p. The key is 16 bytes, K || K':
// every block is enciphered in CBC mode with single DES under K, and the
// last result is deciphered under K' and enciphered again under K. The
// result is the full 8-byte block. EMV application cryptograms (Book 2
// A1.2.1) and ARPC method 2 use this MAC with the session key.
func MACAlgorithm3(key, data []byte, p Padding) ([]byte, error) {
	return paddedRetailMAC("computing MAC algorithm 3", "MAC key", "16 (K || K')", key, data, p)
}

// paddedRetailMAC checks the 16-byte key, pads data with method p and
// returns MAC algorithm 3 over it; what, keyName and keyWant word errors.
func paddedRetailMAC(what, keyName, keyWant string, key, data []byte, p Padding) ([]byte, error) {
	if len(key) != 16 {
		return nil, fmt.Errorf("%s: %w", what, keyLengthError(keyName, len(key), keyWant))
	}
	padded, err := Pad(data, p, 8)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return retailMAC(key, padded), nil
}

// retailMAC runs MAC algorithm 3 over already padded data with a 16-byte
// key. It cannot fail: the caller has checked the key length and the data
// is a multiple of 8 bytes.
func retailMAC(key, padded []byte) []byte {
	return newTDES2(key).retailMAC(padded)
}

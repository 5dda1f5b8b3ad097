package emv

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// DecodeHex decodes a hexadecimal string (either case). Unlike
// encoding/hex it never puts input characters into its error: the string
// may be key material. Errors wrap ErrHex and give only the length or the
// position of the first bad character.
func DecodeHex(s string) ([]byte, error) {
	if len(s)%2 != 0 {
		return nil, fmt.Errorf("%w: odd length %d", ErrHex, len(s))
	}
	for i := 0; i < len(s); i++ {
		if !isHexDigit(s[i]) {
			return nil, fmt.Errorf("%w: non-hex character at position %d", ErrHex, i+1)
		}
	}
	b := make([]byte, len(s)/2)
	if _, err := hex.Decode(b, []byte(s)); err != nil {
		// Unreachable after the checks above; keep the value out anyway.
		return nil, fmt.Errorf("%w: malformed input", ErrHex)
	}
	return b, nil
}

// EncodeHex encodes b as upper-case hexadecimal, the convention of HSM
// consoles and scheme documents.
func EncodeHex(b []byte) string {
	return strings.ToUpper(hex.EncodeToString(b))
}

func isHexDigit(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// hexDigitsToBytes packs an even-length string of hex digits into bytes.
// The caller has validated the characters.
func hexDigitsToBytes(s string) []byte {
	b := make([]byte, len(s)/2)
	for i := range b {
		b[i] = nibble(s[2*i])<<4 | nibble(s[2*i+1])
	}
	return b
}

func nibble(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

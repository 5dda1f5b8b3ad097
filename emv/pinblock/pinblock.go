package pinblock

import (
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"io"
	"slices"

	"github.com/cardhost/cardhost/iso/digit"
)

// Format is an ISO 9564-1 PIN block format.
type Format int

// Supported formats. Format 2 (offline chip PIN) is not used by a host.
const (
	Format0 Format = 0 // PIN XOR PAN field, fill F, 8 bytes (ANSI X9.8, VISA-1)
	Format1 Format = 1 // PIN with random fill, no PAN, 8 bytes
	Format3 Format = 3 // format 0 with random fill A-F, 8 bytes
	Format4 Format = 4 // AES: PIN field and PAN field, 16 bytes

	// FormatAny deciphers an 8-byte block in format 0, 1 or 3, taken from
	// the control field of the deciphered block: what a host accepts in
	// ISO 8583 field 52. It can only be deciphered, not encoded.
	FormatAny Format = -1
)

// String returns "ISO-0", "ISO-1", "ISO-3", "ISO-4" (or "ISO-?").
func (f Format) String() string {
	switch f {
	case Format0, Format1, Format3, Format4:
		return fmt.Sprintf("ISO-%d", int(f))
	case FormatAny:
		return "ISO-0/1/3"
	}
	return "ISO-?"
}

// BlockSize is the format's block size in bytes (8, or 16 for format 4; 0
// for an unsupported format).
func (f Format) BlockSize() int {
	switch f {
	case Format0, Format1, Format3, FormatAny:
		return 8
	case Format4:
		return 16
	}
	return 0
}

// UsesPAN reports whether the block is bound to the PAN (all but format 1).
func (f Format) UsesPAN() bool { return f == Format0 || f == Format3 || f == Format4 }

// ParseFormat maps 0, 1, 3, 4 to a Format.
func ParseFormat(n int) (Format, error) {
	f := Format(n)
	if f.BlockSize() == 0 || f == FormatAny {
		return 0, fmt.Errorf("parsing PIN block format %d: %w", n, ErrFormat)
	}
	return f, nil
}

// Encipher builds the PIN block for pin (ASCII digits) in format f and
// enciphers it with c: ECB of the clear block for formats 0, 1 and 3 (c must
// be TDES or DES, block size 8); for format 4 (c must be AES) the
// ISO 9564-1 steps AES(c, AES(c, PIN field) XOR PAN field). pan is ignored
// for format 1. rand supplies fill and may be nil for crypto/rand.Reader.
func Encipher(f Format, c cipher.Block, pin []byte, pan string, rand io.Reader) ([]byte, error) {
	if f == FormatAny {
		return nil, fmt.Errorf("enciphering PIN block: %w", ErrFormat)
	}
	if err := checkCipher(f, c); err != nil {
		return nil, fmt.Errorf("enciphering PIN block: %w", err)
	}
	if f == Format4 {
		panField, err := panField4(pan)
		if err != nil {
			return nil, fmt.Errorf("enciphering PIN block: %w", err)
		}
		pinField, err := pinField4(pin, rand)
		if err != nil {
			return nil, fmt.Errorf("enciphering PIN block: %w", err)
		}
		defer wipe(pinField)
		out := make([]byte, 16)
		c.Encrypt(out, pinField)
		xorInto(out, panField)
		c.Encrypt(out, out)
		return out, nil
	}
	clear, err := encodeClear(f, pin, pan, rand)
	if err != nil {
		return nil, fmt.Errorf("enciphering PIN block: %w", err)
	}
	defer wipe(clear)
	out := make([]byte, 8)
	c.Encrypt(out, clear)
	return out, nil
}

// Decipher deciphers block with c, checks it as a format f PIN block bound
// to pan (ignored for format 1) and returns the PIN as ASCII digits. The
// caller should zero the result when done. Content errors wrap ErrMalformed.
func Decipher(f Format, c cipher.Block, block []byte, pan string) ([]byte, error) {
	if err := checkCipher(f, c); err != nil {
		return nil, fmt.Errorf("deciphering PIN block: %w", err)
	}
	if len(block) != f.BlockSize() {
		return nil, fmt.Errorf("deciphering PIN block: %w", ErrBlockSize)
	}
	if f == Format4 {
		panField, err := panField4(pan)
		if err != nil {
			return nil, fmt.Errorf("deciphering PIN block: %w", err)
		}
		field := make([]byte, 16)
		defer wipe(field)
		c.Decrypt(field, block)
		xorInto(field, panField)
		c.Decrypt(field, field)
		pin, err := decodePINField4(field)
		if err != nil {
			return nil, fmt.Errorf("deciphering PIN block: %w", err)
		}
		return pin, nil
	}
	pin, _, err := decipher8(f, c, block, pan)
	return pin, err
}

// DecipherAny deciphers an 8-byte block as Decipher with FormatAny does
// (the format taken from the control field of the deciphered block) and
// returns the PIN and the format it was in. A well-formed block in a
// format that accept does not list is refused with ErrNotAccepted, which
// does not wrap ErrMalformed: the block was readable, its format is not
// allowed. An empty accept allows 0, 1 and 3.
func DecipherAny(accept []Format, c cipher.Block, block []byte, pan string) ([]byte, Format, error) {
	if err := checkCipher(FormatAny, c); err != nil {
		return nil, 0, fmt.Errorf("deciphering PIN block: %w", err)
	}
	if len(block) != 8 {
		return nil, 0, fmt.Errorf("deciphering PIN block: %w", ErrBlockSize)
	}
	pin, f, err := decipher8(FormatAny, c, block, pan)
	if err != nil {
		return nil, 0, err
	}
	if len(accept) > 0 && !slices.Contains(accept, f) {
		wipe(pin)
		return nil, f, fmt.Errorf("deciphering PIN block: %s: %w", f, ErrNotAccepted)
	}
	return pin, f, nil
}

// decipher8 deciphers an 8-byte block (format 0, 1, 3, or FormatAny: the
// control field's) and returns the PIN and the format read.
func decipher8(f Format, c cipher.Block, block []byte, pan string) ([]byte, Format, error) {
	clear := make([]byte, 8)
	defer wipe(clear)
	c.Decrypt(clear, block)
	if f == FormatAny {
		switch cf := Format(clear[0] >> 4); cf {
		case Format0, Format1, Format3:
			f = cf
		default:
			return nil, 0, fmt.Errorf("deciphering PIN block: %w", ErrControlField)
		}
	}
	pin, err := decodeClear(f, clear, pan)
	if err != nil {
		return nil, 0, fmt.Errorf("deciphering PIN block: %w", err)
	}
	return pin, f, nil
}

// Translate deciphers block (format from, key src), re-encodes the PIN in
// format to and enciphers it with dst, without the PIN leaving this call;
// pan binds both blocks (it is ignored by format 1). rand supplies fill for
// the new block and may be nil.
func Translate(src cipher.Block, from Format, block []byte, pan string, dst cipher.Block, to Format, rand io.Reader) ([]byte, error) {
	pin, err := Decipher(from, src, block, pan)
	if err != nil {
		return nil, fmt.Errorf("translating PIN block: %w", err)
	}
	defer wipe(pin)
	out, err := Encipher(to, dst, pin, pan, rand)
	if err != nil {
		return nil, fmt.Errorf("translating PIN block: %w", err)
	}
	return out, nil
}

// EncodeClear returns the clear (not enciphered) 8-byte PIN block of format
// 0, 1 or 3. Format 4 has no clear block of its own (its PAN field is mixed
// in between two encryptions): use Encipher.
func EncodeClear(f Format, pin []byte, pan string, rand io.Reader) ([]byte, error) {
	b, err := encodeClear(f, pin, pan, rand)
	if err != nil {
		return nil, fmt.Errorf("encoding PIN block: %w", err)
	}
	return b, nil
}

// DecodeClear checks a clear 8-byte PIN block of format 0, 1 or 3 and
// returns the PIN digits.
func DecodeClear(f Format, block []byte, pan string) ([]byte, error) {
	pin, err := decodeClear(f, block, pan)
	if err != nil {
		return nil, fmt.Errorf("decoding PIN block: %w", err)
	}
	return pin, nil
}

func checkCipher(f Format, c cipher.Block) error {
	bs := f.BlockSize()
	if bs == 0 {
		return ErrFormat
	}
	if c == nil || c.BlockSize() != bs {
		return ErrCipher
	}
	return nil
}

func checkPIN(pin []byte) error {
	if len(pin) < 4 || len(pin) > 12 {
		return ErrPIN
	}
	for _, d := range pin {
		if d < '0' || d > '9' {
			return ErrPIN
		}
	}
	return nil
}

func randomReader(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}

// fillNibbles reads n random nibbles (one byte each, low nibble used before
// mapping).
func fillNibbles(r io.Reader, n int, mapNibble func(byte) byte) ([]byte, error) {
	buf := make([]byte, n)
	if _, err := io.ReadFull(randomReader(r), buf); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRandom, err)
	}
	for i := range buf {
		buf[i] = mapNibble(buf[i])
	}
	return buf, nil
}

// accountField0 is the format 0/3 PAN field: 0000 and the 12 rightmost PAN
// digits excluding the check digit.
func accountField0(pan string) ([]byte, error) {
	if len(pan) < 13 || len(pan) > 19 || !digit.All(pan) {
		return nil, ErrPAN
	}
	digits := pan[len(pan)-13 : len(pan)-1]
	out := make([]byte, 8)
	for i := 0; i < 12; i++ {
		setNibble(out, 4+i, digits[i]-'0')
	}
	return out, nil
}

func encodeClear(f Format, pin []byte, pan string, r io.Reader) ([]byte, error) {
	if f != Format0 && f != Format1 && f != Format3 {
		return nil, ErrFormat
	}
	if err := checkPIN(pin); err != nil {
		return nil, err
	}
	var acct []byte
	if f.UsesPAN() {
		var err error
		if acct, err = accountField0(pan); err != nil {
			return nil, err
		}
	}
	n := len(pin)
	out := make([]byte, 8)
	setNibble(out, 0, byte(f))
	setNibble(out, 1, byte(n))
	for i, d := range pin {
		setNibble(out, 2+i, d-'0')
	}
	fillLen := 14 - n
	switch f {
	case Format0:
		for i := 0; i < fillLen; i++ {
			setNibble(out, 2+n+i, 0xF)
		}
	case Format1:
		fill, err := fillNibbles(r, fillLen, func(b byte) byte { return b & 0x0F })
		if err != nil {
			wipe(out)
			return nil, err
		}
		for i, v := range fill {
			setNibble(out, 2+n+i, v)
		}
	case Format3:
		fill, err := fillNibbles(r, fillLen, func(b byte) byte { return 0xA + b%6 })
		if err != nil {
			wipe(out)
			return nil, err
		}
		for i, v := range fill {
			setNibble(out, 2+n+i, v)
		}
	}
	if acct != nil {
		xorInto(out, acct)
	}
	return out, nil
}

func decodeClear(f Format, block []byte, pan string) ([]byte, error) {
	if f != Format0 && f != Format1 && f != Format3 {
		return nil, ErrFormat
	}
	if len(block) != 8 {
		return nil, ErrBlockSize
	}
	clear := make([]byte, 8)
	defer wipe(clear)
	copy(clear, block)
	if f.UsesPAN() {
		acct, err := accountField0(pan)
		if err != nil {
			return nil, err
		}
		xorInto(clear, acct)
	}
	return readPINField(clear, byte(f), func(v byte) bool {
		return f == Format1 || (f == Format0 && v == 0xF) || (f == Format3 && v >= 0xA)
	})
}

// readPINField reads a PIN field whose control nibble must be control: the
// length nibble (4 to 12), the PIN digits, and fill nibbles that fillOK
// accepts (ErrControlField, ErrPINLength, ErrFill otherwise).
func readPINField(field []byte, control byte, fillOK func(v byte) bool) ([]byte, error) {
	if nibble(field, 0) != control {
		return nil, ErrControlField
	}
	n := int(nibble(field, 1))
	if n < 4 || n > 12 {
		return nil, ErrPINLength
	}
	pin, err := pinDigits(field, n)
	if err != nil {
		return nil, err
	}
	for i := 2 + n; i < 16; i++ {
		if !fillOK(nibble(field, i)) {
			wipe(pin)
			return nil, ErrFill
		}
	}
	return pin, nil
}

// pinDigits returns the n PIN digits starting at nibble 2.
func pinDigits(b []byte, n int) ([]byte, error) {
	pin := make([]byte, n)
	for i := 0; i < n; i++ {
		v := nibble(b, 2+i)
		if v > 9 {
			wipe(pin)
			return nil, ErrPINDigit
		}
		pin[i] = '0' + v
	}
	return pin, nil
}

// pinField4 is the format 4 plain-text PIN field: 4, N, PIN, fill A to
// nibble 16, then 8 random bytes.
func pinField4(pin []byte, r io.Reader) ([]byte, error) {
	if err := checkPIN(pin); err != nil {
		return nil, err
	}
	out := make([]byte, 16)
	setNibble(out, 0, 4)
	setNibble(out, 1, byte(len(pin)))
	for i, d := range pin {
		setNibble(out, 2+i, d-'0')
	}
	for i := 2 + len(pin); i < 16; i++ {
		setNibble(out, i, 0xA)
	}
	if _, err := io.ReadFull(randomReader(r), out[8:]); err != nil {
		wipe(out)
		return nil, fmt.Errorf("%w: %w", ErrRandom, err)
	}
	return out, nil
}

// panField4 is the format 4 PAN field: M (PAN length minus 12, 0 when
// shorter), the PAN (left-padded with zeros to 12 digits), zero fill.
func panField4(pan string) ([]byte, error) {
	if len(pan) < 1 || len(pan) > 19 || !digit.All(pan) {
		return nil, ErrPAN
	}
	m := 0
	digits := pan
	if len(pan) >= 12 {
		m = len(pan) - 12
	} else {
		digits = "000000000000"[len(pan):] + pan
	}
	out := make([]byte, 16)
	setNibble(out, 0, byte(m))
	for i := 0; i < len(digits); i++ {
		setNibble(out, 1+i, digits[i]-'0')
	}
	return out, nil
}

func decodePINField4(field []byte) ([]byte, error) {
	return readPINField(field, 4, func(v byte) bool { return v == 0xA })
}

func nibble(b []byte, i int) byte {
	if i%2 == 0 {
		return b[i/2] >> 4
	}
	return b[i/2] & 0x0F
}

func setNibble(b []byte, i int, v byte) {
	if i%2 == 0 {
		b[i/2] = b[i/2]&0x0F | v<<4
	} else {
		b[i/2] = b[i/2]&0xF0 | v&0x0F
	}
}

func xorInto(dst, src []byte) {
	for i := range dst {
		dst[i] ^= src[i]
	}
}

func wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}

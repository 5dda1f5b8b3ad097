package iso

import (
	"github.com/moov-io/iso8583/field"
)

// codec packs and unpacks one field of the table: an optional ASCII length
// prefix (LL or LLL) and a value checked against the field's format. It
// replaces moov's default packer so that every field is validated where it
// is read, with errors that never contain the value.
type codec struct {
	def *FieldDef
}

var (
	_ field.Packer   = (*codec)(nil)
	_ field.Unpacker = (*codec)(nil)
)

// Unpack reads the field at the start of data and returns its value and the
// number of bytes read. For text fields the value aliases data (moov's
// String field copies it); binary values are copied.
func (c *codec) Unpack(data []byte, _ *field.Spec) ([]byte, int, error) {
	d := c.def
	n, pl := d.Length, int(d.Prefix)
	if pl > 0 {
		if len(data) < pl {
			return nil, 0, &FieldError{Field: d.ID, Err: ErrShort}
		}
		n = 0
		for _, b := range data[:pl] {
			if b < '0' || b > '9' {
				return nil, 0, &FieldError{Field: d.ID, Err: ErrLength}
			}
			n = n*10 + int(b-'0')
		}
		if n == 0 || n > d.Length {
			return nil, 0, &FieldError{Field: d.ID, Err: ErrLength}
		}
	}
	if len(data) < pl+n {
		return nil, 0, &FieldError{Field: d.ID, Err: ErrShort}
	}
	v := data[pl : pl+n]
	if !validFormat(d.Format, v) {
		return nil, 0, &FieldError{Field: d.ID, Err: ErrCharset}
	}
	if d.Format == FormatBinary {
		v = append([]byte(nil), v...)
	}
	return v, pl + n, nil
}

// Pack writes the field's prefix and value.
func (c *codec) Pack(value []byte, _ *field.Spec) ([]byte, error) {
	d := c.def
	n := len(value)
	switch {
	case d.Prefix == Fixed && n != d.Length:
		return nil, &FieldError{Field: d.ID, Err: ErrLength}
	case d.Prefix != Fixed && (n == 0 || n > d.Length):
		return nil, &FieldError{Field: d.ID, Err: ErrLength}
	}
	if !validFormat(d.Format, value) {
		return nil, &FieldError{Field: d.ID, Err: ErrCharset}
	}
	pl := int(d.Prefix)
	out := make([]byte, pl+n)
	for i, m := pl-1, n; i >= 0; i-- {
		out[i] = byte('0' + m%10)
		m /= 10
	}
	copy(out[pl:], value)
	return out, nil
}

// validFormat reports whether every byte of v is allowed by format f.
func validFormat(f Format, v []byte) bool {
	switch f {
	case FormatBinary:
		return true
	case FormatN:
		for _, b := range v {
			if b < '0' || b > '9' {
				return false
			}
		}
	case FormatAN:
		for _, b := range v {
			if !isDigit(b) && !isLetter(b) && b != ' ' {
				return false
			}
		}
	case FormatANS:
		for _, b := range v {
			if b < 0x20 || b > 0x7e {
				return false
			}
		}
	case FormatZ:
		for _, b := range v {
			if !isDigit(b) && b != '=' && b != 'D' {
				return false
			}
		}
	case FormatHex:
		for _, b := range v {
			if !isHex(b) {
				return false
			}
		}
	default:
		return false
	}
	return true
}

func isDigit(b byte) bool  { return b >= '0' && b <= '9' }
func isLetter(b byte) bool { return (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') }
func isHex(b byte) bool    { return isDigit(b) || (b >= 'A' && b <= 'F') || (b >= 'a' && b <= 'f') }

// Alphanumeric reports whether s is ASCII letters and digits only (an
// approval code, an RRN).
func Alphanumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) && !isLetter(s[i]) {
			return false
		}
	}
	return true
}

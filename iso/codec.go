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
	start, end, err := scanField(c.def, data)
	if err != nil {
		return nil, 0, err
	}
	v := data[start:end]
	if c.def.Format == FormatBinary {
		v = append([]byte(nil), v...)
	}
	return v, end, nil
}

// Pack writes the field's prefix and value.
func (c *codec) Pack(value []byte, _ *field.Spec) ([]byte, error) {
	out, err := appendField(make([]byte, 0, int(c.def.Prefix)+len(value)), c.def, value)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scanField reads field d at the start of data: it checks the length
// prefix and the value's character set, and returns where the value starts
// and ends in data (end is the number of bytes the field takes). It is the
// one reader of a field's wire form: the moov codec above and
// [UnpackFields] both use it. The error is a *FieldError naming d.
func scanField(d *FieldDef, data []byte) (start, end int, err error) {
	n, pl := d.Length, int(d.Prefix)
	if pl > 0 {
		if len(data) < pl {
			return 0, 0, &FieldError{Field: d.ID, Err: ErrShort}
		}
		n = 0
		for _, b := range data[:pl] {
			if b < '0' || b > '9' {
				return 0, 0, &FieldError{Field: d.ID, Err: ErrLength}
			}
			n = n*10 + int(b-'0')
		}
		if n == 0 || n > d.Length {
			return 0, 0, &FieldError{Field: d.ID, Err: ErrLength}
		}
	}
	if len(data) < pl+n {
		return 0, 0, &FieldError{Field: d.ID, Err: ErrShort}
	}
	if !validFormat(d.Format, data[pl:pl+n]) {
		return 0, 0, &FieldError{Field: d.ID, Err: ErrCharset}
	}
	return pl, pl + n, nil
}

// appendField appends field d's prefix and value to dst after checking the
// value's length and character set. It is the one writer of a field's wire
// form: the moov codec above and [FieldValues.AppendPack] both use it. The
// error is a *FieldError naming d; dst is then returned unchanged.
func appendField[T string | []byte](dst []byte, d *FieldDef, value T) ([]byte, error) {
	n := len(value)
	switch {
	case d.Prefix == Fixed && n != d.Length:
		return dst, &FieldError{Field: d.ID, Err: ErrLength}
	case d.Prefix != Fixed && (n == 0 || n > d.Length):
		return dst, &FieldError{Field: d.ID, Err: ErrLength}
	}
	if !validFormat(d.Format, value) {
		return dst, &FieldError{Field: d.ID, Err: ErrCharset}
	}
	switch d.Prefix {
	case LL:
		dst = append(dst, byte('0'+n/10), byte('0'+n%10))
	case LLL:
		dst = append(dst, byte('0'+n/100), byte('0'+n/10%10), byte('0'+n%10))
	}
	return append(dst, value...), nil
}

// validFormat reports whether every byte of v is allowed by format f.
func validFormat[T string | []byte](f Format, v T) bool {
	switch {
	case f == FormatBinary:
		return true
	case f < FormatN || f > FormatHex:
		return false
	}
	mask := uint8(1) << f
	for i := 0; i < len(v); i++ {
		if formatBytes[v[i]]&mask == 0 {
			return false
		}
	}
	return true
}

// formatBytes has bit f of entry b set when format f allows byte b (for
// the text formats, FormatN to FormatHex).
var formatBytes = func() (t [256]uint8) {
	for c := range 256 {
		b := byte(c)
		allowed := [FormatHex + 1]bool{
			FormatN:   isDigit(b),
			FormatAN:  isDigit(b) || isLetter(b) || b == ' ',
			FormatANS: b >= 0x20 && b <= 0x7e,
			FormatZ:   isDigit(b) || b == '=' || b == 'D',
			FormatHex: isHex(b),
		}
		for f, ok := range allowed {
			if ok {
				t[c] |= 1 << f
			}
		}
	}
	return t
}()

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

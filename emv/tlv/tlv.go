package tlv

import (
	"encoding/hex"
	"strings"
)

// Limits applied by Decode and Encode.
const (
	// MaxLength is the longest value accepted (3 length bytes would allow
	// more; no EMV data object comes close).
	MaxLength = 0xFFFF
	// MaxDepth is the deepest nesting of constructed objects accepted.
	MaxDepth = 8
)

// TLV is one data object. A primitive object has a Value; a constructed one
// (Tag.Constructed) has Children and a nil Value.
type TLV struct {
	Tag      Tag
	Value    []byte
	Children List
}

// List is a sequence of data objects, such as a whole field 55.
type List []TLV

// New returns a primitive data object.
func New(tag Tag, value []byte) TLV { return TLV{Tag: tag, Value: value} }

// NewConstructed returns a constructed data object (a template).
func NewConstructed(tag Tag, children ...TLV) TLV {
	return TLV{Tag: tag, Children: children}
}

// Decode parses b as a sequence of BER-TLV data objects. The whole input must
// be consumed: anything left over that is not a complete data object is an
// error. The returned values alias a private copy of b, so b may be reused.
// An empty input gives an empty List and no error.
//
// Errors are *Error wrapping ErrTruncated, ErrIndefiniteLength,
// ErrLengthTooLong, ErrNonMinimalLength, ErrTagTooLong, ErrInvalidTag or
// ErrTooDeep.
func Decode(b []byte) (List, error) {
	if len(b) == 0 {
		return nil, nil
	}
	buf := make([]byte, len(b))
	copy(buf, b)
	return decodeList(buf, 0, 0)
}

func decodeList(b []byte, base, depth int) (List, error) {
	if depth > MaxDepth {
		return nil, &Error{Offset: base, Err: ErrTooDeep}
	}
	var out List
	for off := 0; off < len(b); {
		obj, n, err := decodeOne(b[off:], base+off, depth)
		if err != nil {
			return nil, err
		}
		out = append(out, obj)
		off += n
	}
	return out, nil
}

// decodeOne decodes the data object at the start of b, which sits at offset
// base of the outermost input, and returns it with its encoded size.
func decodeOne(b []byte, base, depth int) (TLV, int, error) {
	tl, err := tagLen(b)
	if err != nil {
		return TLV{}, 0, &Error{Offset: base, Err: err}
	}
	var tag Tag
	for _, c := range b[:tl] {
		tag = tag<<8 | Tag(c)
	}
	fail := func(err error) (TLV, int, error) {
		return TLV{}, 0, &Error{Offset: base, Tag: tag, Err: err}
	}
	if tl >= len(b) {
		return fail(ErrTruncated)
	}
	length, ll, err := decodeLength(b[tl:])
	if err != nil {
		return fail(err)
	}
	start := tl + ll
	if length > len(b)-start {
		return fail(ErrTruncated)
	}
	value := b[start : start+length : start+length]
	obj := TLV{Tag: tag}
	if tag.Constructed() {
		children, err := decodeList(value, base+start, depth+1)
		if err != nil {
			return TLV{}, 0, err
		}
		obj.Children = children
	} else {
		obj.Value = value
	}
	return obj, start + length, nil
}

// decodeLength reads a length field and returns the length and the field's
// size in bytes.
func decodeLength(b []byte) (int, int, error) {
	if len(b) == 0 {
		return 0, 0, ErrTruncated
	}
	first := b[0]
	if first < 0x80 {
		return int(first), 1, nil
	}
	if first == 0x80 {
		return 0, 0, ErrIndefiniteLength
	}
	n := int(first & 0x7F)
	if n > 3 {
		return 0, 0, ErrLengthTooLong
	}
	if len(b) < 1+n {
		return 0, 0, ErrTruncated
	}
	if b[1] == 0 {
		return 0, 0, ErrNonMinimalLength
	}
	length := 0
	for _, c := range b[1 : 1+n] {
		length = length<<8 | int(c)
	}
	if n == 1 && length < 0x80 {
		return 0, 0, ErrNonMinimalLength
	}
	if length > MaxLength {
		return 0, 0, ErrLengthTooLong
	}
	return length, 1 + n, nil
}

// appendLength appends the minimal BER length encoding of n.
func appendLength(b []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n <= 0xFF:
		return append(b, 0x81, byte(n))
	case n <= 0xFFFF:
		return append(b, 0x82, byte(n>>8), byte(n))
	default:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
}

// Encode returns the canonical encoding of the list: minimal lengths,
// constructed values encoded from their Children. It fails with an *Error
// wrapping ErrInvalidTag, ErrInvalidObject, ErrLengthTooLong or ErrTooDeep;
// its Offset is relative to the start of the innermost list being encoded.
func (l List) Encode() ([]byte, error) {
	return l.appendTo(nil, 0)
}

// Encode returns the encoding of the single data object t.
func (t TLV) Encode() ([]byte, error) {
	return List{t}.Encode()
}

func (l List) appendTo(b []byte, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return nil, &Error{Offset: len(b), Err: ErrTooDeep}
	}
	for _, t := range l {
		var err error
		b, err = t.appendTo(b, depth)
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

func (t TLV) appendTo(b []byte, depth int) ([]byte, error) {
	at := len(b)
	fail := func(err error) ([]byte, error) {
		return nil, &Error{Offset: at, Tag: t.Tag, Err: err}
	}
	if !t.Tag.Valid() {
		return fail(ErrInvalidTag)
	}
	b = t.Tag.appendTo(b)
	if !t.Tag.Constructed() {
		if t.Children != nil {
			return fail(ErrInvalidObject)
		}
		if len(t.Value) > MaxLength {
			return fail(ErrLengthTooLong)
		}
		b = appendLength(b, len(t.Value))
		return append(b, t.Value...), nil
	}
	if t.Value != nil {
		return fail(ErrInvalidObject)
	}
	inner, err := t.Children.appendTo(nil, depth+1)
	if err != nil {
		return nil, err
	}
	if len(inner) > MaxLength {
		return fail(ErrLengthTooLong)
	}
	b = appendLength(b, len(inner))
	return append(b, inner...), nil
}

// Find returns the first data object with the given tag, searching depth
// first through constructed objects.
func (l List) Find(tag Tag) (TLV, bool) {
	for _, t := range l {
		if t.Tag == tag {
			return t, true
		}
		if found, ok := t.Children.Find(tag); ok {
			return found, true
		}
	}
	return TLV{}, false
}

// Value returns the value of the first primitive data object with the given
// tag (depth first), and whether it was found.
func (l List) Value(tag Tag) ([]byte, bool) {
	t, ok := l.Find(tag)
	if !ok || t.Tag.Constructed() {
		return nil, false
	}
	return t.Value, true
}

// Map returns the values of the list's top-level primitive objects by tag.
// It fails with an *Error wrapping ErrDuplicateTag when a tag appears twice,
// which field 55 does not allow.
func (l List) Map() (map[Tag][]byte, error) {
	m := make(map[Tag][]byte, len(l))
	for i, t := range l {
		if _, dup := m[t.Tag]; dup {
			return nil, &Error{Offset: i, Tag: t.Tag, Err: ErrDuplicateTag}
		}
		m[t.Tag] = t.Value
	}
	return m, nil
}

// sensitive lists tags whose values are card data that must never be shown:
// PAN, track 2 equivalent, cardholder name, track 1/2 discretionary data,
// track 1 data and PIN data.
var sensitive = map[Tag]bool{
	0x5A: true, 0x57: true, 0x5F20: true, 0x9F1F: true, 0x9F20: true,
	0x56: true, 0x99: true, 0x9F6B: true,
}

// IsSensitive reports whether values under tag hold cardholder data (PAN,
// track data, name, PIN data) that String masks.
func IsSensitive(tag Tag) bool { return sensitive[tag] }

// String renders the list for logs and debugging, one object per line,
// indenting children. Values of sensitive tags (see IsSensitive) are
// replaced by "[redacted]".
func (l List) String() string {
	var sb strings.Builder
	l.describe(&sb, 0)
	return sb.String()
}

func (l List) describe(sb *strings.Builder, indent int) {
	for _, t := range l {
		sb.WriteString(strings.Repeat("  ", indent))
		sb.WriteString(t.Tag.String())
		if t.Tag.Constructed() {
			sb.WriteString("\n")
			t.Children.describe(sb, indent+1)
			continue
		}
		sb.WriteString(" ")
		if IsSensitive(t.Tag) {
			sb.WriteString("[redacted]")
		} else {
			sb.WriteString(strings.ToUpper(hex.EncodeToString(t.Value)))
		}
		sb.WriteString("\n")
	}
}

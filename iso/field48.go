package iso

import (
	"log/slog"
	"strings"

	"github.com/cardhost/cardhost/iso/digit"
)

// Field 48 element tags (DESIGN.md, "ISO 8583 interface").
const (
	// ElementCVV2 is the card verification value 2: 3 or 4 digits.
	ElementCVV2 = "01"
	// ElementECI is the electronic commerce indicator: 2 digits (Visa and
	// UnionPay 05/06/07, Mastercard 02/01/00, read by the card's network).
	ElementECI = "02"
	// ElementCAVV is the 3-D Secure authentication value (CAVV/UCAF): 40
	// hexadecimal characters (20 bytes), upper-case.
	ElementCAVV = "03"
	// ElementPartialApproval says whether the terminal supports partial
	// approval: "Y" or "N".
	ElementPartialApproval = "04"
)

// maxElementLen is the largest element value: its length is two digits.
const maxElementLen = 99

// Element is one field 48 private element, `TT LL value` on the wire.
type Element struct {
	// Tag is the element's two-digit tag.
	Tag string
	// Value is the element's value: 1 to 99 printable characters.
	Value string
}

// PrivateData is field 48: cardhost's private elements in wire order. An
// element with an unknown tag is kept as it is (the host ignores it).
//
// Values can be secret (CVV2, CAVV): String, GoString and LogValue show the
// tags only.
type PrivateData []Element

// ParsePrivateData decodes field 48. Each element is a 2-digit tag, a
// 2-digit length and the value; the known tags are checked against their
// layouts, a tag may appear once. Errors are *FieldError values naming the
// element, never its value.
func ParsePrivateData(s string) (PrivateData, error) {
	var p PrivateData
	for len(s) > 0 {
		if len(s) < 4 {
			return nil, &FieldError{Field: FieldPrivateData, Err: ErrShort}
		}
		tag, l := s[:2], s[2:4]
		if !digit.All(tag) {
			return nil, &FieldError{Field: FieldPrivateData, Err: ErrCharset}
		}
		if !digit.All(l) || l == "00" {
			return nil, &FieldError{Field: FieldPrivateData, Element: tag, Err: ErrLength}
		}
		n := int(l[0]-'0')*10 + int(l[1]-'0')
		if len(s) < 4+n {
			return nil, &FieldError{Field: FieldPrivateData, Element: tag, Err: ErrShort}
		}
		e := Element{Tag: tag, Value: s[4 : 4+n]}
		if err := e.check(); err != nil {
			return nil, err
		}
		if _, dup := p.Get(tag); dup {
			return nil, &FieldError{Field: FieldPrivateData, Element: tag, Err: ErrInvalidValue}
		}
		p = append(p, e)
		s = s[4+n:]
	}
	return p, nil
}

// Get returns the value of the element with tag, and whether it is present.
func (p PrivateData) Get(tag string) (string, bool) {
	for _, e := range p {
		if e.Tag == tag {
			return e.Value, true
		}
	}
	return "", false
}

// Encode returns field 48's value: each element as tag, 2-digit length and
// value, in order. It checks the elements as ParsePrivateData does.
func (p PrivateData) Encode() (string, error) {
	var b strings.Builder
	seen := make(map[string]bool, len(p))
	for _, e := range p {
		if err := e.check(); err != nil {
			return "", err
		}
		if seen[e.Tag] {
			return "", &FieldError{Field: FieldPrivateData, Element: e.Tag, Err: ErrInvalidValue}
		}
		seen[e.Tag] = true
		b.WriteString(e.Tag)
		b.WriteByte(byte('0' + len(e.Value)/10))
		b.WriteByte(byte('0' + len(e.Value)%10))
		b.WriteString(e.Value)
	}
	if b.Len() > fieldDefs[FieldPrivateData].Length {
		return "", &FieldError{Field: FieldPrivateData, Err: ErrLength}
	}
	return b.String(), nil
}

// check validates one element against its tag's layout.
func (e Element) check() error {
	fail := func(err error) error {
		return &FieldError{Field: FieldPrivateData, Element: e.Tag, Err: err}
	}
	if len(e.Tag) != 2 || !digit.All(e.Tag) {
		return &FieldError{Field: FieldPrivateData, Err: ErrCharset}
	}
	v := e.Value
	if len(v) == 0 || len(v) > maxElementLen {
		return fail(ErrLength)
	}
	if !validFormat(FormatANS, v) {
		return fail(ErrCharset)
	}
	switch e.Tag {
	case ElementCVV2:
		if (len(v) != 3 && len(v) != 4) || !digit.All(v) {
			return fail(ErrInvalidValue)
		}
	case ElementECI:
		if len(v) != 2 || !digit.All(v) {
			return fail(ErrInvalidValue)
		}
	case ElementCAVV:
		if len(v) != 40 || !validFormat(FormatHex, v) {
			return fail(ErrInvalidValue)
		}
	case ElementPartialApproval:
		if v != "Y" && v != "N" {
			return fail(ErrInvalidValue)
		}
	}
	return nil
}

// Tags returns the element tags in order.
func (p PrivateData) Tags() []string {
	tags := make([]string, len(p))
	for i, e := range p {
		tags[i] = e.Tag
	}
	return tags
}

// String lists the tags without values, e.g. "48[01 02 04]".
func (p PrivateData) String() string {
	return "48[" + strings.Join(p.Tags(), " ") + "]"
}

// GoString is String: values never reach %#v.
func (p PrivateData) GoString() string { return p.String() }

// LogValue implements slog.LogValuer with the tags only.
func (p PrivateData) LogValue() slog.Value { return slog.StringValue(p.String()) }

// String shows the tag only: "01=[redacted]".
func (e Element) String() string { return e.Tag + "=[redacted]" }

// GoString is String: values never reach %#v.
func (e Element) GoString() string { return e.String() }

// LogValue implements slog.LogValuer with the tag only.
func (e Element) LogValue() slog.Value { return slog.StringValue(e.String()) }

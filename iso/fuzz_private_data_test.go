package iso_test

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/cardhost/cardhost/iso"
)

// FuzzParsePrivateData feeds arbitrary field 48 values to
// ParsePrivateData. Seeds are the elements of DESIGN.md (CVV2, ECI, CAVV,
// partial approval) alone and together, plus unknown tags and broken
// lengths. It checks that nothing panics; that failures are
// *iso.FieldError values naming field 48 (and a 2-digit element, if any)
// with one of the package's causes; and that whatever parses encodes
// back to the same bytes, parses again to the same elements, and never
// shows an element's value through String, %v, %#v or slog.
func FuzzParsePrivateData(f *testing.F) {
	for _, s := range []string{
		"", "0103123", "01041234", "020205", "0340" + strings.Repeat("AB", 20), "0401Y", "0401N",
		"01031230202050401Y", "0340" + strings.Repeat("0f", 20) + "0202070103999",
		"9905hello", "0103123" + "0103456", "0100", "01", "010", "01AA123", "XX03123", "0105123",
		"0103abc", "0202AB", "0401X", "0340" + strings.Repeat("G", 40),
	} {
		f.Add(s)
	}
	causes := []error{iso.ErrShort, iso.ErrCharset, iso.ErrLength, iso.ErrInvalidValue}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := iso.ParsePrivateData(s)
		if err != nil {
			var fe *iso.FieldError
			if !errors.As(err, &fe) || fe.Field != iso.FieldPrivateData {
				t.Fatalf("error %v (%T) is not a field 48 *FieldError", err, err)
			}
			if fe.Element != "" && (len(fe.Element) != 2 || strings.Trim(fe.Element, "0123456789") != "") {
				t.Fatalf("error names element %q", fe.Element)
			}
			known := false
			for _, c := range causes {
				known = known || errors.Is(err, c)
			}
			if !known {
				t.Fatalf("error %v has an unknown cause", err)
			}
			return
		}
		if len(s) <= 999 { // the field's LLL limit; Encode enforces it
			enc, err := p.Encode()
			if err != nil {
				t.Fatalf("parsed elements %v do not encode: %v", p.Tags(), err)
			}
			if enc != s {
				t.Fatalf("encoding changed the field: %q -> %q", s, enc)
			}
		}
		back, err := iso.ParsePrivateData(s)
		if err != nil || len(back) != len(p) {
			t.Fatalf("parsing again: %v", err)
		}
		for i, e := range p {
			if back[i] != e {
				t.Fatalf("element %d changed on a second parse", i)
			}
			if v, ok := p.Get(e.Tag); !ok || v != e.Value {
				t.Fatalf("Get(%s) does not return the element's value", e.Tag)
			}
		}
		var logged strings.Builder
		noTime := func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey {
				return slog.Attr{}
			}
			return a
		}
		slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{ReplaceAttr: noTime})).Info("", "data", p)
		shown := fmt.Sprintf("%v %s %#v %v", p, p, p, p.String()) + logged.String()
		for _, e := range p {
			// What is shown is "48[" + 2-digit tags + "]" and "data=": a value
			// of 3 or more characters without spaces or brackets that
			// appears in it was leaked.
			if len(e.Value) >= 3 && !strings.ContainsAny(e.Value, " []=\"\n") && strings.Contains(shown, e.Value) &&
				!strings.Contains("data=48", e.Value) {
				t.Fatalf("element %s's value is shown: %s", e.Tag, shown)
			}
		}
	})
}

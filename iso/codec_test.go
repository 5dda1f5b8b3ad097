package iso

import (
	"errors"
	"testing"
)

// TestValidFormat checks the byte table behind validFormat against the
// formats' definitions, for every byte and format, on both argument types.
func TestValidFormat(t *testing.T) {
	want := func(f Format, b byte) bool {
		switch f {
		case FormatN:
			return b >= '0' && b <= '9'
		case FormatAN:
			return b >= '0' && b <= '9' || b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b == ' '
		case FormatANS:
			return b >= 0x20 && b <= 0x7e
		case FormatZ:
			return b >= '0' && b <= '9' || b == '=' || b == 'D'
		case FormatHex:
			return b >= '0' && b <= '9' || b >= 'A' && b <= 'F' || b >= 'a' && b <= 'f'
		case FormatBinary:
			return true
		}
		return false
	}
	for f := Format(0); f <= FormatBitmap+1; f++ {
		for c := range 256 {
			v := []byte{'0', byte(c)}
			if f >= FormatN && f <= FormatBinary {
				if got := validFormat(f, v); got != want(f, byte(c)) {
					t.Fatalf("validFormat(%v, %q) = %v", f, v, got)
				}
				if got := validFormat(f, string(v)); got != want(f, byte(c)) {
					t.Fatalf("validFormat(%v, %q) as a string = %v", f, v, got)
				}
				continue
			}
			if validFormat(f, v) || validFormat(f, "") {
				t.Fatalf("format %v accepts a value", f)
			}
		}
	}
}

// TestScanAndAppendField: appendField writes what scanField reads back,
// and both refuse with the same *FieldError causes as before.
func TestScanAndAppendField(t *testing.T) {
	for _, d := range fieldTable[2:] {
		v := make([]byte, d.Length)
		for i := range v {
			v[i] = map[Format]byte{FormatN: '7', FormatAN: 'a', FormatANS: '~', FormatZ: '=', FormatHex: 'f', FormatBinary: 0xff}[d.Format]
		}
		out, err := appendField([]byte("x"), &d, v)
		if err != nil {
			t.Fatalf("field %d: %v", d.ID, err)
		}
		start, end, err := scanField(&d, out[1:])
		if err != nil || end != len(out)-1 || string(out[1+start:1+end]) != string(v) {
			t.Fatalf("field %d: read back %d-%d, %v", d.ID, start, end, err)
		}
		long := append(v, v[0])
		if out, err := appendField([]byte("x"), &d, string(long)); !errors.Is(err, ErrLength) || string(out) != "x" {
			t.Fatalf("field %d: %d characters packed: %v", d.ID, len(long), err)
		}
	}
}

package pinblock

import (
	"bytes"
	"crypto/des"
	"errors"
	"testing"
)

func TestFormatAnyReadsTheControlField(t *testing.T) {
	key := []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10,
		0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF}
	c, err := des.NewTripleDESCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	const pan = "4111111111111111"
	for _, f := range []Format{Format0, Format1, Format3} {
		t.Run(f.String(), func(t *testing.T) {
			blk, err := Encipher(f, c, []byte("1234"), pan, nil)
			if err != nil {
				t.Fatal(err)
			}
			pin, err := Decipher(FormatAny, c, blk, pan)
			if err != nil || !bytes.Equal(pin, []byte("1234")) {
				t.Fatalf("Decipher(FormatAny) = %q, %v", pin, err)
			}
		})
	}
	// A format 4 control nibble in an 8-byte block is malformed.
	clear := []byte{0x44, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
	blk := make([]byte, 8)
	c.Encrypt(blk, clear)
	if _, err := Decipher(FormatAny, c, blk, pan); !errors.Is(err, ErrMalformed) {
		t.Fatalf("control 4 in an 8-byte block: err = %v, want ErrMalformed", err)
	}
	if _, err := Encipher(FormatAny, c, []byte("1234"), pan, nil); !errors.Is(err, ErrFormat) {
		t.Fatalf("Encipher(FormatAny) err = %v, want ErrFormat", err)
	}
}

// TestDecipherAnyAcceptsListedFormats: DecipherAny names the format it
// read and refuses, with ErrNotAccepted (not ErrMalformed), a well-formed
// block whose format is not listed; a malformed block stays malformed.
func TestDecipherAnyAcceptsListedFormats(t *testing.T) {
	c, err := des.NewTripleDESCipher(bytes.Repeat([]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF}, 3)[:24])
	if err != nil {
		t.Fatal(err)
	}
	const pan = "4111111111111111"
	boundOnly := []Format{Format0, Format3}
	for _, tc := range []struct {
		f      Format
		accept []Format
		ok     bool
	}{
		{Format0, boundOnly, true},
		{Format3, boundOnly, true},
		{Format1, boundOnly, false},
		{Format1, []Format{Format0, Format1, Format3}, true},
		{Format1, nil, true},
		{Format0, []Format{Format1}, false},
	} {
		blk, err := Encipher(tc.f, c, []byte("4321"), pan, nil)
		if err != nil {
			t.Fatal(err)
		}
		pin, got, err := DecipherAny(tc.accept, c, blk, pan)
		if got != tc.f {
			t.Errorf("%s accepting %v: format %s", tc.f, tc.accept, got)
		}
		switch {
		case tc.ok && (err != nil || string(pin) != "4321"):
			t.Errorf("%s accepting %v: %q, %v", tc.f, tc.accept, pin, err)
		case !tc.ok && (!errors.Is(err, ErrNotAccepted) || errors.Is(err, ErrMalformed) || pin != nil):
			t.Errorf("%s accepting %v: %q, %v; want ErrNotAccepted", tc.f, tc.accept, pin, err)
		}
	}
	clear := []byte{0x44, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
	blk := make([]byte, 8)
	c.Encrypt(blk, clear)
	if _, _, err := DecipherAny(boundOnly, c, blk, pan); !errors.Is(err, ErrMalformed) {
		t.Fatalf("control 4: err = %v, want ErrMalformed", err)
	}
}

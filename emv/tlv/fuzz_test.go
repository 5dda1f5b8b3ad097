package tlv_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/cardhost/cardhost/emv/tlv"
)

// FuzzDecode checks that anything Decode accepts encodes back to the same
// bytes and decodes again to an equal List, and that anything it rejects
// is an *Error with an offset inside the input.
func FuzzDecode(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(mustHex(f, v.Hex))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := tlv.Decode(data)
		if err != nil {
			var e *tlv.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not *tlv.Error", err)
			}
			if e.Offset < 0 || e.Offset > len(data) {
				t.Fatalf("offset %d outside input of %d bytes", e.Offset, len(data))
			}
			return
		}
		enc, err := l.Encode()
		if err != nil {
			t.Fatalf("Encode of decoded list: %v", err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("Encode = %X, want %X", enc, data)
		}
		l2, err := tlv.Decode(enc)
		if err != nil {
			t.Fatalf("Decode of encoding: %v", err)
		}
		if !reflect.DeepEqual(l, l2) {
			t.Fatalf("round trip differs:\n%v\n%v", l, l2)
		}
	})
}

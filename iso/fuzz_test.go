package iso_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/moov-io/iso8583"

	"github.com/cardhost/cardhost/iso"
)

// FuzzUnpack feeds arbitrary messages to Unpack. Seeds are the golden
// messages of testdata/iso (without their length header) plus the corpus
// committed under testdata/fuzz/FuzzUnpack. It checks that Unpack never
// panics, that failures are typed and name a field, and that whatever it
// accepts packs again to a message it reads back identically.
func FuzzUnpack(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.hex"))
	if err != nil {
		f.Fatal(err)
	}
	if len(files) == 0 {
		f.Fatal("no golden messages to seed from")
	}
	for _, path := range files {
		f.Add(readGoldenHex(f, path))
	}

	causes := []error{iso.ErrShort, iso.ErrLength, iso.ErrCharset, iso.ErrUnknownField, iso.ErrTrailingData, iso.ErrMalformed}
	f.Fuzz(func(t *testing.T, msg []byte) {
		m, err := iso.Unpack(msg)
		if err != nil {
			var ue *iso.UnpackError
			if !errors.As(err, &ue) {
				t.Fatalf("error %v is %T, want *iso.UnpackError", err, err)
			}
			known := false
			for _, c := range causes {
				known = known || errors.Is(err, c)
			}
			if !known {
				t.Fatalf("error %v has an unknown cause", err)
			}
			if ue.Field < 0 || ue.Field > 192 {
				t.Fatalf("error names field %d", ue.Field)
			}
			if (ue.Field == iso.FieldMTI) != (m == nil) || ue.MTIReadable() != (m != nil) {
				t.Fatalf("field %d with partial message %v and MTI %q", ue.Field, m != nil, ue.MTI)
			}
			if ue.MTIReadable() && !iso.ValidMTI(ue.MTI) {
				t.Fatalf("readable MTI %q is not valid", ue.MTI)
			}
			return
		}
		packed, err := iso.Pack(m)
		if err != nil {
			t.Fatalf("unpacked message does not pack: %v", err)
		}
		back, err := iso.Unpack(packed)
		if err != nil {
			t.Fatalf("repacked message does not unpack: %v", err)
		}
		again, err := iso.Pack(back)
		if err != nil || !bytes.Equal(again, packed) {
			t.Fatalf("pack is not stable: %v", err)
		}
		if len(packed) > len(msg) {
			t.Fatalf("repacked message grew from %d to %d bytes", len(msg), len(packed))
		}
		sameFields(t, m, back)
	})
}

func sameFields(t *testing.T, a, b *iso8583.Message) {
	t.Helper()
	fa, fb := a.GetFields(), b.GetFields()
	for id := range fa {
		if id == iso.FieldBitmap {
			continue
		}
		va, _ := a.GetBytes(id)
		vb, _ := b.GetBytes(id)
		if !bytes.Equal(va, vb) {
			t.Fatalf("field %d changed after repacking", id)
		}
	}
	if len(fa) != len(fb) {
		t.Fatalf("%d fields before repacking, %d after", len(fa), len(fb))
	}
}

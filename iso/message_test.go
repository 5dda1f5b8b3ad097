package iso_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/cardhost/cardhost/iso"
)

// mustPack packs a message built from fields (text) for tests.
func mustPack(t testing.TB, mti string, fields map[int]string) []byte {
	t.Helper()
	m := iso.NewMessage(mti)
	for id, v := range fields {
		if err := m.Field(id, v); err != nil {
			t.Fatal(err)
		}
	}
	b, err := iso.Pack(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// raw builds a message by hand: MTI, the bitmap as hex and the fields'
// wire bytes, so that tests can write what Pack refuses to.
func raw(mti, bitmap string, wire ...string) []byte {
	return []byte(mti + bitmap + strings.Join(wire, ""))
}

func TestUnpackRoundTrip(t *testing.T) {
	fields := map[int]string{
		2: "4761739001010010", 3: "000000", 4: "000000001000", 7: "1231235959",
		11: "123456", 35: "4761739001010010D2512201", 41: "TERM 01 ", 43: strings.Repeat("x", 40),
		48: "0103123", 52: "0123456789abcdef", 70: "301", 128: "00112233445566FF",
	}
	b := mustPack(t, "0100", fields)
	m, err := iso.Unpack(b)
	if err != nil {
		t.Fatalf("unpack: %v", err)
	}
	for id, want := range fields {
		got, err := m.GetString(id)
		if err != nil || got != want {
			t.Errorf("field %d = %q, %v; want %q", id, got, err, want)
		}
	}
	again, err := iso.Pack(m)
	if err != nil || !bytes.Equal(again, b) {
		t.Fatalf("repack = %q, %v; want %q", again, err, b)
	}
}

func TestUnpackErrors(t *testing.T) {
	const pan = "4761739001010010"
	// 7220000000000000: fields 2, 3, 4, 7, 11. 7020000000000000: 2, 3, 4, 11.
	tests := []struct {
		name      string
		msg       []byte
		field     int
		cause     error
		mti, stan string
		partial   bool // a partial message is returned
	}{
		{"empty", nil, 0, iso.ErrShort, "", "", false},
		{"short MTI", []byte("010"), 0, iso.ErrShort, "", "", false},
		{"MTI not digits", raw("01X0", "0000000000000000"), 0, iso.ErrCharset, "", "", false},
		{"bitmap not hex", raw("0100", "70200000000000ZZ"), 1, iso.ErrMalformed, "0100", "", true},
		{"bitmap cut short", raw("0100", "7020"), 1, iso.ErrMalformed, "0100", "", true},
		{"LL prefix not digits", raw("0100", "7020000000000000", "1X"+pan), 2, iso.ErrLength, "0100", "", true},
		{"LL prefix zero", raw("0100", "7020000000000000", "00"), 2, iso.ErrLength, "0100", "", true},
		{"LL prefix over maximum", raw("0100", "7020000000000000", "20"+pan+"1234"), 2, iso.ErrLength, "0100", "", true},
		{"PAN not digits", raw("0100", "7020000000000000", "16"+pan[:15]+"X"), 2, iso.ErrCharset, "0100", "", true},
		{"ends inside field", raw("0100", "7020000000000000", "16"+pan, "00000"), 3, iso.ErrShort, "0100", "", true},
		{"amount not digits before STAN", raw("0100", "7020000000000000", "16"+pan, "000000", "00000000100A", "123456"), 4, iso.ErrCharset, "0100", "", true},
		{
			"bad field after STAN",
			raw("0100", "7020000000800000", "16"+pan, "000000", "000000001000", "123456", "TERM\x01001"),
			41, iso.ErrCharset, "0100", "123456", true,
		},
		{
			"trailing data",
			raw("0100", "7020000000000000", "16"+pan, "000000", "000000001000", "123456", "XYZ"),
			11, iso.ErrTrailingData, "0100", "123456", true,
		},
		{
			"field not in the spec (secondary bit 100)",
			raw("0100", "F020000000000000", "0000000010000000", "16"+pan, "000000", "000000001000", "123456", "0512345"),
			100, iso.ErrUnknownField, "0100", "123456", true,
		},
		{"non-ASCII in ans field", raw("0100", "0020000000800000", "123456", "TERM\xff001"), 41, iso.ErrCharset, "0100", "123456", true},
		{"track 2 bad separator", raw("0100", "0020000020000000", "123456", "21"+pan+"^2512"), 35, iso.ErrCharset, "0100", "123456", true},
		{"field 55 length beyond message", raw("0100", "0020000000000200", "123456", "010\x9f\x26"), 55, iso.ErrShort, "0100", "123456", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := iso.Unpack(tc.msg)
			var ue *iso.UnpackError
			if !errors.As(err, &ue) {
				t.Fatalf("error = %v (%T), want *iso.UnpackError", err, err)
			}
			if ue.Field != tc.field || !errors.Is(err, tc.cause) {
				t.Errorf("field %d cause %v; want field %d cause %v", ue.Field, ue.Err, tc.field, tc.cause)
			}
			if ue.MTI != tc.mti || ue.STAN != tc.stan {
				t.Errorf("MTI %q STAN %q; want %q %q", ue.MTI, ue.STAN, tc.mti, tc.stan)
			}
			if ue.MTIReadable() != (tc.mti != "") {
				t.Errorf("MTIReadable = %v", ue.MTIReadable())
			}
			if (m != nil) != tc.partial {
				t.Fatalf("partial message returned: %v, want %v", m != nil, tc.partial)
			}
			if iso.FieldOf(fmt.Errorf("wrapped: %w", err)) != tc.field {
				t.Errorf("FieldOf = %d", iso.FieldOf(err))
			}
			if !bytes.Equal(ue.RawMessage, tc.msg) {
				t.Errorf("RawMessage not kept")
			}
			// No card data in the error text or its log value.
			var logged bytes.Buffer
			slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "err", ue)
			for _, text := range []string{err.Error(), fmt.Sprintf("%v %+v %#v", err, err, ue), logged.String()} {
				if strings.Contains(text, pan) || strings.Contains(text, pan[:15]) {
					t.Errorf("error output holds the PAN: %s", text)
				}
			}
			if gs := fmt.Sprintf("%#v", ue); strings.Contains(gs, "RawMessage") || strings.Contains(gs, "0x") {
				t.Errorf("%%#v shows the raw message: %s", gs)
			}
			if m != nil {
				// The failing field is not in the partial message.
				if ue.Field > iso.FieldBitmap && m.GetField(ue.Field) != nil && ue.Err != iso.ErrTrailingData {
					t.Errorf("partial message holds the failing field %d", ue.Field)
				}
				if mti, _ := m.GetMTI(); mti != tc.mti {
					t.Errorf("partial MTI = %q", mti)
				}
			}
		})
	}
}

func TestUnpackLowerCaseHex(t *testing.T) {
	// Bitmaps and hex fields may arrive in lower case. "aa20..." sets bits 1
	// (secondary bitmap), 3, 5, 7 and 11; the secondary sets bit 70.
	b := raw("0800", "aa20000000001000", "0400000000000000",
		"000000", "000000000000", "0621120000", "000001", "0123456789abcdef", "301")
	m, err := iso.Unpack(b)
	if err != nil {
		t.Fatalf("unpack: %v", err)
	}
	for id, want := range map[int]string{3: "000000", 5: "000000000000", 7: "0621120000", 11: "000001", 52: "0123456789abcdef", 70: "301"} {
		if got, _ := m.GetString(id); got != want {
			t.Errorf("field %d = %q, want %q", id, got, want)
		}
	}
	// Repacking writes the bitmap in upper case.
	again, err := iso.Pack(m)
	if err != nil {
		t.Fatal(err)
	}
	if want := bytes.ToUpper(b[:36]); !bytes.Equal(again[:36], want) {
		t.Errorf("repacked bitmap %q, want %q", again[:36], want)
	}
}

func TestPackErrors(t *testing.T) {
	tests := []struct {
		name  string
		id    int
		value string
		cause error
	}{
		{"fixed too short", 3, "00000", iso.ErrLength},
		{"fixed too long", 11, "1234567", iso.ErrLength},
		{"numeric with letter", 4, "00000000100A", iso.ErrCharset},
		{"LL over maximum", 2, strings.Repeat("4", 20), iso.ErrLength},
		{"LL empty", 2, "", iso.ErrLength},
		{"hex field not hex", 52, "0123456789ABCDEG", iso.ErrCharset},
		{"ans with control character", 43, strings.Repeat("a", 39) + "\n", iso.ErrCharset},
		{"an with punctuation", 39, "0!", iso.ErrCharset},
		{"track 2 with letter", 35, "4761739001010010X2512", iso.ErrCharset},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := iso.NewMessage("0110")
			if err := m.Field(tc.id, tc.value); err != nil {
				t.Fatal(err)
			}
			_, err := iso.Pack(m)
			var fe *iso.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.id || !errors.Is(err, tc.cause) {
				t.Fatalf("error = %v; want field %d %v", err, tc.id, tc.cause)
			}
			if tc.value != "" && strings.Contains(err.Error(), tc.value) {
				t.Errorf("error holds the value: %v", err)
			}
		})
	}
	t.Run("no MTI", func(t *testing.T) {
		m := iso.NewMessage("")
		_ = m.Field(11, "000001")
		if _, err := iso.Pack(m); !errors.Is(err, iso.ErrMissingMTI) {
			t.Fatalf("error = %v, want ErrMissingMTI", err)
		}
	})
}

func TestBinaryFieldCountsBytes(t *testing.T) {
	icc := []byte{0x9f, 0x26, 0x08, 0, 1, 2, 3, 4, 5, 6, 7, 0x0a, 0x30, 0x30}
	m := iso.NewMessage("0100")
	_ = m.Field(11, "000001")
	if err := m.BinaryField(55, icc); err != nil {
		t.Fatal(err)
	}
	b, err := iso.Pack(m)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte("0100"+"0020000000000200"+"000001"+"014"), icc...)
	if !bytes.Equal(b, want) {
		t.Fatalf("packed %q\nwant   %q", b, want)
	}
	back, err := iso.Unpack(b)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := back.GetBytes(55)
	if !bytes.Equal(got, icc) {
		t.Fatalf("field 55 = % X", got)
	}
	// The unpacked value does not alias the input buffer.
	for i := range b {
		b[i] = 0
	}
	if got, _ := back.GetBytes(55); !bytes.Equal(got, icc) {
		t.Fatalf("field 55 aliases the input: % X", got)
	}
}

func TestFields(t *testing.T) {
	rows := iso.Fields()
	prev := -1
	for _, d := range rows {
		if d.ID <= prev {
			t.Errorf("field %d out of order after %d", d.ID, prev)
		}
		prev = d.ID
		if _, ok := iso.Spec.Fields[d.ID]; !ok {
			t.Errorf("field %d missing from Spec", d.ID)
		}
		if got, ok := iso.Lookup(d.ID); !ok || got != d {
			t.Errorf("Lookup(%d) = %v, %v", d.ID, got, ok)
		}
	}
	if len(iso.Spec.Fields) != len(rows) {
		t.Errorf("Spec has %d fields, table %d", len(iso.Spec.Fields), len(rows))
	}
	for _, id := range []int{-1, 65, 100, 129} {
		if _, ok := iso.Lookup(id); ok {
			t.Errorf("Lookup(%d) found an undefined field", id)
		}
	}
	// The rows DESIGN.md changes from Spec87ASCII.
	notation := map[int]string{
		2: "n..19", 7: "n10", 35: "z..37", 43: "ans40", 48: "ans...999", 52: "h16",
		54: "an...120", 55: "b...999", 70: "n3", 90: "n42", 95: "an42", 128: "h16",
	}
	for id, want := range notation {
		d, _ := iso.Lookup(id)
		if got := d.Notation(); got != want {
			t.Errorf("field %d notation = %q, want %q", id, got, want)
		}
	}
}

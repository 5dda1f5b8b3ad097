package iso_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/iso"
)

const cavv = "00000000000000000000123456789ABCDEF01234"

// fieldCase is one value of a structured field: what it decodes to, or
// the cause its parser fails with.
type fieldCase[T any] struct {
	name  string
	in    string
	want  T
	cause error
}

// checkField runs parse on each case: a failure must name the field and
// wrap the case's cause; a success must decode to want and encode back to
// the same value.
func checkField[T any](t *testing.T, field int, parse func(string) (T, error), encode func(T) (string, error), cases []fieldCase[T]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parse(tc.in)
			if tc.cause != nil {
				if !errors.Is(err, tc.cause) || iso.FieldOf(err) != field {
					t.Fatalf("error = %v, want field %d %v", err, field, tc.cause)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("= %+v, %v; want %+v", got, err, tc.want)
			}
			if enc, err := encode(got); err != nil || enc != tc.in {
				t.Fatalf("Encode = %q, %v", enc, err)
			}
		})
	}
}

func TestParsePrivateData(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    iso.PrivateData
		element string // failing element ("" when the failure is not in one)
		cause   error
	}{
		{"all known elements", "0103123" + "020205" + "0340" + cavv + "0401Y",
			iso.PrivateData{{"01", "123"}, {"02", "05"}, {"03", cavv}, {"04", "Y"}}, "", nil},
		{"four-digit CVV2", "01041234", iso.PrivateData{{"01", "1234"}}, "", nil},
		{"unknown element kept", "9905hello0401N", iso.PrivateData{{"99", "hello"}, {"04", "N"}}, "", nil},
		{"lower-case CAVV", "0340" + strings.ToLower(cavv), iso.PrivateData{{"03", strings.ToLower(cavv)}}, "", nil},
		{"empty field", "", nil, "", nil},
		{"tag cut", "010", nil, "", iso.ErrShort},
		{"tag not digits", "0A03123", nil, "", iso.ErrCharset},
		{"length not digits", "01X3123", nil, "01", iso.ErrLength},
		{"zero length", "0100", nil, "01", iso.ErrLength},
		{"value cut", "0105123", nil, "01", iso.ErrShort},
		{"CVV2 not digits", "01031X3", nil, "01", iso.ErrInvalidValue},
		{"CVV2 too short", "010212", nil, "01", iso.ErrInvalidValue},
		{"ECI one digit", "02015", nil, "02", iso.ErrInvalidValue},
		{"CAVV 39 characters", "0339" + cavv[:39], nil, "03", iso.ErrInvalidValue},
		{"CAVV not hex", "0340" + cavv[:39] + "Z", nil, "03", iso.ErrInvalidValue},
		{"partial flag lower-case", "0401y", nil, "04", iso.ErrInvalidValue},
		{"duplicate element", "0103123" + "0103456", nil, "01", iso.ErrInvalidValue},
		{"control character", "9903a\x00b", nil, "99", iso.ErrCharset},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := iso.ParsePrivateData(tc.in)
			if tc.cause != nil {
				var fe *iso.FieldError
				if !errors.As(err, &fe) || fe.Field != 48 || fe.Element != tc.element || !errors.Is(err, tc.cause) {
					t.Fatalf("error = %v; want field 48 element %q %v", err, tc.element, tc.cause)
				}
				if strings.Contains(err.Error(), "123") || strings.Contains(err.Error(), "456") {
					t.Errorf("error holds a value: %v", err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("= %v %#v, %v; want %#v", got, []iso.Element(got), err, []iso.Element(tc.want))
			}
			enc, err := got.Encode()
			if err != nil || enc != tc.in {
				t.Fatalf("Encode = %q, %v; want %q", enc, err, tc.in)
			}
		})
	}
}

func TestPrivateDataAccessAndMasking(t *testing.T) {
	p, err := iso.ParsePrivateData("0103987" + "020205")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := p.Get(iso.ElementCVV2); !ok || v != "987" {
		t.Errorf("Get(01) = %q, %v", v, ok)
	}
	if _, ok := p.Get(iso.ElementCAVV); ok {
		t.Error("Get(03) found an absent element")
	}
	for _, s := range []string{p.String(), fmt.Sprintf("%v %+v %#v", p, p, p), fmt.Sprint(p[0]), fmt.Sprintf("%#v", p[0])} {
		if strings.Contains(s, "987") {
			t.Errorf("formatted private data holds the CVV2: %s", s)
		}
	}
	if got := p.String(); got != "48[01 02]" {
		t.Errorf("String = %q", got)
	}
	if _, err := (iso.PrivateData{{"01", "123"}, {"01", "123"}}).Encode(); !errors.Is(err, iso.ErrInvalidValue) {
		t.Errorf("Encode with duplicate = %v", err)
	}
	long := iso.PrivateData{}
	for i := 0; i < 11; i++ {
		long = append(long, iso.Element{Tag: fmt.Sprintf("%02d", 50+i), Value: strings.Repeat("x", 99)})
	}
	if _, err := long.Encode(); !errors.Is(err, iso.ErrLength) {
		t.Errorf("Encode over 999 characters = %v", err)
	}
}

func TestAdditionalAmounts(t *testing.T) {
	checkField(t, 54, iso.ParseAdditionalAmounts, iso.EncodeAdditionalAmounts, []fieldCase[[]iso.AdditionalAmount]{
		{"ledger and available", "0001840C000000150000" + "0002840D000000000125",
			[]iso.AdditionalAmount{{"00", "01", "840", 150000}, {"00", "02", "840", -125}}, nil},
		{"one entry", "2002978C000000000000", []iso.AdditionalAmount{{"20", "02", "978", 0}}, nil},
		{"empty", "", nil, iso.ErrLength},
		{"partial entry", "0001840C00000015000", nil, iso.ErrLength},
		{"bad sign", "0001840X000000150000", nil, iso.ErrInvalidValue},
		{"amount not digits", "0001840C00000015000A", nil, iso.ErrInvalidValue},
		{"currency not digits", "0001USDC000000150000", nil, iso.ErrInvalidValue},
	})
	encodeErrors := map[string][]iso.AdditionalAmount{
		"none":         nil,
		"seven":        make([]iso.AdditionalAmount, 7),
		"amount large": {{"00", "02", "840", iso.MaxAmount + 1}},
		"short type":   {{"0", "02", "840", 1}},
	}
	for name, in := range encodeErrors {
		if _, err := iso.EncodeAdditionalAmounts(in); iso.FieldOf(err) != 54 {
			t.Errorf("Encode %s: error = %v", name, err)
		}
	}
}

func TestOriginalData(t *testing.T) {
	const valid = "0100" + "000101" + "0621143005" + "00000123456" + "00000000000"
	o, err := iso.ParseOriginalData(valid)
	want := iso.OriginalData{MTI: "0100", STAN: "000101", TransmissionTime: "0621143005", AcquirerID: "00000123456", ForwardingID: "00000000000"}
	if err != nil || o != want {
		t.Fatalf("Parse = %+v, %v", o, err)
	}
	// Encode zero-fills short institution ids.
	short := want
	short.AcquirerID, short.ForwardingID = "123456", ""
	if s, err := short.Encode(); err != nil || s != valid {
		t.Fatalf("Encode = %q, %v; want %q", s, err, valid)
	}
	tests := []struct {
		name  string
		in    string
		cause error
	}{
		{"41 digits", valid[:41], iso.ErrLength},
		{"letter", "010A" + valid[4:], iso.ErrCharset},
		{"month 13", valid[:10] + "1321143005" + valid[20:], iso.ErrInvalidValue},
		{"30 February", valid[:10] + "0230143005" + valid[20:], iso.ErrInvalidValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := iso.ParseOriginalData(tc.in); !errors.Is(err, tc.cause) || iso.FieldOf(err) != 90 {
				t.Fatalf("error = %v, want field 90 %v", err, tc.cause)
			}
		})
	}
	if got := iso.PadInstitutionID("42"); got != "00000000042" {
		t.Errorf("PadInstitutionID = %q", got)
	}
	bad := want
	bad.STAN = "1"
	if _, err := bad.Encode(); !errors.Is(err, iso.ErrLength) {
		t.Errorf("Encode short STAN = %v", err)
	}
}

func TestReplacementAmounts(t *testing.T) {
	checkField(t, 95, iso.ParseReplacementAmounts, iso.ReplacementAmounts.Encode, []fieldCase[iso.ReplacementAmounts]{
		{"partial", "000000006000" + "000000006000" + "C00000000" + "C00000000", iso.ReplacementAmounts{6000, 6000, 0, 0}, nil},
		{"fees", "000000000100" + "000000000200" + "D00000150" + "C00000025", iso.ReplacementAmounts{100, 200, -150, 25}, nil},
		{"short", "000000006000", iso.ReplacementAmounts{}, iso.ErrLength},
		{"bad fee sign", "000000006000" + "000000006000" + "X00000000" + "C00000000", iso.ReplacementAmounts{}, iso.ErrInvalidValue},
		{"amount with space", "00000000600 " + "000000006000" + "C00000000" + "C00000000", iso.ReplacementAmounts{}, iso.ErrInvalidValue},
	})
	if _, err := (iso.ReplacementAmounts{Actual: -1}).Encode(); !errors.Is(err, iso.ErrInvalidValue) {
		t.Errorf("Encode negative = %v", err)
	}
	if _, err := (iso.ReplacementAmounts{TransactionFee: 1e9}).Encode(); !errors.Is(err, iso.ErrInvalidValue) {
		t.Errorf("Encode fee over 8 digits = %v", err)
	}
}

func TestAmount(t *testing.T) {
	if s, ok := iso.FormatAmount(2000); !ok || s != "000000002000" {
		t.Errorf("FormatAmount = %q, %v", s, ok)
	}
	if _, ok := iso.FormatAmount(-1); ok {
		t.Error("FormatAmount(-1) ok")
	}
	if _, ok := iso.FormatAmount(iso.MaxAmount + 1); ok {
		t.Error("FormatAmount(max+1) ok")
	}
	if v, ok := iso.ParseAmount("999999999999"); !ok || v != iso.MaxAmount {
		t.Errorf("ParseAmount = %d, %v", v, ok)
	}
	for _, s := range []string{"", "12", "-00000000001", "00000000001x"} {
		if _, ok := iso.ParseAmount(s); ok {
			t.Errorf("ParseAmount(%q) ok", s)
		}
	}
}

func TestTransmissionTime(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name string
		in   string
		now  time.Time
		want time.Time // zero: invalid
	}{
		{"same day", "0621143005", at("2025-06-21T14:30:09Z"), at("2025-06-21T14:30:05Z")},
		{"sent before New Year", "1231235959", at("2026-01-01T00:00:02Z"), at("2025-12-31T23:59:59Z")},
		{"clock ahead over New Year", "0101000001", at("2025-12-31T23:59:58Z"), at("2026-01-01T00:00:01Z")},
		{"29 February in a leap year", "0229120000", at("2028-02-29T12:00:01Z"), at("2028-02-29T12:00:00Z")},
		{"29 February otherwise", "0229120000", at("2026-06-01T00:00:00Z"), time.Time{}},
		{"month 00", "0021143005", at("2025-06-21T14:30:09Z"), time.Time{}},
		{"hour 24", "0621243005", at("2025-06-21T14:30:09Z"), time.Time{}},
		{"letters", "06211430xx", at("2025-06-21T14:30:09Z"), time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := iso.ParseTransmissionTime(tc.in, tc.now)
			if tc.want.IsZero() {
				if iso.FieldOf(err) != 7 {
					t.Fatalf("= %v, %v; want a field 7 error", got, err)
				}
				return
			}
			if err != nil || !got.Equal(tc.want) {
				t.Fatalf("= %v, %v; want %v", got, err, tc.want)
			}
			if s := iso.FormatTransmissionTime(got); s != tc.in {
				t.Errorf("Format = %q", s)
			}
		})
	}
}

func TestAlphanumeric(t *testing.T) {
	for s, want := range map[string]bool{"": true, "A1B2C3": true, "abc123": true, "AB 123": false, "AB-123": false, "ÄB1234": false} {
		if got := iso.Alphanumeric(s); got != want {
			t.Errorf("Alphanumeric(%q) = %v, want %v", s, got, want)
		}
	}
}

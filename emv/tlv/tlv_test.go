package tlv_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cardhost/cardhost/emv/tlv"
)

type vectorObject struct {
	Tag      string         `json:"tag"`
	Value    *string        `json:"value"`
	Children []vectorObject `json:"children"`
}

type vector struct {
	Name    string         `json:"name"`
	Source  string         `json:"source"`
	Hex     string         `json:"hex"`
	Objects []vectorObject `json:"objects"`
	Error   string         `json:"error"`
	Offset  int            `json:"offset"`
}

var sentinels = map[string]error{
	"ErrTruncated":        tlv.ErrTruncated,
	"ErrIndefiniteLength": tlv.ErrIndefiniteLength,
	"ErrLengthTooLong":    tlv.ErrLengthTooLong,
	"ErrNonMinimalLength": tlv.ErrNonMinimalLength,
	"ErrTagTooLong":       tlv.ErrTagTooLong,
	"ErrInvalidTag":       tlv.ErrInvalidTag,
	"ErrTooDeep":          tlv.ErrTooDeep,
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "vectors", "tlv_field55.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Vectors []vector `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	return f.Vectors
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func toList(t testing.TB, objs []vectorObject) tlv.List {
	t.Helper()
	var l tlv.List
	for _, o := range objs {
		tag, err := tlv.ParseTag(o.Tag)
		if err != nil {
			t.Fatal(err)
		}
		if o.Value != nil {
			l = append(l, tlv.New(tag, mustHex(t, *o.Value)))
		} else {
			l = append(l, tlv.NewConstructed(tag, toList(t, o.Children)...))
		}
	}
	return l
}

func TestDecodePublishedVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			in := mustHex(t, v.Hex)
			got, err := tlv.Decode(in)
			if v.Error != "" {
				want, ok := sentinels[v.Error]
				if !ok {
					t.Fatalf("unknown error %q in vector", v.Error)
				}
				var e *tlv.Error
				if !errors.As(err, &e) || !errors.Is(err, want) {
					t.Fatalf("Decode error = %v, want %s", err, v.Error)
				}
				if e.Offset != v.Offset {
					t.Errorf("offset = %d, want %d", e.Offset, v.Offset)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			want := toList(t, v.Objects)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Decode =\n%v\nwant\n%v", got, want)
			}
			enc, err := got.Encode()
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !bytes.Equal(enc, in) {
				t.Errorf("Encode = %X, want %X", enc, in)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name   string
		hex    string
		want   error
		offset int
		tag    tlv.Tag
	}{
		{"empty tag continuation", "9F", tlv.ErrTruncated, 0, 0},
		{"missing length", "9F26", tlv.ErrTruncated, 0, 0x9F26},
		{"value short", "9F260401020304" + "9F2701", tlv.ErrTruncated, 7, 0x9F27},
		{"indefinite length", "7080" + "0000", tlv.ErrIndefiniteLength, 0, 0x70},
		{"four length bytes", "5A8400000001" + "11", tlv.ErrLengthTooLong, 0, 0x5A},
		{"over max length", "5A83010000", tlv.ErrLengthTooLong, 0, 0x5A},
		{"non-minimal 81", "5A8105" + "0102030405", tlv.ErrNonMinimalLength, 0, 0x5A},
		{"non-minimal 82", "5A820081" + strings.Repeat("00", 0x81), tlv.ErrNonMinimalLength, 0, 0x5A},
		{"length bytes truncated", "5A82", tlv.ErrTruncated, 0, 0x5A},
		{"five byte tag", "9F8181810100", tlv.ErrTagTooLong, 0, 0},
		{"trailing zero padding", "9F360200630000", tlv.ErrInvalidTag, 5, 0},
		{"trailing FF", "9F36020063FF", tlv.ErrInvalidTag, 5, 0},
		{"leading padding", "009F36020063", tlv.ErrInvalidTag, 0, 0},
		{"constructed with trailing garbage", "7006" + "9F3602006300", tlv.ErrInvalidTag, 7, 0},
		{"constructed child truncated", "7003" + "9F3602", tlv.ErrTruncated, 2, 0x9F36},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := mustHex(t, tc.hex)
			_, err := tlv.Decode(in)
			var e *tlv.Error
			if !errors.As(err, &e) {
				t.Fatalf("Decode error = %v, want *tlv.Error", err)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode error = %v, want %v", err, tc.want)
			}
			if e.Offset != tc.offset {
				t.Errorf("offset = %d, want %d", e.Offset, tc.offset)
			}
			if e.Tag != tc.tag {
				t.Errorf("tag = %s, want %s", e.Tag, tc.tag)
			}
		})
	}
}

func TestDecodeDepthLimit(t *testing.T) {
	nested := func(n int) []byte { // n templates: 70 L (70 L (... 70 00))
		b := []byte{0x70, 0x00}
		for i := 1; i < n; i++ {
			b = append([]byte{0x70, byte(len(b))}, b...)
		}
		return b
	}
	if _, err := tlv.Decode(nested(tlv.MaxDepth)); err != nil {
		t.Fatalf("Decode of %d nested templates: %v", tlv.MaxDepth, err)
	}
	_, err := tlv.Decode(nested(tlv.MaxDepth + 1))
	if !errors.Is(err, tlv.ErrTooDeep) {
		t.Fatalf("Decode error = %v, want ErrTooDeep", err)
	}
	deep := tlv.List{tlv.NewConstructed(0x70)}
	for i := 0; i < tlv.MaxDepth; i++ {
		deep = tlv.List{tlv.NewConstructed(0x70, deep...)}
	}
	if _, err := deep.Encode(); !errors.Is(err, tlv.ErrTooDeep) {
		t.Fatalf("Encode error = %v, want ErrTooDeep", err)
	}
}

func TestDecodeLongForms(t *testing.T) {
	tests := []struct {
		name   string
		header string
		n      int
	}{
		{"one byte 127", "5A7F", 127},
		{"81 128", "5A8180", 128},
		{"81 255", "5A81FF", 255},
		{"82 256", "5A820100", 256},
		{"82 max", "5A82FFFF", tlv.MaxLength},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := append(mustHex(t, tc.header), bytes.Repeat([]byte{0x31}, tc.n)...)
			l, err := tlv.Decode(in)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(l) != 1 || len(l[0].Value) != tc.n {
				t.Fatalf("got %d objects, value length %d", len(l), len(l[0].Value))
			}
			out, err := l.Encode()
			if err != nil || !bytes.Equal(out, in) {
				t.Fatalf("Encode round trip differs (err %v)", err)
			}
		})
	}
}

func TestDecodeCopiesInput(t *testing.T) {
	in := mustHex(t, "9F360200639F2701")
	in = append(in, 0x80)
	l, err := tlv.Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	in[3] = 0xFF
	if v, _ := l.Value(tlv.TagATC); !bytes.Equal(v, []byte{0x00, 0x63}) {
		t.Fatalf("value changed with input buffer: %X", v)
	}
}

func TestFindAndValue(t *testing.T) {
	in := mustHex(t, loadVectors(t)[2].Hex) // constructed_templates
	l, err := tlv.Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	aid, ok := l.Value(0x4F)
	if !ok || !bytes.Equal(aid, mustHex(t, "A000000308000010000100")) {
		t.Errorf("Value(4F) = %X, %v: want the first 4F, depth first", aid, ok)
	}
	url, ok := l.Value(0x5F50)
	if !ok || string(url) != "www.oberthur.com" {
		t.Errorf("Value(5F50) = %q, %v", url, ok)
	}
	if _, ok := l.Value(0x61); ok {
		t.Error("Value of a constructed tag must report not found")
	}
	if tpl, ok := l.Find(0x79); !ok || len(tpl.Children) != 1 {
		t.Errorf("Find(79) = %+v, %v", tpl, ok)
	}
	if _, ok := l.Find(0x9F26); ok {
		t.Error("Find(9F26) found a tag that is absent")
	}
}

func TestMap(t *testing.T) {
	l, err := tlv.Decode(mustHex(t, "9F360200639F2701809F36020064"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Map(); !errors.Is(err, tlv.ErrDuplicateTag) {
		t.Fatalf("Map error = %v, want ErrDuplicateTag", err)
	}
	m, err := l[:2].Map()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m[tlv.TagCryptogramInformationData], []byte{0x80}) || len(m) != 2 {
		t.Fatalf("Map = %X", m)
	}
}

func TestEncodeRejects(t *testing.T) {
	tests := []struct {
		name string
		l    tlv.List
		want error
	}{
		{"zero tag", tlv.List{tlv.New(0, []byte{1})}, tlv.ErrInvalidTag},
		{"tag with missing continuation", tlv.List{tlv.New(0x9F, []byte{1})}, tlv.ErrInvalidTag},
		{"tag with extra byte", tlv.List{tlv.New(0x5A01, []byte{1})}, tlv.ErrInvalidTag},
		{"primitive with children", tlv.List{{Tag: 0x9F26, Children: tlv.List{tlv.New(0x5A, nil)}}}, tlv.ErrInvalidObject},
		{"constructed with value", tlv.List{{Tag: 0x70, Value: []byte{1}}}, tlv.ErrInvalidObject},
		{"value too long", tlv.List{tlv.New(0x5A, make([]byte, tlv.MaxLength+1))}, tlv.ErrLengthTooLong},
		{"bad child", tlv.List{tlv.NewConstructed(0x70, tlv.New(0xFF, nil))}, tlv.ErrInvalidTag},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.l.Encode()
			if !errors.Is(err, tc.want) {
				t.Fatalf("Encode error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestParseTag(t *testing.T) {
	tests := []struct {
		in      string
		want    tlv.Tag
		wantErr bool
	}{
		{"9F26", 0x9F26, false},
		{"5f34", 0x5F34, false},
		{"91", 0x91, false},
		{"DF8101", 0xDF8101, false},
		{"", 0, true},
		{"9F", 0, true},
		{"5A5A", 0, true},
		{"00", 0, true},
		{"9F8181818101", 0, true},
		{"zz", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := tlv.ParseTag(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseTag(%q) error = %v", tc.in, err)
			}
			if err != nil && !errors.Is(err, tlv.ErrInvalidTag) {
				t.Fatalf("error %v does not wrap ErrInvalidTag", err)
			}
			if got != tc.want {
				t.Fatalf("ParseTag(%q) = %s, want %s", tc.in, got, tc.want)
			}
			if err == nil && got.String() != strings.ToUpper(tc.in) {
				t.Fatalf("String = %s", got)
			}
		})
	}
}

func TestStringMasksCardData(t *testing.T) {
	l := tlv.List{
		tlv.New(tlv.TagTrack2, mustHex(t, "4761739001010010D22122011143804400000F")),
		tlv.New(tlv.TagPAN, mustHex(t, "4761739001010010")),
		tlv.NewConstructed(0x70, tlv.New(tlv.TagCardholderName, []byte("CARDHOLDER/VISA"))),
		tlv.New(tlv.TagATC, []byte{0x00, 0x63}),
	}
	s := l.String()
	for _, leak := range []string{"4761739001010010", "CARDHOLDER", "43415244"} {
		if strings.Contains(strings.ToUpper(s), strings.ToUpper(leak)) {
			t.Errorf("String leaks %q:\n%s", leak, s)
		}
	}
	if !strings.Contains(s, "9F36 0063") {
		t.Errorf("String lacks the ATC:\n%s", s)
	}
}

func TestErrorMessageHasNoValue(t *testing.T) {
	// Track 2 with an overstated length: the error must not echo the value.
	in := mustHex(t, "5713"+"4761739001010010D2212201")
	_, err := tlv.Decode(in)
	if err == nil {
		t.Fatal("want error")
	}
	if strings.Contains(err.Error(), "4761") {
		t.Fatalf("error leaks card data: %v", err)
	}
}

func TestResponseICC(t *testing.T) {
	arpc := mustHex(t, "2263BCC1C2D9C442")
	tests := []struct {
		name    string
		iad     []byte
		scripts []tlv.TLV
		want    string
		wantErr error
	}{
		{"method 1 ARPC and ARC", append(append([]byte{}, arpc...), '0', '0'), nil, "910A2263BCC1C2D9C4423030", nil},
		{"method 2 ARPC and CSU", mustHex(t, "1122334400800000"), nil, "91081122334400800000", nil},
		{"with script", append(append([]byte{}, arpc...), '0', '5'),
			[]tlv.TLV{tlv.NewConstructed(tlv.TagIssuerScript2, tlv.New(0x86, mustHex(t, "8424000008AABBCCDDEEFF0011")))},
			"910A2263BCC1C2D9C4423035720F860D8424000008AABBCCDDEEFF0011", nil},
		{"nothing", nil, nil, "", nil},
		{"too short", arpc[:7], nil, "", tlv.ErrIssuerAuthData},
		{"too long", make([]byte, 17), nil, "", tlv.ErrIssuerAuthData},
		{"not a script", arpc, []tlv.TLV{tlv.New(0x9F36, []byte{1})}, "", tlv.ErrInvalidObject},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tlv.ResponseICC(tc.iad, tc.scripts...)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error = %v, want %v", err, tc.wantErr)
			}
			if hex.EncodeToString(got) != strings.ToLower(tc.want) {
				t.Fatalf("ResponseICC = %X, want %s", got, tc.want)
			}
		})
	}
}

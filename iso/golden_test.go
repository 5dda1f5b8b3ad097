package iso_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/field"

	"github.com/cardhost/cardhost/iso"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/iso")

// goldenDir holds the golden packed messages and their expected decodes.
const goldenDir = "../testdata/iso"

// visaContactlessICC is field 55 of the chip golden messages: the Visa
// contactless request TLV published in CyberSource's REST samples (see
// testdata/vectors/tlv_field55.json, "visa_contactless_request").
const visaContactlessICC = "9F3303204000950500000000009F3704518823719F100706011103A000009F26081E1756ED0E2134E29F36020015820200009C01009F1A0208409A030006219F02060000000020005F2A0208409F0306000000000000"

// unionPayPBOCICC is field 55 of the UnionPay golden request: the tags of
// the published PBOC example (testdata/vectors/cvn.json, source
// "pboc-example"), in the order the example lists them.
const unionPayPBOCICC = "9F26085D016C91005E7CC2" + "9F270180" + "9F101307000103A04002010A010000001000D1F61152" +
	"9F37041E78EEBC" + "9F36020240" + "95050080046000" + "9A03140701" + "9C0100" + "9F0206000000000001" +
	"5F2A020156" + "82027D00" + "9F1A020156" + "9F0306000000000000" + "9F330360E1C8" + "9F3403020300" +
	"9F350122" + "9F1E083833323049434300" + "8408A000000333010101" + "9F09020020" + "9F410400000007"

// Shared values of the golden messages: a Visa test card, one acquirer,
// terminal and merchant.
const (
	gPAN      = "4761739001010010"
	gAcquirer = "123456"
	gTerminal = "TERM0001"
	gMerchant = "MERCHANT0000001"
	gAcceptor = "CARDHOST TEST MERCHANT   SAN JOSE     US"
	gTrack2   = "4761739001010010=25122011234567800000" // PAN=YYMM SSS PVKI PVV CVV fill
)

// goldenCase is one golden message: the fields it is built from and what
// it is for. The .hex file pins its packed bytes; the .json file its decode.
type goldenCase struct {
	name        string
	description string
	mti         string
	fields      map[int]string // text fields
	icc         string         // field 55 as hex ("" when absent)
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{
			name:        "0100_chip",
			description: "Authorization request, contactless chip (22=071) purchase of 20.00 USD with track 2 equivalent data and ICC data; field 55 is the Visa contactless request TLV published in CyberSource's REST samples (testdata/vectors/tlv_field55.json).",
			mti:         iso.MTIAuthorizationRequest,
			fields: map[int]string{
				2: gPAN, 3: "000000", 4: "000000002000", 7: "0621143005", 11: "000101",
				12: "143005", 13: "0621", 14: "2512", 18: "5411", 19: "840", 22: "071", 23: "001",
				32: gAcquirer, 35: gTrack2, 37: "617214000101", 41: gTerminal, 42: gMerchant,
				43: gAcceptor, 49: "840",
			},
			icc: visaContactlessICC,
		},
		{
			name:        "0100_chip_unionpay",
			description: "Authorization request, UnionPay contact chip (22=051) purchase of 0.01 CNY (49=156) by an acquirer in China (19=156); field 55 is the GENERATE AC data of the published PBOC example (testdata/vectors/cvn.json, UnionPay CVN 01: 9F10 of 19 bytes, AID 84 A000000333010101), whose ARQC 5D016C91005E7CC2 the host verifies.",
			mti:         iso.MTIAuthorizationRequest,
			fields: map[int]string{
				2: "6228000100001", 3: "000000", 4: "000000000001", 7: "0701063000", 11: "000111",
				12: "143000", 13: "0701", 14: "2512", 18: "5411", 19: "156", 22: "051", 23: "001",
				32: gAcquirer, 35: "6228000100001=25122011234567800000", 37: "618206000111", 41: gTerminal, 42: gMerchant,
				43: "CARDHOST TEST MERCHANT   SHANGHAI     CN", 49: "156",
			},
			icc: unionPayPBOCICC,
		},
		{
			name:        "0100_magstripe_pin",
			description: "Authorization request, ATM cash withdrawal (3=010000, MCC 6011) of 100.00 USD read from the magnetic stripe (22=901: full track, terminal accepts PIN) with an ISO format 0 PIN block in field 52.",
			mti:         iso.MTIAuthorizationRequest,
			fields: map[int]string{
				2: gPAN, 3: "010000", 4: "000000010000", 7: "0621143510", 11: "000102",
				12: "143510", 13: "0621", 14: "2512", 18: "6011", 19: "840", 22: "901",
				32: gAcquirer, 35: gTrack2, 37: "617214000102", 41: gTerminal, 42: gMerchant,
				43: gAcceptor, 49: "840", 52: "8B2E61A2D1C4F3E0",
			},
		},
		{
			name:        "0100_ecommerce",
			description: "Authorization request, e-commerce (22=810) purchase of 49.99 USD with field 48 elements 01 CVV2, 02 ECI 05 (Visa fully authenticated), 03 CAVV (40 hex characters) and 04 partial approval supported.",
			mti:         iso.MTIAuthorizationRequest,
			fields: map[int]string{
				2: gPAN, 3: "000000", 4: "000000004999", 7: "0621144000", 11: "000103",
				12: "144000", 13: "0621", 14: "2512", 18: "5732", 19: "840", 22: "810",
				32: gAcquirer, 37: "617214000103", 41: gTerminal, 42: gMerchant, 43: gAcceptor,
				48: "0103123" + "020205" + "0340" + "00000000000000000000123456789ABCDEF01234" + "0401Y",
				49: "840",
			},
		},
		{
			name:        "0110_approval",
			description: "Authorization response to 0100_chip: approved (39=00) with approval code 38 and field 55 tag 91 (issuer authentication data: 8-byte ARPC || ARC 3030, ARPC method 1).",
			mti:         iso.MTIAuthorizationResponse,
			fields: map[int]string{
				2: gPAN, 3: "000000", 4: "000000002000", 7: "0621143005", 11: "000101",
				12: "143005", 13: "0621", 32: gAcquirer, 37: "617214000101", 38: "A1B2C3",
				39: "00", 41: gTerminal, 42: gMerchant, 49: "840",
			},
			icc: "910A" + "5A0BD36CB6C6E3B9" + "3030",
		},
		{
			name:        "0200",
			description: "Financial request (authorize and capture at once), magnetic stripe purchase (22=902: terminal cannot accept PIN) of 12.34 EUR.",
			mti:         iso.MTIFinancialRequest,
			fields: map[int]string{
				2: gPAN, 3: "000000", 4: "000000001234", 7: "0621150000", 11: "000104",
				12: "170000", 13: "0621", 14: "2512", 18: "5812", 19: "528", 22: "902",
				32: gAcquirer, 35: gTrack2, 37: "617215000104", 41: gTerminal, 42: gMerchant,
				43: "CARDHOST TEST CAFE       AMSTERDAM    NL", 49: "978",
			},
		},
		{
			name:        "0120",
			description: "Authorization advice: the network stood in and approved (38, 39=00) a 15.00 USD contactless purchase; the host records it and answers 0130.",
			mti:         iso.MTIAuthorizationAdvice,
			fields: map[int]string{
				2: gPAN, 3: "000000", 4: "000000001500", 7: "0621151500", 11: "000105",
				12: "151500", 13: "0621", 14: "2512", 18: "5411", 19: "840", 22: "071",
				32: gAcquirer, 37: "617215000105", 38: "SI0001", 39: "00", 41: gTerminal,
				42: gMerchant, 43: gAcceptor, 49: "840",
			},
		},
		{
			name:        "0220",
			description: "Financial advice (capture) completing the 0100_chip authorization (field 90 names the original 0100, STAN 000101, sent 0621143005 by acquirer 123456) for its full 20.00 USD, carrying the original approval code in 38.",
			mti:         iso.MTIFinancialAdvice,
			fields: map[int]string{
				2: gPAN, 3: "000000", 4: "000000002000", 7: "0622090000", 11: "000201",
				12: "090000", 13: "0622", 32: gAcquirer, 37: "617214000101", 38: "A1B2C3",
				41: gTerminal, 42: gMerchant, 49: "840",
				90: "0100" + "000101" + "0621143005" + "00000123456" + "00000000000",
			},
		},
		{
			name:        "0400",
			description: "Reversal request for the 0100_chip authorization: field 4 carries the original amount, 37 the original RRN, 90 the original MTI, STAN, transmission time and acquirer.",
			mti:         iso.MTIReversalRequest,
			fields: map[int]string{
				2: gPAN, 3: "000000", 4: "000000002000", 7: "0621143105", 11: "000106",
				12: "143105", 13: "0621", 32: gAcquirer, 37: "617214000101", 41: gTerminal,
				42: gMerchant, 49: "840",
				90: "0100" + "000101" + "0621143005" + "00000123456" + "00000000000",
			},
		},
		{
			name:        "0420_partial",
			description: "Partial reversal advice for the 0100_magstripe_pin withdrawal: of the original 100.00 USD only 60.00 was dispensed, so field 95's first 12 digits (000000006000) are the amount that stays authorized.",
			mti:         iso.MTIReversalAdvice,
			fields: map[int]string{
				2: gPAN, 3: "010000", 4: "000000010000", 7: "0621143600", 11: "000107",
				12: "143600", 13: "0621", 32: gAcquirer, 37: "617214000102", 41: gTerminal,
				42: gMerchant, 49: "840",
				90: "0100" + "000102" + "0621143510" + "00000123456" + "00000000000",
				95: "000000006000" + "000000006000" + "C00000000" + "C00000000",
			},
		},
		{
			name:        "0210_balance",
			description: "Financial response to a balance inquiry (3=300000): approved, field 54 with the ledger (01) and available (02) balances of the default account in USD, both credit.",
			mti:         iso.MTIFinancialResponse,
			fields: map[int]string{
				2: gPAN, 3: "300000", 4: "000000000000", 7: "0621160000", 11: "000108",
				12: "160000", 13: "0621", 32: gAcquirer, 37: "617216000108", 38: "B4L001",
				39: "00", 41: gTerminal, 42: gMerchant, 49: "840",
				54: "0001840C000000150000" + "0002840C000000125000",
			},
		},
		{
			name:        "0800_echo",
			description: "Network management request, echo test (70=301). Field 41 is optional in 0800.",
			mti:         iso.MTINetworkRequest,
			fields:      map[int]string{7: "0621120000", 11: "000001", 70: "301"},
		},
		{
			name:        "0810_echo",
			description: "Network management response to 0800_echo: 39=00, matched by STAN.",
			mti:         iso.MTINetworkResponse,
			fields:      map[int]string{7: "0621120000", 11: "000001", 39: "00", 70: "301"},
		},
	}
}

// build returns the golden case as a message.
func (c goldenCase) build(t testing.TB) *iso8583.Message {
	t.Helper()
	m := iso.NewMessage(c.mti)
	for id, v := range c.fields {
		if err := m.Field(id, v); err != nil {
			t.Fatalf("%s: setting field %d: %v", c.name, id, err)
		}
	}
	if c.icc != "" {
		b, err := hex.DecodeString(c.icc)
		if err != nil {
			t.Fatalf("%s: field 55 hex: %v", c.name, err)
		}
		if err := m.BinaryField(iso.FieldICC, b); err != nil {
			t.Fatalf("%s: setting field 55: %v", c.name, err)
		}
	}
	return m
}

// goldenDecode is the .json file beside each .hex file.
type goldenDecode struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	MTI         string          `json:"mti"`
	Bitmap      string          `json:"bitmap"`
	Fields      goldenFields    `json:"fields"` // field 55 as hex
	Elements    *goldenElements `json:"elements,omitempty"`
}

// goldenFields maps field numbers to values; it marshals in field order.
type goldenFields map[string]string

// MarshalJSON writes the fields in numeric order.
func (f goldenFields) MarshalJSON() ([]byte, error) {
	ids := make([]int, 0, len(f))
	for k := range f {
		id, err := strconv.Atoi(k)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	sort.Ints(ids)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(strconv.Itoa(id))
		v, _ := json.Marshal(f[strconv.Itoa(id)])
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// goldenElements are the decodes of the structured fields.
type goldenElements struct {
	PrivateData        []goldenElement         `json:"48,omitempty"`
	AdditionalAmounts  []iso.AdditionalAmount  `json:"54,omitempty"`
	OriginalData       *iso.OriginalData       `json:"90,omitempty"`
	ReplacementAmounts *iso.ReplacementAmounts `json:"95,omitempty"`
}

type goldenElement struct {
	Tag   string `json:"tag"`
	Value string `json:"value"`
}

// decode describes an unpacked message as the .json file does.
func decode(t testing.TB, name, description string, m *iso8583.Message) goldenDecode {
	t.Helper()
	mti, err := m.GetMTI()
	if err != nil {
		t.Fatal(err)
	}
	d := goldenDecode{Name: name, Description: description, MTI: mti, Fields: goldenFields{}}
	for id, f := range m.GetFields() {
		switch v := f.(type) {
		case *field.Bitmap:
			b, err := v.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			d.Bitmap = strings.ToUpper(hex.EncodeToString(b))
		case *field.Binary:
			d.Fields[strconv.Itoa(id)] = strings.ToUpper(hex.EncodeToString(v.Value()))
		case *field.String:
			if id != iso.FieldMTI {
				d.Fields[strconv.Itoa(id)] = v.Value()
			}
		default:
			t.Fatalf("field %d: unexpected type %T", id, f)
		}
	}
	var el goldenElements
	if s := d.Fields["48"]; s != "" {
		pd, err := iso.ParsePrivateData(s)
		if err != nil {
			t.Fatalf("%s: field 48: %v", name, err)
		}
		for _, e := range pd {
			el.PrivateData = append(el.PrivateData, goldenElement{e.Tag, e.Value})
		}
	}
	if s := d.Fields["54"]; s != "" {
		if el.AdditionalAmounts, err = iso.ParseAdditionalAmounts(s); err != nil {
			t.Fatalf("%s: field 54: %v", name, err)
		}
	}
	if s := d.Fields["90"]; s != "" {
		o, err := iso.ParseOriginalData(s)
		if err != nil {
			t.Fatalf("%s: field 90: %v", name, err)
		}
		el.OriginalData = &o
	}
	if s := d.Fields["95"]; s != "" {
		r, err := iso.ParseReplacementAmounts(s)
		if err != nil {
			t.Fatalf("%s: field 95: %v", name, err)
		}
		el.ReplacementAmounts = &r
	}
	if !reflect.DeepEqual(el, goldenElements{}) {
		d.Elements = &el
	}
	return d
}

// formatHex writes packed bytes as the .hex file: a comment line, then the
// frame (2-byte length header and message) in upper-case hex, 32 bytes a
// line.
func formatHex(name string, packed []byte) []byte {
	frame, err := iso.AppendFrame(nil, packed)
	if err != nil {
		panic(err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s: 2-byte length header (%d bytes) + message; see %s.json\n", name, len(packed), name)
	h := strings.ToUpper(hex.EncodeToString(frame))
	for len(h) > 64 {
		b.WriteString(h[:64] + "\n")
		h = h[64:]
	}
	b.WriteString(h + "\n")
	return b.Bytes()
}

// readGoldenHex parses a .hex file and returns the message without its
// length header, checking the header.
func readGoldenHex(t testing.TB, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	frame, err := parseHexFile(raw)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	msg, err := iso.ReadFrame(bytes.NewReader(frame), nil)
	if err != nil {
		t.Fatalf("%s: reading frame: %v", path, err)
	}
	if iso.HeaderLen+len(msg) != len(frame) {
		t.Fatalf("%s: %d bytes after the frame", path, len(frame)-iso.HeaderLen-len(msg))
	}
	return msg
}

func parseHexFile(raw []byte) ([]byte, error) {
	var h strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		h.WriteString(line)
	}
	return hex.DecodeString(h.String())
}

func TestGolden(t *testing.T) {
	cases := goldenCases()
	names := map[string]bool{}
	for _, c := range cases {
		names[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			packed, err := iso.Pack(c.build(t))
			if err != nil {
				t.Fatalf("packing: %v", err)
			}
			hexPath := filepath.Join(goldenDir, c.name+".hex")
			jsonPath := filepath.Join(goldenDir, c.name+".json")

			if *update {
				m, err := iso.Unpack(packed)
				if err != nil {
					t.Fatalf("unpacking what was packed: %v", err)
				}
				js, err := json.MarshalIndent(decode(t, c.name, c.description, m), "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				writeFile(t, hexPath, formatHex(c.name, packed))
				writeFile(t, jsonPath, append(js, '\n'))
			}

			// The packed bytes are pinned.
			golden := readGoldenHex(t, hexPath)
			if !bytes.Equal(packed, golden) {
				t.Fatalf("packed message differs from %s\n got %X\nwant %X", hexPath, packed, golden)
			}

			// The golden bytes decode to the expected fields.
			m, err := iso.Unpack(golden)
			if err != nil {
				t.Fatalf("unpacking %s: %v", hexPath, err)
			}
			raw, err := os.ReadFile(jsonPath)
			if err != nil {
				t.Fatal(err)
			}
			var want goldenDecode
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatalf("%s: %v", jsonPath, err)
			}
			got := decode(t, c.name, c.description, m)
			if !reflect.DeepEqual(got, want) {
				gj, _ := json.MarshalIndent(got, "", "  ")
				t.Fatalf("decode of %s differs from %s:\n%s", hexPath, jsonPath, gj)
			}

			// And they are the fields the case was built from.
			for id, v := range c.fields {
				if got.Fields[strconv.Itoa(id)] != v {
					t.Errorf("field %d = %q, built with %q", id, got.Fields[strconv.Itoa(id)], v)
				}
			}
			if got.Fields["55"] != c.icc {
				t.Errorf("field 55 = %s, built with %s", got.Fields["55"], c.icc)
			}
			if n := len(got.Fields); n != len(c.fields)+btoi(c.icc != "") {
				t.Errorf("decoded %d fields, built with %d", n, len(c.fields)+btoi(c.icc != ""))
			}
		})
	}

	// Every golden file belongs to a case (no stale files).
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.hex"))
	if err != nil {
		t.Fatal(err)
	}
	var stale []string
	for _, f := range files {
		if n := strings.TrimSuffix(filepath.Base(f), ".hex"); !names[n] {
			stale = append(stale, n)
		}
	}
	sort.Strings(stale)
	if len(stale) > 0 {
		t.Errorf("golden files without a case: %v", stale)
	}
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

package iso

import (
	"fmt"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/prefix"
)

// Format is a field's character set, in ISO 8583 attribute notation.
type Format uint8

// Field formats.
const (
	// FormatN is numeric: the digits 0-9.
	FormatN Format = iota + 1
	// FormatAN is alphanumeric: letters, digits and space (for padding).
	FormatAN
	// FormatANS is alphanumeric and special: printable ASCII 0x20-0x7E.
	FormatANS
	// FormatZ is track data: digits, '=' and 'D' (field separators).
	FormatZ
	// FormatHex is a binary value carried as hexadecimal characters
	// (upper-case when cardhost sends it; lower-case is accepted).
	FormatHex
	// FormatBinary is raw bytes (field 55).
	FormatBinary
	// FormatBitmap is the bitmap: 8 bytes as 16 hexadecimal characters.
	FormatBitmap
)

var formatNotation = [...]string{
	FormatN: "n", FormatAN: "an", FormatANS: "ans", FormatZ: "z",
	FormatHex: "h", FormatBinary: "b", FormatBitmap: "h",
}

// String returns the format's notation ("n", "an", "ans", "z", "h" for
// hexadecimal characters, "b" for bytes).
func (f Format) String() string {
	if int(f) < len(formatNotation) && formatNotation[f] != "" {
		return formatNotation[f]
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Prefix is how a field's length is carried on the wire.
type Prefix uint8

// Length prefixes. The value is the number of ASCII digits of the prefix.
const (
	// Fixed fields have no prefix: the value has exactly Length characters.
	Fixed Prefix = 0
	// LL fields start with 2 ASCII digits counting the value's characters.
	LL Prefix = 2
	// LLL fields start with 3 ASCII digits counting the value's characters
	// (bytes for field 55).
	LLL Prefix = 3
)

// FieldDef is one row of the message specification.
type FieldDef struct {
	// ID is the field number: 0 is the MTI, 1 the bitmap, 2-128 data fields.
	ID int
	// Name says what the field holds.
	Name string
	// Format is the field's character set.
	Format Format
	// Prefix is the field's length prefix (Fixed, LL or LLL).
	Prefix Prefix
	// Length is the fixed length, or the maximum length of LL/LLL fields, in
	// characters (bytes for binary fields). The bitmap's is 16 per bitmap.
	Length int
}

// Notation returns the row in ISO 8583 attribute notation, as written in the
// host interface specification: "n6", "n..19" (LL), "ans...999" (LLL).
func (d FieldDef) Notation() string {
	switch d.Prefix {
	case LL:
		return fmt.Sprintf("%s..%d", d.Format, d.Length)
	case LLL:
		return fmt.Sprintf("%s...%d", d.Format, d.Length)
	default:
		return fmt.Sprintf("%s%d", d.Format, d.Length)
	}
}

// Field numbers cardhost reads or writes (DESIGN.md, "ISO 8583 interface").
const (
	FieldMTI                = 0
	FieldBitmap             = 1
	FieldPAN                = 2
	FieldProcessingCode     = 3
	FieldAmount             = 4
	FieldBillingAmount      = 6
	FieldTransmissionTime   = 7
	FieldSTAN               = 11
	FieldLocalTime          = 12
	FieldLocalDate          = 13
	FieldExpiry             = 14
	FieldMCC                = 18
	FieldAcquirerCountry    = 19
	FieldEntryMode          = 22
	FieldPANSequence        = 23
	FieldAcquirerID         = 32
	FieldTrack2             = 35
	FieldRRN                = 37
	FieldApprovalCode       = 38
	FieldResponseCode       = 39
	FieldTerminal           = 41
	FieldMerchant           = 42
	FieldAcceptor           = 43
	FieldPrivateData        = 48
	FieldCurrency           = 49
	FieldPINBlock           = 52
	FieldAdditionalAmounts  = 54
	FieldICC                = 55
	FieldMAC                = 64
	FieldNetworkCode        = 70
	FieldOriginalData       = 90
	FieldReplacementAmounts = 95
	FieldSecondaryMAC       = 128
)

// maxFieldID is the highest field number of a message with a secondary
// bitmap.
const maxFieldID = 128

// fieldTable is cardhost's ISO 8583 message specification, one row per
// field. It mirrors DESIGN.md "ISO 8583 interface" and the field table of
// docs/iso8583.md row by row. Fields 2-64 and 90 follow moov-io/iso8583's
// specs.Spec87ASCII (ISO 8583:1987 lengths), with cardhost's changes marked.
// A field that is not listed here makes a message unreadable (response 30).
var fieldTable = []FieldDef{
	{0, "Message type indicator", FormatN, Fixed, 4},
	{1, "Bitmap (primary; bit 1 set: secondary follows)", FormatBitmap, Fixed, 16},
	{2, "Primary account number", FormatN, LL, 19},
	{3, "Processing code", FormatN, Fixed, 6},
	{4, "Amount, transaction (minor units)", FormatN, Fixed, 12},
	{5, "Amount, settlement", FormatN, Fixed, 12},
	{6, "Amount, cardholder billing (minor units)", FormatN, Fixed, 12},
	{7, "Transmission date and time (UTC MMDDhhmmss)", FormatN, Fixed, 10},
	{8, "Amount, cardholder billing fee", FormatN, Fixed, 8},
	{9, "Conversion rate, settlement", FormatN, Fixed, 8},
	{10, "Conversion rate, cardholder billing", FormatN, Fixed, 8},
	{11, "Systems trace audit number (STAN)", FormatN, Fixed, 6},
	{12, "Time, local transaction (hhmmss)", FormatN, Fixed, 6},
	{13, "Date, local transaction (MMDD)", FormatN, Fixed, 4},
	{14, "Date, expiration (YYMM)", FormatN, Fixed, 4},
	{15, "Date, settlement (MMDD)", FormatN, Fixed, 4},
	{16, "Date, conversion (MMDD)", FormatN, Fixed, 4},
	{17, "Date, capture (MMDD)", FormatN, Fixed, 4},
	{18, "Merchant type (MCC)", FormatN, Fixed, 4},
	{19, "Acquiring institution country code", FormatN, Fixed, 3},
	{20, "PAN extended, country code", FormatN, Fixed, 3},
	{21, "Forwarding institution country code", FormatN, Fixed, 3},
	{22, "Point of service entry mode", FormatN, Fixed, 3},
	{23, "Card sequence number (PAN sequence, 0 + 2 digits)", FormatN, Fixed, 3},
	{24, "Network international identifier", FormatN, Fixed, 3},
	{25, "Point of service condition code", FormatN, Fixed, 2},
	{26, "Point of service PIN capture code", FormatN, Fixed, 2},
	{27, "Authorization identification response length", FormatN, Fixed, 1},
	{28, "Amount, transaction fee (C/D + 8 digits)", FormatAN, Fixed, 9},
	{29, "Amount, settlement fee (C/D + 8 digits)", FormatAN, Fixed, 9},
	{30, "Amount, transaction processing fee (C/D + 8 digits)", FormatAN, Fixed, 9},
	{31, "Amount, settlement processing fee (C/D + 8 digits)", FormatAN, Fixed, 9},
	{32, "Acquiring institution identification code", FormatN, LL, 11},
	{33, "Forwarding institution identification code", FormatN, LL, 11},
	{34, "Primary account number, extended", FormatANS, LL, 28},
	{35, "Track 2 data", FormatZ, LL, 37},
	{36, "Track 3 data", FormatZ, LLL, 104},
	{37, "Retrieval reference number", FormatAN, Fixed, 12},
	{38, "Authorization identification response (approval code)", FormatAN, Fixed, 6},
	{39, "Response code", FormatAN, Fixed, 2},
	{40, "Service restriction code", FormatAN, Fixed, 3},
	{41, "Card acceptor terminal identification", FormatANS, Fixed, 8},
	{42, "Card acceptor identification code", FormatANS, Fixed, 15},
	{43, "Card acceptor name/location (name 25, city 13, country 2)", FormatANS, Fixed, 40},
	{44, "Additional response data", FormatANS, LL, 25},
	{45, "Track 1 data", FormatANS, LL, 76},
	{46, "Additional data (ISO)", FormatANS, LLL, 999},
	{47, "Additional data (national)", FormatANS, LLL, 999},
	{48, "Additional data (private): elements TT LL value", FormatANS, LLL, 999}, // cardhost: private elements, see PrivateData
	{49, "Currency code, transaction (ISO 4217 numeric)", FormatAN, Fixed, 3},
	{50, "Currency code, settlement", FormatAN, Fixed, 3},
	{51, "Currency code, cardholder billing", FormatAN, Fixed, 3},
	{52, "PIN data (8 bytes as 16 hex characters)", FormatHex, Fixed, 16},
	{53, "Security related control information", FormatN, Fixed, 16},
	{54, "Additional amounts (20 characters per entry)", FormatAN, LLL, 120},
	{55, "ICC data (BER-TLV, prefix counts bytes)", FormatBinary, LLL, 999}, // cardhost: raw bytes
	{56, "Reserved (ISO)", FormatANS, LLL, 999},
	{57, "Reserved (national)", FormatANS, LLL, 999},
	{58, "Reserved (national)", FormatANS, LLL, 999},
	{59, "Reserved (national)", FormatANS, LLL, 999},
	{60, "Reserved (national)", FormatANS, LLL, 999},
	{61, "Reserved (private)", FormatANS, LLL, 999},
	{62, "Reserved (private)", FormatANS, LLL, 999},
	{63, "Reserved (private)", FormatANS, LLL, 999},
	{64, "Message authentication code (8 bytes as 16 hex characters)", FormatHex, Fixed, 16},
	{70, "Network management information code", FormatN, Fixed, 3},                            // cardhost: added
	{90, "Original data elements", FormatN, Fixed, 42},                                        // see OriginalData
	{95, "Replacement amounts", FormatAN, Fixed, 42},                                          // cardhost: added, see ReplacementAmounts
	{128, "Message authentication code (8 bytes as 16 hex characters)", FormatHex, Fixed, 16}, // cardhost: added
}

// fieldDefs indexes fieldTable by field number; nil entries are undefined.
var fieldDefs [maxFieldID + 1]*FieldDef

// Spec is cardhost's ISO 8583 message specification for moov-io/iso8583,
// built from the field table. Use it with iso8583.NewMessage (or
// [NewMessage]) and with moov-io/iso8583-connection.
var Spec *iso8583.MessageSpec

func init() {
	Spec = buildSpec(fieldTable)
}

// Fields returns the message specification, one row per defined field in
// field-number order. The slice is a copy.
func Fields() []FieldDef {
	return append([]FieldDef(nil), fieldTable...)
}

// Lookup returns the definition of field id.
func Lookup(id int) (FieldDef, bool) {
	if id < 0 || id > maxFieldID || fieldDefs[id] == nil {
		return FieldDef{}, false
	}
	return *fieldDefs[id], true
}

// buildSpec turns the table into a moov-io/iso8583 spec. Every data field
// uses a cardhost codec (see codec.go) as its packer and unpacker; the Enc
// and Pref values describe the same layout for moov's own tooling.
func buildSpec(rows []FieldDef) *iso8583.MessageSpec {
	spec := &iso8583.MessageSpec{
		Name:   "cardhost ISO 8583:1987 ASCII",
		Fields: make(map[int]field.Field, len(rows)),
	}
	for i := range rows {
		d := &rows[i]
		if d.ID < 0 || d.ID > maxFieldID || fieldDefs[d.ID] != nil {
			panic(fmt.Sprintf("iso: field table row %d: bad or duplicate field %d", i, d.ID))
		}
		fieldDefs[d.ID] = d
		if d.Format == FormatBitmap {
			spec.Fields[d.ID] = field.NewBitmap(&field.Spec{
				Length:      d.Length / 2, // bytes per bitmap
				Description: d.Name,
				Enc:         encoding.BytesToASCIIHex,
				Pref:        prefix.Hex.Fixed,
			})
			continue
		}
		c := &codec{def: d}
		fs := &field.Spec{
			Length:      d.Length,
			Description: d.Name,
			Enc:         encoding.ASCII,
			Pref:        asciiPrefixer(d.Prefix),
			Packer:      c,
			Unpacker:    c,
		}
		if d.Format == FormatBinary {
			fs.Enc = encoding.Binary
			spec.Fields[d.ID] = field.NewBinary(fs)
			continue
		}
		spec.Fields[d.ID] = field.NewString(fs)
	}
	return spec
}

func asciiPrefixer(p Prefix) prefix.Prefixer {
	switch p {
	case LL:
		return prefix.ASCII.LL
	case LLL:
		return prefix.ASCII.LLL
	default:
		return prefix.ASCII.Fixed
	}
}

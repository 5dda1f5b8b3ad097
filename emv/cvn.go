package emv

import (
	"fmt"
	"strings"
)

// Scheme is a card scheme whose cryptogram versions the registry knows.
type Scheme string

// Card schemes.
const (
	SchemeVisa       Scheme = "visa"
	SchemeMastercard Scheme = "mastercard"
	SchemeUnionPay   Scheme = "unionpay"
)

// ACData says which bytes of the issuer application data (9F10) follow the
// ten standard data elements in the application cryptogram input. The
// standard elements, in this order, are 9F02 amount (6), 9F03 other amount
// (6), 9F1A terminal country (2), 95 TVR (5), 5F2A currency (2), 9A date
// (3), 9C type (1), 9F37 unpredictable number (4), 82 AIP (2) and 9F36 ATC
// (2): the CDOL1 data EMV Book 2 section 8.1.1 recommends, plus AIP and ATC.
// UnionPay (UICS / PBOC 2.0 and 3.0 debit/credit) uses the same ten.
type ACData string

// Cryptogram input layouts.
const (
	// ACDataVisaCVR appends 9F10 bytes 4-7: the CVR length byte and the
	// 3-byte CVR (Visa CVN 10, VIS 1.5 Appendix D; UnionPay CVN 01, whose
	// 9F10 has the same layout up to byte 7).
	ACDataVisaCVR ACData = "standard+iad[4:7]"
	// ACDataIAD appends the whole 9F10 value (Visa CVN 18 and 22).
	ACDataIAD ACData = "standard+iad"
	// ACDataMastercardCVR appends 9F10 bytes 3-8, the 6-byte CVR
	// (M/Chip CVN 16 and 20: counters not in AC data).
	ACDataMastercardCVR ACData = "standard+iad[3:8]"
	// ACDataMastercardCVRCounters appends 9F10 bytes 3-8 (CVR) and
	// bytes 11-18 (offline counters) (M/Chip CVN 17 and 21).
	ACDataMastercardCVRCounters ACData = "standard+iad[3:8]+iad[11:18]"
)

// ARPCKey says which key computes the ARPC.
type ARPCKey string

// ARPC keys.
const (
	ARPCKeyICCMaster  ARPCKey = "icc-master-key" // the ICC master key MK-AC itself
	ARPCKeySessionKey ARPCKey = "session-key"    // the AC session key of the CVN
)

// CVN is one cryptogram version: everything the issuer host needs to check
// an ARQC and answer with an ARPC. Values are plain data; see cvns for the
// registry rows and where each comes from.
type CVN struct {
	Scheme Scheme // card scheme
	// Number is the name schemes and HSM vendors use ("CVN 18"). For every
	// row but Visa CVN 22 it is the decimal value of Code; Visa names CVN
	// '22' by its hex digits (VIS 1.6: high nibble = IAD format 2, low
	// nibble = ARQC algorithm 2), so Number 22 has Code 0x22.
	Number int
	Code   byte   // cryptogram version number byte as carried in 9F10
	Name   string // human-readable name

	MKD          MKDOption            // ICC master key derivation from the IMK-AC
	ACSessionKey SessionKeyDerivation // AC key: SKDNone means the ICC master key
	ACData       ACData               // bytes of 9F10 in the AC input
	Padding      Padding              // ISO/IEC 9797-1 padding of the AC input
	ARPCMethod   int                  // EMV Book 2 8.2: 1 (ARC) or 2 (CSU)
	ARPCKey      ARPCKey              // key of the ARPC
	SMSessionKey SessionKeyDerivation // issuer script (secure messaging) keys, for reference

	Source string // published implementation or document the row follows
}

// String returns e.g. "visa CVN 18".
func (c CVN) String() string { return fmt.Sprintf("%s CVN %d", c.Scheme, c.Number) }

// cvns is the CVN registry, one row per supported cryptogram version,
// mirroring DESIGN.md ("ISO 8583 interface": method and key per CVN).
// Every cryptogram is a MAC over the AC input with ISO/IEC 9797-1 MAC
// algorithm 3 (DES, 8 bytes) under the AC key.
var cvns = []CVN{
	{
		Scheme: SchemeVisa, Number: 10, Code: 0x0A,
		Name:         "Visa CVN 10 (VIS 1.4/1.5, cryptogram under the ICC master key)",
		MKD:          MKDOptionA,
		ACSessionKey: SKDNone,
		ACData:       ACDataVisaCVR,
		Padding:      PaddingMethod1,
		ARPCMethod:   1,
		ARPCKey:      ARPCKeyICCMaster,
		SMSessionKey: SKDVisaSM,
		Source:       "knovichikhin/pyemv cvn.py VisaCVN10; jPOS JCESecurityModule SKDMethod.VSDC",
	},
	{
		Scheme: SchemeVisa, Number: 18, Code: 0x12,
		Name:         "Visa CVN 18 (VIS 1.5/1.6 ARQC algorithm 2, IAD format 0/1/3)",
		MKD:          MKDAuto,
		ACSessionKey: SKDCommon,
		ACData:       ACDataIAD,
		Padding:      PaddingMethod2,
		ARPCMethod:   2,
		ARPCKey:      ARPCKeySessionKey,
		SMSessionKey: SKDVisaSM,
		Source:       "knovichikhin/pyemv cvn.py VisaCVN18",
	},
	{
		Scheme: SchemeVisa, Number: 22, Code: 0x22,
		Name:         "Visa CVN '22' (VIS 1.6 ARQC algorithm 2, IAD format 2)",
		MKD:          MKDAuto,
		ACSessionKey: SKDCommon,
		ACData:       ACDataIAD,
		Padding:      PaddingMethod2,
		ARPCMethod:   2,
		ARPCKey:      ARPCKeySessionKey,
		SMSessionKey: SKDVisaSM,
		Source:       "VIS 1.6 CVN table (same ARQC algorithm '2' as CVN 18, IAD format 2); no published vector",
	},
	{
		Scheme: SchemeMastercard, Number: 16, Code: 0x10,
		Name:         "Mastercard M/Chip CVN 16 ('10': Mastercard SKD, counters not in AC data)",
		MKD:          MKDOptionA,
		ACSessionKey: SKDMastercard,
		ACData:       ACDataMastercardCVR,
		Padding:      PaddingMethod2,
		ARPCMethod:   1,
		ARPCKey:      ARPCKeyICCMaster,
		SMSessionKey: SKDCommonARQC,
		Source:       "knovichikhin/pyemv cvn.py MasterCardCVN16; jPOS SKDMethod.MCHIP",
	},
	{
		Scheme: SchemeMastercard, Number: 17, Code: 0x11,
		Name:         "Mastercard M/Chip CVN 17 ('11': Mastercard SKD, counters in AC data)",
		MKD:          MKDOptionA,
		ACSessionKey: SKDMastercard,
		ACData:       ACDataMastercardCVRCounters,
		Padding:      PaddingMethod2,
		ARPCMethod:   1,
		ARPCKey:      ARPCKeyICCMaster,
		SMSessionKey: SKDCommonARQC,
		Source:       "knovichikhin/pyemv cvn.py MasterCardCVN17",
	},
	{
		Scheme: SchemeMastercard, Number: 20, Code: 0x14,
		Name:         "Mastercard M/Chip CVN 20 ('14': EMV CSK, counters not in AC data)",
		MKD:          MKDOptionA,
		ACSessionKey: SKDCommon,
		ACData:       ACDataMastercardCVR,
		Padding:      PaddingMethod2,
		ARPCMethod:   1,
		ARPCKey:      ARPCKeySessionKey,
		SMSessionKey: SKDCommonARQC,
		Source:       "knovichikhin/pyemv cvn.py MasterCardCVN20",
	},
	{
		Scheme: SchemeMastercard, Number: 21, Code: 0x15,
		Name:         "Mastercard M/Chip CVN 21 ('15': EMV CSK, counters in AC data)",
		MKD:          MKDOptionA,
		ACSessionKey: SKDCommon,
		ACData:       ACDataMastercardCVRCounters,
		Padding:      PaddingMethod2,
		ARPCMethod:   1,
		ARPCKey:      ARPCKeySessionKey,
		SMSessionKey: SKDCommonARQC,
		Source:       "knovichikhin/pyemv cvn.py MasterCardCVN21",
	},
	{
		Scheme: SchemeUnionPay, Number: 1, Code: 0x01,
		Name:         "UnionPay CVN 01 (UICS / PBOC debit/credit, TDES: session key from ATC and its complement)",
		MKD:          MKDOptionA,
		ACSessionKey: SKDUnionPay,
		ACData:       ACDataVisaCVR,
		Padding:      PaddingMethod2,
		ARPCMethod:   1,
		ARPCKey:      ARPCKeySessionKey,
		SMSessionKey: SKDUnionPay,
		Source:       "published PBOC worked example 'Financial IC card ARQC and ARPC calculation methods and examples' (cnblogs.com/1024Planet/p/6256545); no published SM4 vector",
	},
}

// CVNs returns a copy of the registry, in registry order.
func CVNs() []CVN { return append([]CVN(nil), cvns...) }

// LookupCVN returns the registry row for a scheme ("visa", "mastercard" or
// "mc", "unionpay" or "upi") and a CVN by its customary number (10, 18,
// 22; 16, 17, 20, 21; 1).
// Unknown schemes and numbers give ErrUnknownCVN.
func LookupCVN(scheme string, n int) (CVN, error) {
	return lookupCVN(scheme, func(c CVN) bool { return c.Number == n }, fmt.Sprintf("CVN %d", n))
}

// LookupCVNCode returns the registry row for a scheme and the cryptogram
// version byte found in 9F10 (see ParseIAD). Unknown values give
// ErrUnknownCVN.
func LookupCVNCode(scheme string, code byte) (CVN, error) {
	return lookupCVN(scheme, func(c CVN) bool { return c.Code == code }, fmt.Sprintf("cryptogram version byte %02X", code))
}

// lookupCVN returns the first row of the scheme that match accepts; what
// names the key in the error.
func lookupCVN(scheme string, match func(CVN) bool, what string) (CVN, error) {
	s, err := ParseScheme(scheme)
	if err != nil {
		return CVN{}, err
	}
	for _, c := range cvns {
		if c.Scheme == s && match(c) {
			return c, nil
		}
	}
	return CVN{}, fmt.Errorf("%w: %s %s", ErrUnknownCVN, s, what)
}

// CVNList names the registry's cryptogram versions the way the docs and
// error messages do: "Visa 10, 18, 22; Mastercard 16, 17, 20, 21;
// UnionPay 1" (schemes and numbers in registry order). A test keeps every such list in the
// repository's docs and sources equal to it.
func CVNList() string {
	var b strings.Builder
	for i, c := range cvns {
		switch {
		case i == 0:
		case c.Scheme != cvns[i-1].Scheme:
			b.WriteString("; ")
		default:
			b.WriteString(", ")
			fmt.Fprint(&b, c.Number)
			continue
		}
		fmt.Fprintf(&b, "%s %d", c.Scheme.Name(), c.Number)
	}
	return b.String()
}

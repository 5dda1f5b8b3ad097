package emv

import (
	"errors"
	"fmt"
	"strconv"
	"testing"
)

type cvnVector struct {
	sourced
	Scheme   string            `json:"scheme"`
	CVN      int               `json:"cvn"`
	IMK      string            `json:"imk"`
	PAN      string            `json:"pan"`
	PSN      string            `json:"psn"`
	Tags     map[string]string `json:"tags"`
	Note     string            `json:"note"`
	ACKeyKCV string            `json:"ac_key_kcv"`
	ARQC     string            `json:"arqc"`
	ARC      string            `json:"arc"`
	CSU      string            `json:"csu"`
	ARPC     string            `json:"arpc"`
}

func (v cvnVector) tagMap(t testing.TB) map[uint32][]byte {
	t.Helper()
	m := make(map[uint32][]byte, len(v.Tags)+1)
	for k, val := range v.Tags {
		tag, err := strconv.ParseUint(k, 16, 32)
		if err != nil {
			t.Fatalf("tag %q: %v", k, err)
		}
		m[uint32(tag)] = mustHex(t, val)
	}
	return m
}

// TestCVNPublishedVectors runs each registry row end to end: derive the
// card's MK-AC, build the AC input from the tags, generate and verify the
// ARQC, then generate the ARPC and the tag 91 value.
func TestCVNPublishedVectors(t *testing.T) {
	forVectors(t, "cvn.json", func(t *testing.T, v cvnVector) {
		c, err := LookupCVN(v.Scheme, v.CVN)
		if err != nil {
			t.Fatal(err)
		}
		mk, err := deriveICCMasterKey(mustHex(t, v.IMK), c.MKD, v.PAN, v.PSN)
		if err != nil {
			t.Fatal(err)
		}
		tags := v.tagMap(t)
		if ok, err := c.MatchesIAD(tags[TagIAD]); err != nil || !ok {
			t.Fatalf("MatchesIAD = %v, %v; want true", ok, err)
		}
		if v.ACKeyKCV != "" {
			key, err := ACKey(c, mk, tags)
			if err != nil {
				t.Fatal(err)
			}
			kcv, _ := KCV(AlgorithmTDES, key)
			if !hexPrefix(kcv, v.ACKeyKCV) {
				t.Errorf("AC key KCV = %s, want %s", EncodeHex(kcv), v.ACKeyKCV)
			}
		}
		arqc, err := GenerateAC(c, mk, tags)
		if err != nil {
			t.Fatal(err)
		}
		if EncodeHex(arqc) != v.ARQC {
			t.Fatalf("ARQC = %s, want %s", EncodeHex(arqc), v.ARQC)
		}

		tags[TagCryptogram] = mustHex(t, v.ARQC)
		if ok, err := VerifyARQC(c, mk, tags); err != nil || !ok {
			t.Fatalf("VerifyARQC = %v, %v; want true", ok, err)
		}
		// Any change to the signed data must fail verification.
		amount := append([]byte(nil), tags[TagAmountAuthorised]...)
		tags[TagAmountAuthorised][5] ^= 0x01
		if ok, err := VerifyARQC(c, mk, tags); err != nil || ok {
			t.Errorf("VerifyARQC with a changed amount = %v, %v; want false", ok, err)
		}
		tags[TagAmountAuthorised] = amount

		in := ARPCInput{ARC: mustHex(t, v.ARC), CSU: mustHex(t, v.CSU)}
		arpc, err := GenerateARPC(c, mk, tags, in)
		if err != nil {
			t.Fatal(err)
		}
		if EncodeHex(arpc) != v.ARPC {
			t.Errorf("ARPC = %s, want %s", EncodeHex(arpc), v.ARPC)
		}
		iad91, err := IssuerAuthenticationData(c, arpc, in)
		if err != nil {
			t.Fatal(err)
		}
		want := v.ARPC + v.ARC + v.CSU
		if EncodeHex(iad91) != want {
			t.Errorf("tag 91 = %s, want %s", EncodeHex(iad91), want)
		}
	})
}

// TestCVNRegistryMatchesDesign pins the registry to DESIGN.md's table of
// ARPC methods and keys, and to the cryptogram version bytes of the
// schemes' tables (Visa VIS 1.6: 0A, 12, 22; M/Chip: 10, 11, 14, 15;
// UnionPay 01).
func TestCVNRegistryMatchesDesign(t *testing.T) {
	for _, tc := range []struct {
		scheme  string
		n       int
		code    byte
		method  int
		key     ARPCKey
		skd     SessionKeyDerivation
		data    ACData
		padding Padding
	}{
		{"visa", 10, 0x0A, 1, ARPCKeyICCMaster, SKDNone, ACDataVisaCVR, PaddingMethod1},
		{"visa", 18, 0x12, 2, ARPCKeySessionKey, SKDCommon, ACDataIAD, PaddingMethod2},
		{"visa", 22, 0x22, 2, ARPCKeySessionKey, SKDCommon, ACDataIAD, PaddingMethod2},
		{"mastercard", 16, 0x10, 1, ARPCKeyICCMaster, SKDMastercard, ACDataMastercardCVR, PaddingMethod2},
		{"mastercard", 17, 0x11, 1, ARPCKeyICCMaster, SKDMastercard, ACDataMastercardCVRCounters, PaddingMethod2},
		{"mastercard", 20, 0x14, 1, ARPCKeySessionKey, SKDCommon, ACDataMastercardCVR, PaddingMethod2},
		{"mastercard", 21, 0x15, 1, ARPCKeySessionKey, SKDCommon, ACDataMastercardCVRCounters, PaddingMethod2},
		{"unionpay", 1, 0x01, 1, ARPCKeySessionKey, SKDUnionPay, ACDataVisaCVR, PaddingMethod2},
	} {
		t.Run(tc.scheme+" "+strconv.Itoa(tc.n), func(t *testing.T) {
			c, err := LookupCVN(tc.scheme, tc.n)
			if err != nil {
				t.Fatal(err)
			}
			if c.Code != tc.code || c.ARPCMethod != tc.method || c.ARPCKey != tc.key || c.ACSessionKey != tc.skd || c.ACData != tc.data || c.Padding != tc.padding {
				t.Errorf("row = %+v", c)
			}
			byCode, err := LookupCVNCode(tc.scheme, tc.code)
			if err != nil || byCode.Number != tc.n {
				t.Errorf("LookupCVNCode(%02X) = %v, %v", tc.code, byCode, err)
			}
		})
	}
	if got := len(CVNs()); got != 8 {
		t.Errorf("registry has %d rows, want 8", got)
	}
}

func TestLookupCVNRejects(t *testing.T) {
	for _, tc := range []struct {
		scheme string
		n      int
	}{{"visa", 16}, {"mastercard", 18}, {"unionpay", 18}, {"visa", 1}, {"amex", 10}, {"", 10}, {"visa", 0}} {
		if _, err := LookupCVN(tc.scheme, tc.n); !errors.Is(err, ErrUnknownCVN) {
			t.Errorf("LookupCVN(%q, %d) err = %v, want ErrUnknownCVN", tc.scheme, tc.n, err)
		}
	}
	if _, err := LookupCVNCode("visa", 0x10); !errors.Is(err, ErrUnknownCVN) {
		t.Errorf("LookupCVNCode(visa, 10) err = %v", err)
	}
	if c, err := LookupCVN("MC", 21); err != nil || c.Scheme != SchemeMastercard {
		t.Errorf("LookupCVN(MC, 21) = %v, %v", c, err)
	}
}

func TestParseIAD(t *testing.T) {
	for _, tc := range []struct {
		name     string
		scheme   string
		iad      string
		format   int
		dki, cvn byte
		cvr      string
		counters string
	}{
		{"Visa format 0/1/3, CVN 10", "visa", "06010A03A02000", 0, 0x01, 0x0A, "A02000", ""},
		// From a card's 9F10 quoted on Stack Overflow (question 57843596).
		{"Visa with issuer discretionary data", "visa", "06010A03A020000F04000000000000000000006232E4F9", 0, 0x01, 0x0A, "A02000", ""},
		{"Visa format 2, CVN 22", "visa", "1F220103A0000000000000000000000000000000000000000000000000000000", 2, 0x01, 0x22, "03A0000000", ""},
		{"Mastercard CVN 16 short", "mastercard", "0110A00003220000", 0, 0x01, 0x10, "A00003220000", ""},
		{"Mastercard CVN 17 with counters", "mastercard", "0111A00003220000000000000000000322FF", 0, 0x01, 0x11, "A00003220000", "00000000000322FF"},
		// The 9F10 of the published PBOC example (testdata/vectors/cvn.json).
		{"UnionPay CVN 01 with issuer discretionary data", "unionpay", "07000103A04002010A010000001000D1F61152", 0, 0x00, 0x01, "A04002", ""},
		{"UnionPay CVN 01 short", "upi", "07010103A0000001", 0, 0x01, 0x01, "A00000", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseIAD(tc.scheme, mustHex(t, tc.iad))
			if err != nil {
				t.Fatal(err)
			}
			if p.Format != tc.format || p.DKI != tc.dki || p.CVN != tc.cvn || EncodeHex(p.CVR) != tc.cvr || EncodeHex(p.Counters) != tc.counters {
				t.Errorf("ParseIAD = %+v", p)
			}
		})
	}
	for _, tc := range []struct {
		name, scheme, iad string
	}{
		{"Visa too short", "visa", "06010A03A020"},
		{"Visa bad first byte", "visa", "07010A03A02000"},
		{"Visa CVR length overflows", "visa", "06010A05A02000"},
		{"Visa format 2 wrong length", "visa", "1F2201"},
		{"Mastercard too short", "mastercard", "0110A000"},
		{"UnionPay too short", "unionpay", "07000103A040"},
		{"UnionPay bad first byte", "unionpay", "06000103A0400201"},
		{"UnionPay bad CVR length", "unionpay", "07000105A0400201"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseIAD(tc.scheme, mustHex(t, tc.iad)); !errors.Is(err, ErrIAD) {
				t.Fatalf("err = %v, want ErrIAD", err)
			}
		})
	}
}

func TestMatchesIADDetectsOtherCVN(t *testing.T) {
	c, _ := LookupCVN("visa", 18)
	ok, err := c.MatchesIAD(mustHex(t, "06010A03A02000"))
	if err != nil || ok {
		t.Fatalf("CVN 18 card with a CVN 10 9F10: MatchesIAD = %v, %v; want false", ok, err)
	}
	// A UnionPay card whose 9F10 names SM4 (algorithm 04) is not a CVN 01
	// card, though its CVN byte is 01: the registry has no SM4 row.
	up, _ := LookupCVN("unionpay", 1)
	for _, tc := range []struct {
		iad  string
		want bool
	}{{"07000103A0400201", true}, {"07000103A0400204", false}, {"07000203A0400201", false}} {
		ok, err := up.MatchesIAD(mustHex(t, tc.iad))
		if err != nil || ok != tc.want {
			t.Errorf("UnionPay CVN 01, 9F10 %s: MatchesIAD = %v, %v; want %v", tc.iad, ok, err, tc.want)
		}
	}
	if p, _ := ParseIAD("unionpay", mustHex(t, "07000103A0400204")); p.Algorithm != UnionPayAlgorithmSM4 {
		t.Errorf("algorithm = %02X, want SM4", p.Algorithm)
	}
}

func TestACInputErrors(t *testing.T) {
	c, _ := LookupCVN("mastercard", 17)
	v := cvnVector{Tags: map[string]string{
		"9F02": "000000009999", "9F03": "000000000000", "9F1A": "0124", "95": "8000000000", "5F2A": "0124",
		"9A": "209906", "9C": "00", "9F37": "ABCDEF12", "82": "1800", "9F36": "001C",
		"9F10": "0111A000032200000000",
	}}
	tags := v.tagMap(t)
	_, err := ACInput(c, tags)
	var te *TagError
	if !errors.As(err, &te) || te.Tag != TagIAD || !errors.Is(err, ErrLength) {
		t.Fatalf("CVN 17 with a 10-byte 9F10: err = %v, want TagError 9F10 ErrLength", err)
	}
	delete(tags, TagATC)
	_, err = ACInput(c, tags)
	if !errors.As(err, &te) || te.Tag != TagATC || !errors.Is(err, ErrMissingTag) {
		t.Fatalf("missing ATC: err = %v", err)
	}
	tags[TagATC] = []byte{1}
	if _, err = ACInput(c, tags); !errors.Is(err, ErrLength) {
		t.Fatalf("1-byte ATC: err = %v", err)
	}
	tags[TagATC] = []byte{0x00, 0x1C}
	tags[TagIAD] = mustHex(t, "0111A00003220000000000000000000322FF")
	if _, err := VerifyARQC(c, make([]byte, 16), tags); !errors.Is(err, ErrMissingTag) {
		t.Fatalf("VerifyARQC without 9F26: err = %v", err)
	}
	tags[TagCryptogram] = []byte{1, 2, 3}
	if _, err := GenerateARPC(c, make([]byte, 16), tags, ARPCInput{ARC: ARC("00")}); !errors.Is(err, ErrLength) {
		t.Fatalf("GenerateARPC with a 3-byte 9F26: err = %v", err)
	}
}

func TestACSessionNeverPrintsKeys(t *testing.T) {
	c, _ := LookupCVN("visa", 18)
	tags := benchTags(t)
	mk, _ := DeriveICCMasterKey(mustHex(t, "0123456789ABCDEFFEDCBA9876543210"), "1234567890123456", "00")
	s, err := NewACSession(c, mk, tags)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s), s.LogValue().String()} {
		if out != "emv.ACSession(visa CVN 18)" {
			t.Errorf("formatted session = %q", out)
		}
	}
	// One session verifies and answers, with the same results as the
	// package-level functions.
	ok, err := s.VerifyARQC()
	if err != nil || !ok {
		t.Fatalf("VerifyARQC = %v, %v", ok, err)
	}
	arpc, err := s.GenerateARPC(ARPCInput{CSU: CSU(false)})
	if err != nil || EncodeHex(arpc) != "9AF514C1" {
		t.Fatalf("GenerateARPC = %X, %v; want 9AF514C1", arpc, err)
	}
}

// tlvTag stands for another package's tag type based on uint32 (such as
// the tlv package's), which the generic functions accept directly.
type tlvTag uint32

func TestACInputAcceptsNamedTagType(t *testing.T) {
	c, _ := LookupCVN("visa", 18)
	tags := map[tlvTag][]byte{}
	for _, e := range standardACElements {
		tags[tlvTag(e.tag)] = make([]byte, e.n)
	}
	tags[tlvTag(TagIAD)] = mustHex(t, "06011203A0B800")
	in, err := ACInput(c, tags)
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != 33+7 {
		t.Fatalf("AC input is %d bytes, want 40", len(in))
	}
}

func TestARCAndCSU(t *testing.T) {
	if EncodeHex(ARC("00")) != "3030" || EncodeHex(ARC("51")) != "3531" {
		t.Error("ARC is not the response code's ASCII")
	}
	if EncodeHex(CSU(true)) != "00800000" || EncodeHex(CSU(false)) != "00000000" {
		t.Error("CSU values differ from DESIGN.md")
	}
}

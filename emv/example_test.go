package emv_test

import (
	"fmt"

	"github.com/cardhost/cardhost/emv"
)

func hexOf(s string) []byte {
	b, err := emv.DecodeHex(s)
	if err != nil {
		panic(err)
	}
	return b
}

func ExampleKCV() {
	tdes, _ := emv.KCV(emv.AlgorithmTDES, hexOf("0123456789ABCDEFFEDCBA9876543210"))
	aes, _ := emv.KCV(emv.AlgorithmAES, hexOf("FA36E44278DB3AB5F298F9F7DA8F1F88"))
	fmt.Println(emv.EncodeHex(tdes), emv.EncodeHex(aes))
	// Output: 08D7B4 D77F00
}

func ExampleDeriveICCMasterKey() {
	imk := hexOf("0123456789ABCDEFFEDCBA9876543210")
	mk, _ := emv.DeriveICCMasterKey(imk, "12345678901234567", "01") // 17 digits: Option B
	fmt.Println(mk)                                                 // secret values never print
	fmt.Println(emv.EncodeHex(mk))
	// Output:
	// [redacted]
	// AD406D7F6D7570916D75E5DCAB8CF737
}

func ExampleDeriveSessionKeyEMV() {
	mk := hexOf("0123456789ABCDEFFEDCBA9876543210")
	sk, _ := emv.DeriveSessionKeyEMV(mk, hexOf("001C"))
	fmt.Println(emv.EncodeHex(sk))
	// Output: E9FB384AF807B940FEDCEA613461B0C4
}

// A Visa CVN 18 authorisation: derive the card's key, verify the ARQC from
// field 55 and answer with tag 91 (pyemv's published example).
func ExampleVerifyARQC() {
	cvn, _ := emv.LookupCVN("visa", 18)
	mk, _ := emv.DeriveICCMasterKey(hexOf("0123456789ABCDEFFEDCBA9876543210"), "1234567890123456", "00")
	field55 := map[uint32][]byte{
		0x9F02: hexOf("000000004000"), 0x9F03: hexOf("000000000000"), 0x9F1A: hexOf("0124"),
		0x95: hexOf("8000048000"), 0x5F2A: hexOf("0124"), 0x9A: hexOf("191105"), 0x9C: hexOf("01"),
		0x9F37: hexOf("52BF4585"), 0x82: hexOf("1800"), 0x9F36: hexOf("001C"),
		0x9F10: hexOf("06011203A0B800"), 0x9F26: hexOf("7A788EA6B8A3E733"),
	}
	ok, err := emv.VerifyARQC(cvn, mk, field55)
	fmt.Println(ok, err)

	in := emv.ARPCInput{CSU: hexOf("00000000")}
	arpc, _ := emv.GenerateARPC(cvn, mk, field55, in)
	tag91, _ := emv.IssuerAuthenticationData(cvn, arpc, in)
	fmt.Println(emv.EncodeHex(tag91))
	// Output:
	// true <nil>
	// 9AF514C100000000
}

// A UnionPay CVN 01 authorisation (the published PBOC example of
// testdata/vectors/cvn.json): option A key, the UnionPay session key,
// and tag 91 = ARPC || ARC for the response code 01.
func ExampleVerifyARQC_unionPay() {
	cvn, _ := emv.NetworkUnionPay.CVN(1)
	mk, _ := emv.DeriveICCMasterKeyA(hexOf("F0C34A8124CEE0A91A0B034AA97D6EAC"), "6228000100001", "01")
	field55 := map[uint32][]byte{
		0x9F02: hexOf("000000000001"), 0x9F03: hexOf("000000000000"), 0x9F1A: hexOf("0156"),
		0x95: hexOf("0080046000"), 0x5F2A: hexOf("0156"), 0x9A: hexOf("140701"), 0x9C: hexOf("00"),
		0x9F37: hexOf("1E78EEBC"), 0x82: hexOf("7D00"), 0x9F36: hexOf("0240"),
		0x9F10: hexOf("07000103A04002010A010000001000D1F61152"), 0x9F26: hexOf("5D016C91005E7CC2"),
	}
	ok, err := emv.VerifyARQC(cvn, mk, field55)
	fmt.Println(ok, err)

	in := emv.ARPCInput{ARC: emv.ARC("01")}
	arpc, _ := emv.GenerateARPC(cvn, mk, field55, in)
	tag91, _ := emv.IssuerAuthenticationData(cvn, arpc, in)
	fmt.Println(emv.EncodeHex(tag91))
	// Output:
	// true <nil>
	// 21415243527CE78F3031
}

func ExampleLookupCVN() {
	c, _ := emv.LookupCVN("mastercard", 20)
	fmt.Printf("code %02X, session key %s, ARPC method %d with the %s\n", c.Code, c.ACSessionKey, c.ARPCMethod, c.ARPCKey)
	// Output: code 14, session key emv-csk, ARPC method 1 with the session-key
}

func ExampleParseIAD() {
	iad, _ := emv.ParseIAD("mastercard", hexOf("0111A00003220000000000000000000322FF"))
	fmt.Printf("CVN %02X CVR %s counters %s\n", iad.CVN, emv.EncodeHex(iad.CVR), emv.EncodeHex(iad.Counters))
	// Output: CVN 11 CVR A00003220000 counters 00000000000322FF
}

func ExampleGenerateCVV() {
	cvk := hexOf("0123456789ABCDEFFEDCBA9876543210") // CVK A || CVK B
	cvv, _ := emv.GenerateCVV(cvk, "4123456789012345", "8701", "101")
	fmt.Println(cvv, cvv.Reveal())
	ok, _ := emv.VerifyCVV(cvk, "4123456789012345", "8701", "101", "561")
	fmt.Println(ok)
	// Output:
	// [redacted] 561
	// true
}

func ExamplePVV() {
	pvv, _ := emv.PVV(hexOf("0123456789ABCDEFFEDCBA9876543210"), "1122334455667788", "1", "4524")
	fmt.Println(pvv)
	// Output: 8523
}

func ExampleIBM3624Offset() {
	pvk := hexOf("0123456789ABCDEF")
	vd, _ := emv.PINValidationData("1234567890123445", 0, 16, 'F')
	offset, _ := emv.IBM3624Offset(pvk, "1234", vd, emv.DefaultDecimalizationTable)
	fmt.Println(offset)
	// Output: 2298
}

func ExampleMACAlgorithm3() {
	mac, _ := emv.MACAlgorithm3(hexOf("0123456789ABCDEFFEDCBA9876543210"), []byte("Now is the time for all "), emv.PaddingMethod1)
	fmt.Println(emv.EncodeHex(mac))
	// Output: A1C72E74EA3FA9B6
}

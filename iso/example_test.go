package iso_test

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/cardhost/cardhost/iso"
)

// Build, pack and frame an 0800 echo test, then read it back.
func Example() {
	m := iso.NewMessage(iso.MTINetworkRequest)
	_ = m.Field(iso.FieldTransmissionTime, "0621120000")
	_ = m.Field(iso.FieldSTAN, "000001")
	_ = m.Field(iso.FieldNetworkCode, iso.NetworkEcho)

	packed, err := iso.Pack(m)
	if err != nil {
		fmt.Println(err)
		return
	}
	var conn bytes.Buffer
	_ = iso.WriteFrame(&conn, packed)
	fmt.Printf("% X\n", conn.Bytes()[:iso.HeaderLen])
	fmt.Printf("%s\n", conn.Bytes()[iso.HeaderLen:])

	msg, _ := iso.ReadFrame(&conn, nil)
	back, _ := iso.Unpack(msg)
	stan, _ := back.GetString(iso.FieldSTAN)
	code, _ := back.GetString(iso.FieldNetworkCode)
	fmt.Println(stan, code)
	// Output:
	// 00 37
	// 0800822000000000000004000000000000000621120000000001301
	// 000001 301
}

// A bad field after a readable MTI and STAN: the error names the field and
// the cause, never the value, so the server can answer 30.
func ExampleUnpack_formatError() {
	msg := []byte("0100" + "7020000000000000" + "164761739001010010" + "000000" + "00000000100A" + "000001")
	_, err := iso.Unpack(msg)
	var ue *iso.UnpackError
	if errors.As(err, &ue) {
		fmt.Println(ue)
		fmt.Println(ue.MTI, ue.MTIReadable(), errors.Is(err, iso.ErrCharset))
	}
	// Output:
	// unpacking field 4: characters not allowed by the field format
	// 0100 true true
}

// Read an 0800 echo test as flat values and answer it, as the server
// does: the answer echoes the request's fields without copying them.
func ExampleUnpackFields() {
	req, err := iso.UnpackFields([]byte("0800822000000000000004000000000000000621120000000001301"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(req, req.Get(iso.FieldSTAN))

	resp := iso.NewFieldValues(iso.MTINetworkResponse)
	for _, id := range []int{iso.FieldTransmissionTime, iso.FieldSTAN, iso.FieldNetworkCode} {
		resp.Echo(req, id)
	}
	resp.Set(iso.FieldResponseCode, string(iso.Approved))
	packed, err := resp.Pack()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s\n", packed)
	// Output:
	// 0800 [7 11 70] 000001
	// 081082200000020000000400000000000000062112000000000100301
}

func ExampleResponseMTI() {
	for _, mti := range []string{"0100", "0101", "0421", "0800", "0110"} {
		resp, ok := iso.ResponseMTI(mti)
		fmt.Println(mti, "->", resp, ok)
	}
	// Output:
	// 0100 -> 0110 true
	// 0101 -> 0110 true
	// 0421 -> 0430 true
	// 0800 -> 0810 true
	// 0110 ->  false
}

func ExampleParsePrivateData() {
	p, err := iso.ParsePrivateData("0103123" + "020205" + "0401Y")
	if err != nil {
		fmt.Println(err)
		return
	}
	eci, _ := p.Get(iso.ElementECI)
	partial, _ := p.Get(iso.ElementPartialApproval)
	fmt.Println(p, eci, partial) // values stay out of fmt and logs
	// Output: 48[01 02 04] 05 Y
}

func ExampleOriginalData_Encode() {
	s, _ := iso.OriginalData{
		MTI:              iso.MTIAuthorizationRequest,
		STAN:             "000101",
		TransmissionTime: "0621143005",
		AcquirerID:       "123456", // field 32 of the original
	}.Encode()
	fmt.Println(s)
	// Output: 010000010106211430050000012345600000000000
}

func ExampleEncodeAdditionalAmounts() {
	s, _ := iso.EncodeAdditionalAmounts([]iso.AdditionalAmount{
		{AccountType: "00", AmountType: iso.AmountTypeLedger, Currency: "840", Amount: 150000},
		{AccountType: "00", AmountType: iso.AmountTypeAvailable, Currency: "840", Amount: -2500},
	})
	fmt.Println(s)
	// Output: 0001840C0000001500000002840D000000002500
}

func ExampleReplacementAmounts_Encode() {
	s, _ := iso.ReplacementAmounts{Actual: 6000, Settlement: 6000}.Encode()
	fmt.Println(s)
	// Output: 000000006000000000006000C00000000C00000000
}

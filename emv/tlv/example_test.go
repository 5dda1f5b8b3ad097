package tlv_test

import (
	"encoding/hex"
	"fmt"

	"github.com/cardhost/cardhost/emv/tlv"
)

func ExampleDecode() {
	icc, _ := hex.DecodeString("9F26081E1756ED0E2134E29F360200159F100706011103A00000")
	l, err := tlv.Decode(icc)
	if err != nil {
		fmt.Println(err)
		return
	}
	arqc, _ := l.Value(tlv.TagApplicationCryptogram)
	atc, _ := l.Value(tlv.TagATC)
	fmt.Printf("ARQC %X ATC %X\n", arqc, atc)
	// Output: ARQC 1E1756ED0E2134E2 ATC 0015
}

func ExampleResponseICC() {
	// Method 1: ARPC (8 bytes) || ARC "00".
	iad, _ := hex.DecodeString("2263BCC1C2D9C4423030")
	f55, _ := tlv.ResponseICC(iad)
	fmt.Printf("%X\n", f55)
	// Output: 910A2263BCC1C2D9C4423030
}

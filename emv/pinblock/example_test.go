package pinblock_test

import (
	"crypto/aes"
	"encoding/hex"
	"fmt"

	"github.com/cardhost/cardhost/emv/pinblock"
)

func ExampleDecipher() {
	// ep2 Security Specification 8.0.0, 8.4: format 4 under an AES-128 key.
	key, _ := hex.DecodeString("C1D0F8FB4958670DBA40AB1F3752EF0D")
	block, _ := hex.DecodeString("CC17F65586BFD0953010226C4FC5B3CA")
	c, _ := aes.NewCipher(key)
	pin, err := pinblock.Decipher(pinblock.Format4, c, block, "432198765432109870")
	fmt.Println(string(pin), err)
	// Output: 1234 <nil>
}

func ExampleISO0_Encode() {
	b, _ := pinblock.NewISO0().Encode("1234", "5555555551234567")
	fmt.Println(b)
	// Output: 041261AAAAEDCBA9
}

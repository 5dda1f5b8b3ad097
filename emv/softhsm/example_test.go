package softhsm_test

import (
	"context"
	"fmt"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/softhsm"
)

func Example() {
	ctx := context.Background()
	h, err := softhsm.New(softhsm.Config{MasterKeyHex: testMasterHex}, softhsm.NewMemStore())
	if err != nil {
		fmt.Println(err)
		return
	}
	// Key ceremony: a CVK entered as two components, checked against the
	// KCV on the ceremony form (0123456789ABCDEF FEDCBA9876543210: 08D7B4).
	cvk, err := h.ImportComponents(ctx, softhsm.ImportRequest{
		KeyRequest: softhsm.KeyRequest{Type: emv.KeyCVK},
		Components: []emv.SecretBytes{
			{0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE, 0xEF, 0xCD, 0xAB, 0x89, 0x67, 0x45, 0x23, 0x01},
			{0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11},
		},
		KCV: "08D7B4",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cvk.Type, cvk.Usage, cvk.KCV)

	// Data prep makes the card's values; the host later verifies them by
	// reference. The values print as [redacted].
	set, _ := h.GenerateCVVSet(ctx, cvk.Ref, "4123456789012345", "2912", "201")
	fmt.Println(set.CVV2)
	ok, _ := h.VerifyCVV2(ctx, cvk.Ref, "4123456789012345", "2912", set.CVV2)
	fmt.Println(ok)

	// A CVK cannot compute a MAC (ErrKeyUsage).
	_, err = h.GenerateMAC(ctx, cvk.Ref, 0, []byte("x"))
	fmt.Println(err != nil)
	// Output:
	// CVK C0 08D7B4
	// [redacted]
	// true
	// true
}

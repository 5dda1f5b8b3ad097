package softhsm

import (
	"testing"

	"github.com/cardhost/cardhost/emv"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := emv.DecodeHex(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

package emv

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeHex(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		err            error
	}{
		{"upper", "0A1B", "0A1B", nil},
		{"lower", "0a1bff", "0A1BFF", nil},
		{"empty", "", "", nil},
		{"odd length", "ABC", "", ErrHex},
		{"bad character", "0G", "", ErrHex},
		{"space", "0A 1B", "", ErrHex},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeHex(tc.in)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil && EncodeHex(got) != tc.want {
				t.Fatalf("DecodeHex = %s, want %s", EncodeHex(got), tc.want)
			}
		})
	}
}

// TestErrorsNeverContainInput feeds secret-looking values that are invalid
// and checks that no error message repeats them (or any long part of them).
func TestErrorsNeverContainInput(t *testing.T) {
	const keyHex = "0123456789ABCDEFFEDCBA987654321X"
	const pan = "4111111111111111X"
	const pin = "12345678901234"
	key := make([]byte, 16)
	cases := map[string]error{}
	_, cases["hex"] = DecodeHex(keyHex)
	_, cases["icc mk pan"] = DeriveICCMasterKey(key, pan, "")
	_, cases["cvv pan"] = GenerateCVV(key, pan, "2512", "101")
	_, cases["cvv presented"] = VerifyCVV(key, "4111111111111111", "2512", "101", "98765")
	_, cases["pvv pin"] = PVV(key, "4111111111111111", "1", pin)
	_, cases["ibm pin"] = IBM3624Offset(key, pin, "4111111111111111", DefaultDecimalizationTable)
	_, cases["ibm validation data"] = IBM3624Offset(key, "1234", "41111111111111ZZ", DefaultDecimalizationTable)
	_, cases["kcv key"] = KCV(AlgorithmTDES, []byte("0123456789ABCDEFG"))
	for name, err := range cases {
		if err == nil {
			t.Errorf("%s: expected an error", name)
			continue
		}
		msg := err.Error()
		for _, secret := range []string{"0123456789", "41111111111111", "1234567890", "98765", "ZZ"} {
			if strings.Contains(msg, secret) {
				t.Errorf("%s: error %q contains input %q", name, msg, secret)
			}
		}
	}
}

func TestParity(t *testing.T) {
	k := AdjustParity([]byte{0x00, 0x01, 0xFE, 0xFF})
	if EncodeHex(k) != "0101FEFE" {
		t.Fatalf("AdjustParity = %s, want 0101FEFE", EncodeHex(k))
	}
	if !HasOddParity(k) || HasOddParity([]byte{0x00}) {
		t.Fatal("HasOddParity is wrong")
	}
}

func TestNewTDESKeyLengths(t *testing.T) {
	for _, n := range []int{8, 16, 24} {
		if _, err := NewTDES(make([]byte, n)); err != nil {
			t.Errorf("%d bytes: %v", n, err)
		}
	}
	for _, n := range []int{0, 7, 12, 32} {
		if _, err := NewTDES(make([]byte, n)); !errors.Is(err, ErrKeyLength) {
			t.Errorf("%d bytes: err = %v, want ErrKeyLength", n, err)
		}
	}
	// A double-length key with equal halves is single DES.
	single, _ := NewTDES(mustHex(t, "0123456789ABCDEF"))
	double, _ := NewTDES(mustHex(t, "0123456789ABCDEF0123456789ABCDEF"))
	a, b := make([]byte, 8), make([]byte, 8)
	single.Encrypt(a, []byte("12345678"))
	double.Encrypt(b, []byte("12345678"))
	if EncodeHex(a) != EncodeHex(b) {
		t.Fatal("K1 K1 TDES differs from single DES")
	}
}

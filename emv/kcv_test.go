package emv

import (
	"errors"
	"testing"
)

type kcvVector struct {
	sourced
	Algorithm  KeyAlgorithm `json:"algorithm"`
	Method     KCVMethod    `json:"method"`
	Key        string       `json:"key"`
	Components []string     `json:"xor_components"`
	KCV        string       `json:"kcv"`
}

func TestKCVPublishedVectors(t *testing.T) {
	forVectors(t, "kcv.json", func(t *testing.T, v kcvVector) {
		key := mustHex(t, v.Key)
		if len(v.Components) > 0 {
			parts := [][]byte{key}
			for _, c := range v.Components {
				parts = append(parts, mustHex(t, c))
			}
			var err error
			if key, err = XORComponents(parts...); err != nil {
				t.Fatal(err)
			}
		}
		n := len(v.KCV) / 2
		got, err := KCVWithMethod(v.Algorithm, v.Method, key, n)
		if err != nil {
			t.Fatal(err)
		}
		if EncodeHex(got) != v.KCV {
			t.Errorf("KCV = %s, want %s", EncodeHex(got), v.KCV)
		}
		// The default method of each algorithm is the one X9.24-1 prefers.
		if (v.Algorithm == AlgorithmTDES && v.Method == KCVEncryptZeros) || (v.Algorithm == AlgorithmAES && v.Method == KCVCMAC) {
			def, err := KCV(v.Algorithm, key)
			if err != nil {
				t.Fatal(err)
			}
			if !hexPrefix(def, v.KCV[:min(len(v.KCV), 6)]) || len(def) != KCVLength {
				t.Errorf("KCV default = %s, want 3 bytes starting %s", EncodeHex(def), v.KCV)
			}
		}
	})
}

func TestKCVRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		alg    KeyAlgorithm
		method KCVMethod
		key    []byte
		n      int
		want   error
	}{
		{"tdes 10 bytes", AlgorithmTDES, KCVEncryptZeros, make([]byte, 10), 3, ErrKeyLength},
		{"aes 8 bytes", AlgorithmAES, KCVCMAC, make([]byte, 8), 3, ErrKeyLength},
		{"unknown algorithm", KeyAlgorithm("rc4"), KCVCMAC, make([]byte, 16), 3, ErrUnsupported},
		{"unknown method", AlgorithmTDES, KCVMethod("sha"), make([]byte, 16), 3, ErrUnsupported},
		{"too long for tdes block", AlgorithmTDES, KCVEncryptZeros, make([]byte, 16), 9, ErrUnsupported},
		{"zero length", AlgorithmAES, KCVCMAC, make([]byte, 16), 0, ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := KCVWithMethod(tc.alg, tc.method, tc.key, tc.n)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestXORComponents(t *testing.T) {
	a := []byte{0xF0, 0x0F}
	b := []byte{0xFF, 0xFF}
	got, err := XORComponents(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if EncodeHex(got) != "0FF0" {
		t.Fatalf("XOR = %s, want 0FF0", EncodeHex(got))
	}
	if _, err := XORComponents(a); !errors.Is(err, ErrUnsupported) {
		t.Errorf("one component: err = %v", err)
	}
	if _, err := XORComponents(a, []byte{1}); !errors.Is(err, ErrKeyLength) {
		t.Errorf("uneven components: err = %v", err)
	}
}

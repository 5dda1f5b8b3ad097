package emv

import (
	"bytes"
	"crypto/cipher"
	"crypto/des"
	"math/rand/v2"
	"testing"

	"github.com/cardhost/cardhost/emv/internal/dea"
)

type desKATVector struct {
	sourced
	Test       string `json:"test"`
	Key        string `json:"key"`
	Plaintext  string `json:"plaintext"`
	Ciphertext string `json:"ciphertext"`
}

// TestDESKnownAnswers runs the NIST and FIPS 81 known answers of
// des_kat.json through emv/internal/dea directly and through NewTDES with
// the key as single DES, K||K and K||K||K, both ways. crypto/des must give
// the same answer too: if it does not, the vector was mistyped.
func TestDESKnownAnswers(t *testing.T) {
	counts := map[string]int{}
	forVectors(t, "des_kat.json", func(t *testing.T, v desKATVector) {
		counts[v.Test]++
		key, pt, ct := mustHex(t, v.Key), mustHex(t, v.Plaintext), mustHex(t, v.Ciphertext)
		if len(key) != 8 || len(pt) != 8 || len(ct) != 8 {
			t.Fatalf("key, plaintext and ciphertext must be 8 bytes")
		}
		ref, _ := des.NewCipher(key)
		got := make([]byte, 8)
		ref.Encrypt(got, pt)
		if !bytes.Equal(got, ct) {
			t.Fatalf("crypto/des gives %X: the vector is mistyped", got)
		}
		single, err := dea.New(key)
		if err != nil {
			t.Fatal(err)
		}
		blocks := map[string]cipher.Block{"dea": single}
		for name, k := range map[string][]byte{
			"NewTDES(K)":       key,
			"NewTDES(K||K)":    bytes.Repeat(key, 2),
			"NewTDES(K||K||K)": bytes.Repeat(key, 3),
		} {
			if blocks[name], err = NewTDES(k); err != nil {
				t.Fatal(err)
			}
		}
		for name, b := range blocks {
			b.Encrypt(got, pt)
			if !bytes.Equal(got, ct) {
				t.Errorf("%s: Encrypt = %X, want %X", name, got, ct)
			}
			b.Decrypt(got, ct)
			if !bytes.Equal(got, pt) {
				t.Errorf("%s: Decrypt = %X, want %X", name, got, pt)
			}
		}
	})
	want := map[string]int{"variable plaintext": 64, "inverse permutation": 64, "variable key": 56,
		"permutation operation": 32, "substitution table": 19, "ECB example": 3}
	for test, n := range want {
		if counts[test] != n {
			t.Errorf("des_kat.json has %d %q vectors, the tables %d", counts[test], test, n)
		}
	}
	if len(counts) != len(want) {
		t.Errorf("des_kat.json tests: %v, want %v", counts, want)
	}
}

// checkTDESAgainstStdlib compares NewTDES with crypto/des for the single,
// double- and triple-length keys made of k1, k2, k3 on one block, both
// ways, in place and not; and MAC algorithm 3 over two blocks with K1 || K2
// against the same steps on crypto/des.
func checkTDESAgainstStdlib(t *testing.T, k1, k2, k3, block []byte) {
	t.Helper()
	k12 := append(append([]byte(nil), k1...), k2...)
	k123 := append(append([]byte(nil), k12...), k3...)
	refSingle, _ := des.NewCipher(k1)
	refDouble, _ := des.NewTripleDESCipher(append(append([]byte(nil), k12...), k1...))
	refTriple, _ := des.NewTripleDESCipher(k123)
	for _, c := range []struct {
		key []byte
		ref cipher.Block
	}{{k1, refSingle}, {k12, refDouble}, {k123, refTriple}} {
		b, err := NewTDES(c.key)
		if err != nil {
			t.Fatal(err)
		}
		got, want := make([]byte, 8), make([]byte, 8)
		b.Encrypt(got, block)
		c.ref.Encrypt(want, block)
		if !bytes.Equal(got, want) {
			t.Fatalf("%d-byte key: Encrypt = %X, crypto/des %X", len(c.key), got, want)
		}
		b.Decrypt(got, block)
		c.ref.Decrypt(want, block)
		if !bytes.Equal(got, want) {
			t.Fatalf("%d-byte key: Decrypt = %X, crypto/des %X", len(c.key), got, want)
		}
		copy(got, block)
		b.Encrypt(got, got)
		b.Decrypt(got, got)
		if !bytes.Equal(got, block) {
			t.Fatalf("%d-byte key: in place, Decrypt(Encrypt(x)) = %X", len(c.key), got)
		}
	}
	data := append(append([]byte(nil), block...), k3...)
	k2c, _ := des.NewCipher(k2)
	want := make([]byte, 8)
	for i := 0; i < len(data); i += 8 {
		xorInto(want, want, data[i:i+8])
		refSingle.Encrypt(want, want)
	}
	k2c.Decrypt(want, want)
	refSingle.Encrypt(want, want)
	if got := retailMAC(k12, data); !bytes.Equal(got, want) {
		t.Fatalf("retailMAC = %X, crypto/des %X", got, want)
	}
}

// TestTDESAgainstCryptoDES is FuzzDES's check on random keys and blocks.
func TestTDESAgainstCryptoDES(t *testing.T) {
	rng := rand.New(rand.NewPCG(9797, 3))
	word := func() []byte {
		b := make([]byte, 8)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	for range 5000 {
		checkTDESAgainstStdlib(t, word(), word(), word(), word())
	}
}

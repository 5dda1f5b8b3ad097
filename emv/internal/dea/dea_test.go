package dea

import (
	"bytes"
	"crypto/cipher"
	"crypto/des"
	"errors"
	"math/bits"
	"math/rand/v2"
	"testing"
)

var _ cipher.Block = (*Cipher)(nil)

// bitOf is bit k (1-based, 1 the leftmost) of an n-bit value.
func bitOf(x uint64, n, k int) uint64 { return x >> (n - k) & 1 }

// permuteSlow applies a FIPS 46-3 table bit by bit: output bit k (of
// len(table)) is input bit table[k-1] of an n-bit input.
func permuteSlow(x uint64, n int, table []uint8) uint64 {
	var y uint64
	for _, in := range table {
		y = y<<1 | bitOf(x, n, int(in))
	}
	return y
}

func TestPermutationTables(t *testing.T) {
	// Each of IP, IP⁻¹, P is a permutation, PC-1 never selects a parity
	// bit, PC-2 never selects bits 9, 18, 22, 25, 35, 38, 43 or 54, every
	// S-box row is a permutation of 0-15, and IP⁻¹ undoes IP.
	for name, table := range map[string][]uint8{"IP": initialPermutation[:], "IP⁻¹": finalPermutation[:], "P": permutation[:]} {
		seen := map[uint8]bool{}
		for _, b := range table {
			if b < 1 || int(b) > len(table) || seen[b] {
				t.Errorf("%s is not a permutation of 1-%d (%d)", name, len(table), b)
			}
			seen[b] = true
		}
	}
	seen := map[uint8]bool{}
	for _, b := range permutedChoice1 {
		if b%8 == 0 || seen[b] {
			t.Errorf("PC-1 selects bit %d twice or a parity bit", b)
		}
		seen[b] = true
	}
	dropped := map[uint8]bool{9: true, 18: true, 22: true, 25: true, 35: true, 38: true, 43: true, 54: true}
	seen = map[uint8]bool{}
	for _, b := range permutedChoice2 {
		if dropped[b] || seen[b] || b < 1 || b > 56 {
			t.Errorf("PC-2 selects bit %d", b)
		}
		seen[b] = true
	}
	for i, box := range sBoxes {
		for r, row := range box {
			var set uint16
			for _, v := range row {
				set |= 1 << v
			}
			if set != 0xffff {
				t.Errorf("S%d row %d is not a permutation of 0-15", i+1, r)
			}
		}
	}
	for k := 1; k <= 64; k++ {
		x := uint64(1) << (64 - k)
		if got := permuteSlow(permuteSlow(x, 64, initialPermutation[:]), 64, finalPermutation[:]); got != x {
			t.Errorf("IP⁻¹(IP(bit %d)) = %016x", k, got)
		}
	}
	if n := shiftsTotal(); n != 28 {
		t.Errorf("the left shifts add up to %d, want 28 (C16 = C0)", n)
	}
}

func shiftsTotal() int {
	n := 0
	for _, s := range leftShifts {
		n += int(s)
	}
	return n
}

// TestLookupTables checks the tables init builds against the FIPS 46-3
// tables applied bit by bit, on every single bit and on random values.
func TestLookupTables(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	inputs := []uint64{0, ^uint64(0)}
	for k := 0; k < 64; k++ {
		inputs = append(inputs, 1<<k)
	}
	for range 1000 {
		inputs = append(inputs, rng.Uint64())
	}
	for _, x := range inputs {
		l, r := load(make([]byte, 8), be(x))
		l, r = bits.RotateLeft32(l, 1), bits.RotateLeft32(r, 1)
		if got, want := uint64(l)<<32|uint64(r), permuteSlow(x, 64, initialPermutation[:]); got != want {
			t.Fatalf("IP(%016x) = %016x, want %016x", x, got, want)
		}
		out := make([]byte, 8)
		store(out, bits.RotateLeft32(uint32(x>>32), -1), bits.RotateLeft32(uint32(x), -1))
		if got, want := un(out), permuteSlow(x, 64, finalPermutation[:]); got != want {
			t.Fatalf("IP⁻¹(%016x) = %016x, want %016x", x, got, want)
		}
		var c Cipher
		if err := c.SetKey(be(x)); err != nil {
			t.Fatal(err)
		}
		// The schedule, bit by bit: C and D from PC-1, rotated, PC-2.
		cd := permuteSlow(x, 64, permutedChoice1[:])
		hc, hd := cd>>28, cd&(1<<28-1)
		for i, s := range leftShifts {
			hc = (hc<<s | hc>>(28-s)) & (1<<28 - 1)
			hd = (hd<<s | hd>>(28-s)) & (1<<28 - 1)
			want := permuteSlow(hc<<28|hd, 56, permutedChoice2[:])
			if got := unpackSubkey(c.subkeys[i]); got != want {
				t.Fatalf("key %016x: K%d = %012x, want %012x", x, i+1, got, want)
			}
		}
		// The cipher function, bit by bit: E, xor K, S-boxes, P.
		rr, kk := uint32(x), rng.Uint64()&(1<<48-1)
		e := permuteSlow(uint64(rr), 32, expansion[:]) ^ kk
		var s uint64
		for box := 0; box < 8; box++ {
			g := e >> (42 - 6*box) & 0x3f
			s = s<<4 | uint64(sBoxes[box][g>>4&2|g&1][g>>1&0xf])
		}
		got := bits.RotateLeft32(feistel(bits.RotateLeft32(rr, -1), packSubkey(kk)), 1)
		if want := uint32(permuteSlow(s, 32, permutation[:])); got != want {
			t.Fatalf("f(%08x, %012x) = %08x, want %08x", rr, kk, got, want)
		}
	}
}

// TestExpansion checks that the two rotations feistel takes E's groups from
// are E: B1 B3 B5 B7 from R rotated right by 1 (the halves as the rounds
// keep them), B2 B4 B6 B8 from R rotated left by 3.
func TestExpansion(t *testing.T) {
	for k := 1; k <= 32; k++ {
		r := uint32(1) << (32 - k)
		e := permuteSlow(uint64(r), 32, expansion[:])
		var got uint64
		even, odd := bits.RotateLeft32(r, -1), bits.RotateLeft32(r, 3)
		for g := 0; g < 8; g++ {
			w := even
			if g%2 == 1 {
				w = odd
			}
			got = got<<6 | uint64(w>>(26-8*(g/2))&0x3f)
		}
		if got != e {
			t.Errorf("E(bit %d) = %012x, the rotations give %012x", k, e, got)
		}
	}
}

// packSubkey lays a 48-bit subkey out as SetKey does.
func packSubkey(k uint64) uint64 {
	var p uint64
	for b := 1; b <= 48; b++ {
		p |= bitOf(k, 48, b) << subkeyPosition(b)
	}
	return p
}

func unpackSubkey(p uint64) uint64 {
	var k uint64
	for b := 1; b <= 48; b++ {
		k = k<<1 | p>>subkeyPosition(b)&1
	}
	return k
}

func be(x uint64) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(x >> (56 - 8*i))
	}
	return b
}

func un(b []byte) uint64 {
	var x uint64
	for _, c := range b {
		x = x<<8 | uint64(c)
	}
	return x
}

// TestAgainstCryptoDES compares random keys and blocks with crypto/des:
// single DES both ways, in place and not, and EncryptEDE/DecryptEDE with
// three-key and two-key (k3 = k1) TDES.
func TestAgainstCryptoDES(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 8583))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for range n {
		key := be(rng.Uint64())
		src := be(rng.Uint64())
		c, err := New(key)
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := des.NewCipher(key)
		got, want := make([]byte, 8), make([]byte, 8)
		c.Encrypt(got, src)
		ref.Encrypt(want, src)
		if !bytes.Equal(got, want) {
			t.Fatalf("Encrypt(%x) under %x = %x, crypto/des %x", src, key, got, want)
		}
		c.Decrypt(got, src)
		ref.Decrypt(want, src)
		if !bytes.Equal(got, want) {
			t.Fatalf("Decrypt(%x) under %x = %x, crypto/des %x", src, key, got, want)
		}
		inPlace := append([]byte(nil), src...)
		c.Encrypt(inPlace, inPlace)
		c.Decrypt(inPlace, inPlace)
		if !bytes.Equal(inPlace, src) {
			t.Fatalf("in place: Decrypt(Encrypt(%x)) = %x", src, inPlace)
		}

		key3 := append(append(append([]byte(nil), key...), be(rng.Uint64())...), be(rng.Uint64())...)
		for _, k := range [][]byte{key3, append(append([]byte(nil), key3[:16]...), key3[:8]...)} {
			var k1, k2, k3 Cipher
			_ = k1.SetKey(k[:8])
			_ = k2.SetKey(k[8:16])
			_ = k3.SetKey(k[16:])
			ref3, _ := des.NewTripleDESCipher(k)
			EncryptEDE(&k1, &k2, &k3, got, src)
			ref3.Encrypt(want, src)
			if !bytes.Equal(got, want) {
				t.Fatalf("EncryptEDE(%x) = %x, crypto/des %x", src, got, want)
			}
			DecryptEDE(&k1, &k2, &k3, got, src)
			ref3.Decrypt(want, src)
			if !bytes.Equal(got, want) {
				t.Fatalf("DecryptEDE(%x) = %x, crypto/des %x", src, got, want)
			}
		}
	}
}

func TestParityIgnored(t *testing.T) {
	key := []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF}
	flipped := make([]byte, 8)
	for i, b := range key {
		flipped[i] = b ^ 1
	}
	a, _ := New(key)
	b, _ := New(flipped)
	if *a != *b {
		t.Fatal("keys that differ only in parity bits have different schedules")
	}
}

func TestKeySize(t *testing.T) {
	for _, n := range []int{0, 7, 9, 16, 24} {
		_, err := New(make([]byte, n))
		var ks KeySizeError
		if !errors.As(err, &ks) || int(ks) != n {
			t.Errorf("New(%d bytes): %v, want KeySizeError(%d)", n, err, n)
		}
	}
	var c Cipher
	_ = c.SetKey([]byte{1, 2, 3, 4, 5, 6, 7, 8})
	before := c
	if err := c.SetKey(make([]byte, 16)); err == nil || c != before {
		t.Error("SetKey of 16 bytes did not fail or changed the schedule")
	}
}

func TestShortBlockPanics(t *testing.T) {
	c, _ := New(make([]byte, 8))
	for name, f := range map[string]func(){
		"short src": func() { c.Encrypt(make([]byte, 8), make([]byte, 7)) },
		"short dst": func() { c.Decrypt(make([]byte, 7), make([]byte, 8)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestNoAllocations(t *testing.T) {
	key := []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF}
	var c Cipher
	block := make([]byte, 8)
	if n := testing.AllocsPerRun(100, func() {
		_ = c.SetKey(key)
		c.Encrypt(block, block)
		c.Decrypt(block, block)
		EncryptEDE(&c, &c, &c, block, block)
	}); n != 0 {
		t.Errorf("SetKey and block operations allocate %v times", n)
	}
}

var sink any

func BenchmarkNewCipher(b *testing.B) {
	key := []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF}
	b.Run("crypto-des", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, _ := des.NewCipher(key)
			sink = c
		}
	})
	b.Run("dea", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, _ := New(key)
			sink = c
		}
	})
	b.Run("dea-SetKey", func(b *testing.B) {
		b.ReportAllocs()
		var c Cipher
		for b.Loop() {
			_ = c.SetKey(key)
		}
		sink = c.subkeys[0]
	})
}

func BenchmarkEncrypt(b *testing.B) {
	key := []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF}
	block := make([]byte, 8)
	ref, _ := des.NewCipher(key)
	c, _ := New(key)
	ref3, _ := des.NewTripleDESCipher(append(append(append([]byte(nil), key...), key...), key...))
	for _, bc := range []struct {
		name string
		f    func()
	}{
		{"crypto-des", func() { ref.Encrypt(block, block) }},
		{"dea", func() { c.Encrypt(block, block) }},
		{"crypto-des-TDES", func() { ref3.Encrypt(block, block) }},
		{"dea-EncryptEDE", func() { EncryptEDE(c, c, c, block, block) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(BlockSize)
			b.ReportAllocs()
			for b.Loop() {
				bc.f()
			}
		})
	}
}

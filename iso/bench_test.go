package iso_test

import (
	"path/filepath"
	"testing"

	"github.com/cardhost/cardhost/iso"
)

func BenchmarkUnpack(b *testing.B) {
	msg := readGoldenHex(b, filepath.Join(goldenDir, "0100_chip.hex"))
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iso.Unpack(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPack(b *testing.B) {
	msg := readGoldenHex(b, filepath.Join(goldenDir, "0110_approval.hex"))
	m, err := iso.Unpack(msg)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iso.Pack(m); err != nil {
			b.Fatal(err)
		}
	}
}

package iso_test

import (
	"path/filepath"
	"testing"

	"github.com/cardhost/cardhost/iso"
)

// BenchmarkUnpack measures the moov path: the golden chip 0100 unpacked
// into an *iso8583.Message.
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

// BenchmarkPack measures the moov path: the golden 0110 answering the chip
// 0100 packed from an *iso8583.Message.
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

// BenchmarkUnpackFields is BenchmarkUnpack without moov's field machinery:
// the chip 0100 read into flat values.
func BenchmarkUnpackFields(b *testing.B) {
	msg := readGoldenHex(b, filepath.Join(goldenDir, "0100_chip.hex"))
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iso.UnpackFields(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPackFields is BenchmarkPack without moov's field machinery: the
// 0110 answering the chip 0100 packed from flat values.
func BenchmarkPackFields(b *testing.B) {
	msg := readGoldenHex(b, filepath.Join(goldenDir, "0110_approval.hex"))
	f, err := iso.UnpackFields(msg)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Pack(); err != nil {
			b.Fatal(err)
		}
	}
}

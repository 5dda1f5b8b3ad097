package pinblock_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/cardhost/cardhost/emv/pinblock"
)

type vectors struct {
	Clear []struct {
		Name, PIN, PAN, Block, Fill, Source string
		Format                              int
	} `json:"clear"`
	Enciphered []struct {
		Name, Key, PIN, PAN, Block, Fill, Source string
		Format                                   int
	} `json:"enciphered"`
	Errors []struct {
		Name, Key, PAN, Block, Error, Source string
		Format                               int
	} `json:"errors"`
}

func load(t *testing.T) vectors {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "vectors", "pinblock_iso9564.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Clear) == 0 || len(v.Enciphered) == 0 || len(v.Errors) == 0 {
		t.Fatal("vector file incomplete")
	}
	return v
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newCipher returns TDES (K1K2K1) for 16-byte keys used with formats 0-3
// and AES otherwise.
func newCipher(t *testing.T, format int, key []byte) cipher.Block {
	t.Helper()
	if format != 4 {
		k := append(append([]byte{}, key...), key[:8]...)
		c, err := des.NewTripleDESCipher(k)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var sentinels = map[string]error{
	"ErrBlockSize":    pinblock.ErrBlockSize,
	"ErrControlField": pinblock.ErrControlField,
	"ErrPINLength":    pinblock.ErrPINLength,
	"ErrPINDigit":     pinblock.ErrPINDigit,
	"ErrFill":         pinblock.ErrFill,
	"ErrPAN":          pinblock.ErrPAN,
}

func TestClearVectors(t *testing.T) {
	for _, v := range load(t).Clear {
		t.Run(v.Name, func(t *testing.T) {
			f := pinblock.Format(v.Format)
			roundTrip(t, v.Block, v.PIN, v.Fill, f != pinblock.Format0,
				func(block []byte) ([]byte, error) { return pinblock.DecodeClear(f, block, v.PAN) },
				func(fill io.Reader) ([]byte, error) { return pinblock.EncodeClear(f, []byte(v.PIN), v.PAN, fill) })
		})
	}
}

func TestEncipheredVectors(t *testing.T) {
	for _, v := range load(t).Enciphered {
		t.Run(v.Name, func(t *testing.T) {
			f := pinblock.Format(v.Format)
			c := newCipher(t, v.Format, unhex(t, v.Key))
			roundTrip(t, v.Block, v.PIN, v.Fill, f == pinblock.Format4,
				func(block []byte) ([]byte, error) { return pinblock.Decipher(f, c, block, v.PAN) },
				func(fill io.Reader) ([]byte, error) { return pinblock.Encipher(f, c, []byte(v.PIN), v.PAN, fill) })
		})
	}
}

// roundTrip checks that decode turns the vector's block (hex) into its
// PIN and, unless the format's fill is random and the vector does not
// publish it (randomFill), that encode with that fill gives the block back.
func roundTrip(t *testing.T, blockHex, pin, fill string, randomFill bool, decode func([]byte) ([]byte, error), encode func(io.Reader) ([]byte, error)) {
	t.Helper()
	block := unhex(t, blockHex)
	got, err := decode(block)
	if err != nil {
		t.Fatalf("decoding: %v", err)
	}
	if string(got) != pin {
		t.Fatalf("decoded %s, want %s", got, pin)
	}
	if randomFill && fill == "" {
		return // random fill not published: decode-only vector
	}
	if got, err = encode(bytes.NewReader(unhex(t, fill))); err != nil {
		t.Fatalf("encoding: %v", err)
	}
	if !bytes.Equal(got, block) {
		t.Fatalf("encoded %X, want %s", got, blockHex)
	}
}

func TestErrorVectors(t *testing.T) {
	for _, v := range load(t).Errors {
		t.Run(v.Name, func(t *testing.T) {
			want, ok := sentinels[v.Error]
			if !ok {
				t.Fatalf("unknown sentinel %s", v.Error)
			}
			f := pinblock.Format(v.Format)
			var err error
			if v.Key != "" {
				_, err = pinblock.Decipher(f, newCipher(t, v.Format, unhex(t, v.Key)), unhex(t, v.Block), v.PAN)
			} else {
				_, err = pinblock.DecodeClear(f, unhex(t, v.Block), v.PAN)
			}
			if !errors.Is(err, want) {
				t.Fatalf("error = %v, want %v", err, want)
			}
			if want != pinblock.ErrPAN && !errors.Is(err, pinblock.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
		})
	}
}

func TestEncodeRejectsInput(t *testing.T) {
	tdes := newCipher(t, 0, unhex(t, "0123456789ABCDEFFEDCBA9876543210"))
	aesc := newCipher(t, 4, unhex(t, "00112233445566778899AABBCCDDEEFF"))
	tests := []struct {
		name   string
		format pinblock.Format
		c      cipher.Block
		pin    string
		pan    string
		want   error
	}{
		{"pin too short", pinblock.Format0, tdes, "123", "5555555551234567", pinblock.ErrPIN},
		{"pin too long", pinblock.Format0, tdes, "1234567890123", "5555555551234567", pinblock.ErrPIN},
		{"pin not numeric", pinblock.Format3, tdes, "12A4", "5555555551234567", pinblock.ErrPIN},
		{"format 4 pin too short", pinblock.Format4, aesc, "123", "5555555551234567", pinblock.ErrPIN},
		{"pan too short", pinblock.Format0, tdes, "1234", "555555555555", pinblock.ErrPAN},
		{"pan too long", pinblock.Format0, tdes, "1234", "55555555512345678901", pinblock.ErrPAN},
		{"format 4 empty pan", pinblock.Format4, aesc, "1234", "", pinblock.ErrPAN},
		{"format 2", pinblock.Format(2), tdes, "1234", "5555555551234567", pinblock.ErrFormat},
		{"aes for format 0", pinblock.Format0, aesc, "1234", "5555555551234567", pinblock.ErrCipher},
		{"tdes for format 4", pinblock.Format4, tdes, "1234", "5555555551234567", pinblock.ErrCipher},
		{"nil cipher", pinblock.Format1, nil, "1234", "", pinblock.ErrCipher},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pinblock.Encipher(tc.format, tc.c, []byte(tc.pin), tc.pan, nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
			if errors.Is(err, pinblock.ErrMalformed) {
				t.Fatalf("input error %v must not wrap ErrMalformed", err)
			}
			if strings.Contains(err.Error(), tc.pin) || (tc.pan != "" && strings.Contains(err.Error(), tc.pan)) {
				t.Fatalf("error leaks input: %v", err)
			}
		})
	}
}

func TestRandomFill(t *testing.T) {
	pan := "5555555551234567"
	t.Run("format 3 fill is A-F and varies", func(t *testing.T) {
		seen := map[string]bool{}
		for i := 0; i < 20; i++ {
			b, err := pinblock.EncodeClear(pinblock.Format3, []byte("1234"), pan, nil)
			if err != nil {
				t.Fatal(err)
			}
			pin, err := pinblock.DecodeClear(pinblock.Format3, b, pan)
			if err != nil || string(pin) != "1234" {
				t.Fatalf("round trip: %s, %v", pin, err)
			}
			seen[hex.EncodeToString(b)] = true
		}
		if len(seen) < 2 {
			t.Fatal("format 3 fill is not random")
		}
	})
	t.Run("format 3 with every byte value", func(t *testing.T) {
		all := make([]byte, 256)
		for i := range all {
			all[i] = byte(i)
		}
		r := bytes.NewReader(all)
		for r.Len() >= 10 {
			b, err := pinblock.EncodeClear(pinblock.Format3, []byte("1234"), pan, r)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pinblock.DecodeClear(pinblock.Format3, b, pan); err != nil {
				t.Fatalf("fill outside A-F: %X: %v", b, err)
			}
		}
	})
	t.Run("format 4 differs per call", func(t *testing.T) {
		c := newCipher(t, 4, unhex(t, "00112233445566778899AABBCCDDEEFF"))
		a, _ := pinblock.Encipher(pinblock.Format4, c, []byte("1234"), pan, nil)
		b, _ := pinblock.Encipher(pinblock.Format4, c, []byte("1234"), pan, nil)
		if bytes.Equal(a, b) {
			t.Fatal("two format 4 blocks for the same PIN are equal")
		}
	})
	t.Run("failing random source", func(t *testing.T) {
		c := newCipher(t, 4, unhex(t, "00112233445566778899AABBCCDDEEFF"))
		_, err := pinblock.Encipher(pinblock.Format4, c, []byte("1234"), pan, iotest.ErrReader(errors.New("boom")))
		if !errors.Is(err, pinblock.ErrRandom) {
			t.Fatalf("error = %v, want ErrRandom", err)
		}
		_, err = pinblock.EncodeClear(pinblock.Format1, []byte("1234"), "", iotest.ErrReader(errors.New("boom")))
		if !errors.Is(err, pinblock.ErrRandom) {
			t.Fatalf("error = %v, want ErrRandom", err)
		}
	})
}

func TestPANMismatch(t *testing.T) {
	tdes := newCipher(t, 0, unhex(t, "0123456789ABCDEFFEDCBA9876543210"))
	aesc := newCipher(t, 4, unhex(t, "C1D0F8FB4958670DBA40AB1F3752EF0D"))
	tests := []struct {
		name     string
		format   pinblock.Format
		c        cipher.Block
		pan, bad string
	}{
		// The PANs differ in digits that overlap the fill.
		{"format 0", pinblock.Format0, tdes, "4761739001010010", "4761739001019990"},
		{"format 3", pinblock.Format3, tdes, "4761739001010010", "4761739001019990"},
		// Published ep2 block under another PAN.
		{"format 4", pinblock.Format4, aesc, "432198765432109870", "432198765432109871"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			block, err := pinblock.Encipher(tc.format, tc.c, []byte("1234"), tc.pan, bytes.NewReader(bytes.Repeat([]byte{0xFF}, 16)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pinblock.Decipher(tc.format, tc.c, block, tc.bad); !errors.Is(err, pinblock.ErrMalformed) {
				t.Fatalf("Decipher with another PAN: error = %v, want ErrMalformed", err)
			}
			pin, err := pinblock.Decipher(tc.format, tc.c, block, tc.pan)
			if err != nil || string(pin) != "1234" {
				t.Fatalf("Decipher with the right PAN = %s, %v", pin, err)
			}
		})
	}
}

func TestTranslate(t *testing.T) {
	zpkA := newCipher(t, 0, unhex(t, "0123456789ABCDEFFEDCBA9876543210"))
	zpkB := newCipher(t, 0, unhex(t, "E8DD93B8AF13999C7644C0FE11F5D2A7"))
	aesK := newCipher(t, 4, unhex(t, "C1D0F8FB4958670DBA40AB1F3752EF0D"))
	pan := "432198765432109870"
	ep2 := unhex(t, "CC17F65586BFD0953010226C4FC5B3CA") // PIN 1234 under aesK

	steps := []struct {
		name     string
		src      cipher.Block
		from     pinblock.Format
		dst      cipher.Block
		to       pinblock.Format
		wantSize int
	}{
		{"4 to 0", aesK, pinblock.Format4, zpkA, pinblock.Format0, 8},
		{"0 to 3 new key", zpkA, pinblock.Format0, zpkB, pinblock.Format3, 8},
		{"3 to 1", zpkB, pinblock.Format3, zpkA, pinblock.Format1, 8},
		{"1 to 4", zpkA, pinblock.Format1, aesK, pinblock.Format4, 16},
	}
	block := ep2
	for _, s := range steps {
		out, err := pinblock.Translate(s.src, s.from, block, pan, s.dst, s.to, nil)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if len(out) != s.wantSize {
			t.Fatalf("%s: size %d", s.name, len(out))
		}
		pin, err := pinblock.Decipher(s.to, s.dst, out, pan)
		if err != nil || string(pin) != "1234" {
			t.Fatalf("%s: result deciphers to %q, %v", s.name, pin, err)
		}
		block = out
	}
	// Format 0 under zpkA of the published PIN matches an independent encode.
	want, _ := pinblock.Encipher(pinblock.Format0, zpkA, []byte("1234"), pan, nil)
	got, _ := pinblock.Translate(aesK, pinblock.Format4, ep2, pan, zpkA, pinblock.Format0, nil)
	if !bytes.Equal(got, want) {
		t.Fatalf("Translate 4->0 = %X, want %X", got, want)
	}
	if _, err := pinblock.Translate(zpkB, pinblock.Format0, want, pan, zpkA, pinblock.Format0, nil); !errors.Is(err, pinblock.ErrMalformed) {
		t.Fatalf("Translate under the wrong source key: %v, want ErrMalformed", err)
	}
}

func TestMoovStyleAPI(t *testing.T) {
	// Same calls as moov-io/pinblock formats.NewISO0().Encode(pin, account).
	b, err := pinblock.NewISO0().Encode("1234", "43219876543210987")
	if err != nil || b != "0412AC89ABCDEF67" {
		t.Fatalf("ISO0.Encode = %s, %v", b, err)
	}
	pin, err := pinblock.NewISO0().Decode("0412ac89abcdef67", "43219876543210987")
	if err != nil || pin != "1234" {
		t.Fatalf("ISO0.Decode = %s, %v", pin, err)
	}
	iso1 := pinblock.ISO1{Rand: bytes.NewReader(unhex(t, "060A0B0C0F0D0E01"))}
	if b, err := iso1.Encode("123456"); err != nil || b != "161234566ABCFDE1" {
		t.Fatalf("ISO1.Encode = %s, %v", b, err)
	}
	if pin, err := pinblock.NewISO1().Decode("161234566ABCFDE1"); err != nil || pin != "123456" {
		t.Fatalf("ISO1.Decode = %s, %v", pin, err)
	}
	iso3 := pinblock.NewISO3()
	b3, err := iso3.Encode("9876", "5555555551234567")
	if err != nil {
		t.Fatal(err)
	}
	if pin, err := iso3.Decode(b3, "5555555551234567"); err != nil || pin != "9876" || b3[0] != '3' {
		t.Fatalf("ISO3 round trip = %s %s, %v", b3, pin, err)
	}
	iso4 := pinblock.NewISO4(newCipher(t, 4, unhex(t, "C1D0F8FB4958670DBA40AB1F3752EF0D")))
	if pin, err := iso4.Decode("CC17F65586BFD0953010226C4FC5B3CA", "432198765432109870"); err != nil || pin != "1234" {
		t.Fatalf("ISO4.Decode = %s, %v", pin, err)
	}
	b4, err := iso4.Encode("12344", "432198765432109870")
	if err != nil || len(b4) != 32 {
		t.Fatalf("ISO4.Encode = %s, %v", b4, err)
	}
	if pin, err := iso4.Decode(b4, "432198765432109870"); err != nil || pin != "12344" {
		t.Fatalf("ISO4 round trip = %s, %v", pin, err)
	}
	if _, err := iso4.Decode("zz", "432198765432109870"); !errors.Is(err, pinblock.ErrBlockSize) {
		t.Fatalf("ISO4.Decode of bad hex: %v", err)
	}
}

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
		err  bool
	}{{0, "ISO-0", false}, {1, "ISO-1", false}, {2, "", true}, {3, "ISO-3", false}, {4, "ISO-4", false}, {-1, "", true}} {
		f, err := pinblock.ParseFormat(tc.n)
		if (err != nil) != tc.err {
			t.Fatalf("ParseFormat(%d) error = %v", tc.n, err)
		}
		if err == nil && f.String() != tc.want {
			t.Fatalf("ParseFormat(%d) = %s", tc.n, f)
		}
	}
}

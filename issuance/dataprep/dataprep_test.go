package dataprep

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/emv"
)

// TestLuhn checks the wrappers over iso/digit (whose test has the Luhn
// cases): LuhnValid, and LuhnDigit's ErrPAN.
func TestLuhn(t *testing.T) {
	if !LuhnValid("79927398713") || LuhnValid("79927398710") {
		t.Fatal("LuhnValid disagrees with ISO/IEC 7812-1")
	}
	d, err := LuhnDigit("7992739871")
	if err != nil || d != '3' {
		t.Fatalf("LuhnDigit = %c, %v; want 3", d, err)
	}
	if _, err := LuhnDigit("12a"); !errors.Is(err, ErrPAN) {
		t.Fatalf("LuhnDigit(non-digits) err = %v", err)
	}
}

func TestGeneratePAN(t *testing.T) {
	for _, tc := range []struct {
		name   string
		iin    string
		length int
	}{
		{"visa 8-digit IIN, 16", "40000012", 16},
		{"mastercard 6-digit IIN, 16", "520000", 16},
		{"19 digits", "62270000", 19},
		{"13 digits", "400000", 13},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[string]bool{}
			for range 50 {
				pan, err := GeneratePAN(tc.iin, tc.length, nil)
				if err != nil {
					t.Fatal(err)
				}
				p := pan.Reveal()
				if len(p) != tc.length || !strings.HasPrefix(p, tc.iin) || !ValidPAN(p) {
					t.Fatalf("PAN %s: length %d, prefix or Luhn wrong", pan, len(p))
				}
				seen[p] = true
			}
			if len(seen) < 45 {
				t.Fatalf("only %d distinct PANs out of 50: account digits are not random", len(seen))
			}
		})
	}
	// Deterministic with a fixed reader; bytes >= 250 are skipped.
	rnd := bytes.NewReader(append([]byte{250, 255, 1, 2, 3, 4, 5, 6, 7}, make([]byte, 64)...))
	pan, err := GeneratePAN("400000", 16, rnd)
	if err != nil {
		t.Fatal(err)
	}
	if got := pan.Reveal(); got[:15] != "400000123456700" || !LuhnValid(got) {
		t.Fatalf("deterministic PAN = %s", got)
	}
	for _, tc := range []struct {
		name   string
		iin    string
		length int
	}{
		{"short IIN", "4000", 16},
		{"IIN with letters", "40000A", 16},
		{"too long", "400000", 20},
		{"no room for account digits", "40000012345", 12},
	} {
		t.Run("reject "+tc.name, func(t *testing.T) {
			if _, err := GeneratePAN(tc.iin, tc.length, nil); !errors.Is(err, ErrIIN) {
				t.Fatalf("err = %v, want ErrIIN", err)
			}
		})
	}
}

func TestExpiry(t *testing.T) {
	for _, tc := range []struct {
		name   string
		issued time.Time
		months int
		want   string
		end    time.Time
	}{
		{"36 months from mid-June", time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC), 36, "2906", time.Date(2029, 7, 1, 0, 0, 0, 0, time.UTC)},
		{"1 month from December rolls the year", time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC), 1, "2701", time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)},
		{"from 31 January, day does not overflow", time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC), 1, "2702", time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)},
		{"issue time in another zone is read in UTC", time.Date(2026, 7, 1, 1, 0, 0, 0, time.FixedZone("CEST", 2*3600)), 12, "2706", time.Date(2027, 7, 1, 0, 0, 0, 0, time.UTC)},
		{"December expiry ends in January", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), 24, "2812", time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Expiry(tc.issued, tc.months)
			if err != nil || got != tc.want {
				t.Fatalf("Expiry = %q, %v; want %q", got, err, tc.want)
			}
			end, err := ExpiryEnd(got)
			if err != nil || !end.Equal(tc.end) {
				t.Fatalf("ExpiryEnd = %v, %v; want %v", end, err, tc.end)
			}
		})
	}
	if got := ExpiryDisplay("2906"); got != "06/29" {
		t.Fatalf("ExpiryDisplay = %q", got)
	}
	for _, bad := range []string{"2913", "2900", "29-6", "290", ""} {
		if ValidExpiry(bad) || ExpiryDisplay(bad) != "" {
			t.Errorf("expiry %q accepted", bad)
		}
	}
	for _, m := range []int{0, 121, -1} {
		if _, err := Expiry(time.Now(), m); !errors.Is(err, ErrExpiry) {
			t.Errorf("validity %d: err = %v", m, err)
		}
	}
}

func TestNormalizePrintedName(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		ok             bool
	}{
		{"upper-cased and spaces collapsed", "  joao  da silva ", "JOAO DA SILVA", true},
		{"already fine", "CHESTER FIELDS", "CHESTER FIELDS", true},
		{"exactly 26", strings.Repeat("A", 26), strings.Repeat("A", 26), true},
		{"two letters", "AB", "AB", true},
		{"27 characters", strings.Repeat("A", 27), "", false},
		{"one letter", "a", "", false},
		{"accent refused", "JOÃO SILVA", "", false},
		{"digit refused", "AGENT 007", "", false},
		{"punctuation refused", "O'NEIL", "", false},
		{"empty", "   ", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizePrintedName(tc.in)
			if tc.ok != (err == nil) || got != tc.want {
				t.Fatalf("NormalizePrintedName(%q) = %q, %v", tc.in, got, err)
			}
			if err != nil && !errors.Is(err, ErrPrintedName) {
				t.Fatalf("err = %v, want ErrPrintedName", err)
			}
		})
	}
}

func TestPrintedNameFrom(t *testing.T) {
	for _, tc := range []struct {
		name, first, last, want string
		ok                      bool
	}{
		{"plain", "Joao", "da Silva", "JOAO DA SILVA", true},
		{"diacritics transliterated", "João", "Müller-Łukasz", "JOAO MULLER LUKASZ", true},
		{"ligatures and sharp s", "Ægir", "Straße", "AEGIR STRASSE", true},
		{"apostrophe dropped", "Mary", "O'Neil", "MARY ONEIL", true},
		{"too long: first initial", "Maximiliano Alejandro", "Fernandez Gutierrez", "M FERNANDEZ GUTIERREZ", true},
		{"still too long: cut to 26", "Wolfeschlegelsteinhausen", "Bergerdorffvoralternwarengewissenhaft", "W BERGERDORFFVORALTERNWARE", true},
		{"last name only", "", "Smith", "SMITH", true},
		{"nothing embossable", "李", "王", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PrintedNameFrom(tc.first, tc.last)
			if tc.ok != (err == nil) || got != tc.want {
				t.Fatalf("PrintedNameFrom = %q, %v; want %q", got, err, tc.want)
			}
			if tc.ok {
				if _, err := NormalizePrintedName(got); err != nil {
					t.Fatalf("derived name %q breaks the printed name rules", got)
				}
			}
		})
	}
}

func TestTrack2(t *testing.T) {
	pan := emv.PAN("4000001234567899")
	for _, tc := range []struct {
		name      string
		pan       emv.PAN
		exp, sc   string
		pvki, pvv string
		cvv       emv.CVV
		want      string
	}{
		{"with PVV", pan, "2906", "201", "1", "4321", "123", "4000001234567899=29062011432112300000"},
		{"no PIN: zeros", pan, "2906", "201", "", "", "987", "4000001234567899=29062010000098700000"},
		{"19-digit PAN", "6227000012345678903", "3012", "101", "2", "0000", "555", "6227000012345678903=30121012000055500"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Track2(tc.pan, tc.exp, tc.sc, tc.pvki, tc.pvv, tc.cvv)
			if err != nil {
				t.Fatal(err)
			}
			if got.Reveal() != tc.want || len(got.Reveal()) != Track2Length {
				t.Fatalf("track 2 = %s (%d), want %s", got.Reveal(), len(got.Reveal()), tc.want)
			}
			// The host's layout: PAN = YYMM SSS PVKI PVV CVV.
			rest := got.Reveal()[len(tc.pan.Reveal())+1:]
			if rest[:4] != tc.exp || rest[4:7] != tc.sc || rest[12:15] != tc.cvv.Reveal() {
				t.Fatalf("fields misplaced in %s", rest)
			}
		})
	}
	for _, tc := range []struct {
		name    string
		pan     emv.PAN
		exp, sc string
		cvv     emv.CVV
	}{
		{"short PAN", "40000012345", "2906", "201", "123"},
		{"bad expiry", pan, "2913", "201", "123"},
		{"bad service code", pan, "2906", "21", "123"},
		{"bad CVV", pan, "2906", "201", "12"},
	} {
		t.Run("reject "+tc.name, func(t *testing.T) {
			_, err := Track2(tc.pan, tc.exp, tc.sc, "", "", tc.cvv)
			if !errors.Is(err, ErrTrack2) {
				t.Fatalf("err = %v, want ErrTrack2", err)
			}
			if err != nil && strings.Contains(err.Error(), pan.Reveal()) {
				t.Fatal("error quotes the PAN")
			}
		})
	}
}

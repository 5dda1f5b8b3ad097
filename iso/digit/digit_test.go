package digit_test

import (
	"testing"

	"github.com/cardhost/cardhost/iso/digit"
)

func TestAll(t *testing.T) {
	for s, want := range map[string]bool{"": true, "0123456789": true, "12a": false, " 1": false, "١": false, "-1": false} {
		if got := digit.All(s); got != want {
			t.Errorf("All(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestLuhn(t *testing.T) {
	for _, tc := range []struct {
		name  string
		s     string
		valid bool
	}{
		// ISO/IEC 7812-1 annex B's method; the classic worked example and
		// scheme test numbers.
		{"wikipedia example 79927398713", "79927398713", true},
		{"wikipedia example, last digit changed", "79927398710", false},
		{"visa test card", "4111111111111111", true},
		{"mastercard test card", "5555555555554444", true},
		{"mastercard test PAN", "5413330089020011", true},
		{"amex test card (15)", "378282246310005", true},
		{"visa test card, transposed digits", "4111111111111121", false},
		{"zeros", "00", true},
		{"single digit", "0", false},
		{"empty", "", false},
		{"letters", "41111111111111a1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := digit.LuhnValid(tc.s); got != tc.valid {
				t.Fatalf("LuhnValid(%q) = %v, want %v", tc.s, got, tc.valid)
			}
		})
	}
	if d, ok := digit.LuhnDigit("7992739871"); !ok || d != '3' {
		t.Fatalf("LuhnDigit = %c, %v; want 3", d, ok)
	}
	for _, s := range []string{"", "12a"} {
		if _, ok := digit.LuhnDigit(s); ok {
			t.Fatalf("LuhnDigit(%q) accepted", s)
		}
	}
}

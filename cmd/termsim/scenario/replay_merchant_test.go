package scenario

import (
	"regexp"
	"testing"
)

// TestRunnerMerchant: each # of a merchant becomes a digit chosen once per
// Runner, so two merchants of one replay share the digits and two
// replays (Runners) get other merchants; a merchant without # is kept.
func TestRunnerMerchant(t *testing.T) {
	var r1, r2 Runner
	a, b := r1.Merchant("BINATTACK######"), r1.Merchant("NOTFOUND14#####")
	if !regexp.MustCompile(`^BINATTACK[0-9]{6}$`).MatchString(a) || !regexp.MustCompile(`^NOTFOUND14[0-9]{5}$`).MatchString(b) || a[9:14] != b[10:] {
		t.Fatalf("merchants %q %q", a, b)
	}
	if r1.Merchant("BINATTACK######") != a {
		t.Fatalf("a Runner changed its digits")
	}
	if r2.Merchant("BINATTACK######") == a && r2.Merchant("CVV2TRIES82####") == r1.Merchant("CVV2TRIES82####") {
		t.Fatalf("two Runners chose the same digits %q", a)
	}
	if got := r1.Merchant("MERCHANT0000001"); got != "MERCHANT0000001" {
		t.Fatalf("a merchant without # became %q", got)
	}
	if !validMerchant("BINATTACK######") || validMerchant("BINATTACK#####-") {
		t.Fatalf("validMerchant and #")
	}
}

package bins

import "testing"

func TestValidPrefix(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    string
		want bool
	}{
		{"6 digits", "400000", true},
		{"7 digits", "4000001", true},
		{"8 digits", "40000018", true},
		{"5 digits", "40000", false},
		{"9 digits", "400000189", false},
		{"letters", "40000A", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidPrefix(tc.p); got != tc.want {
				t.Fatalf("ValidPrefix(%q) = %v", tc.p, got)
			}
		})
	}
}

func TestOverlap(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b string
		want bool
	}{
		{"same", "400000", "400000", true},
		{"inside", "400000", "40000018", true},
		{"around", "40000018", "400000", true},
		{"neighbours", "400000", "400001", false},
		{"same BIN, other 8-digit IINs", "40000018", "40000022", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Overlap(tc.a, tc.b); got != tc.want {
				t.Fatalf("Overlap(%q, %q) = %v", tc.a, tc.b, got)
			}
		})
	}
}

func TestCovers(t *testing.T) {
	rs := []Range{{Prefix: "400000"}, {Prefix: "51000016"}}
	for _, tc := range []struct {
		name   string
		digits string
		want   bool
	}{
		{"PAN in a 6-digit range", "4000001234567899", true},
		{"IIN in a 6-digit range", "40000018", true},
		{"the range itself as an IIN", "400000", true},
		{"PAN in an 8-digit range", "5100001612345678", true},
		{"IIN shorter than the range", "510000", false},
		{"PAN beside the range", "5100001712345678", false},
		{"PAN of no range", "4111111111111111", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Covers(rs, tc.digits); got != tc.want {
				t.Fatalf("Covers(%q) = %v", tc.digits, got)
			}
		})
	}
	if Covers(nil, "4000001234567899") || Covers([]Range{{}}, "4000001234567899") {
		t.Fatal("no ranges (or an empty prefix) cover a PAN")
	}
}

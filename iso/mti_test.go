package iso_test

import (
	"testing"

	"github.com/cardhost/cardhost/iso"
)

func TestMTI(t *testing.T) {
	tests := []struct {
		mti      string
		valid    bool
		repeat   bool
		base     string
		response string // "" when nothing answers it
	}{
		{"0100", true, false, "0100", "0110"},
		{"0101", true, true, "0100", "0110"},
		{"0120", true, false, "0120", "0130"},
		{"0121", true, true, "0120", "0130"},
		{"0200", true, false, "0200", "0210"},
		{"0220", true, false, "0220", "0230"},
		{"0221", true, true, "0220", "0230"},
		{"0400", true, false, "0400", "0410"},
		{"0401", true, true, "0400", "0410"},
		{"0420", true, false, "0420", "0430"},
		{"0421", true, true, "0420", "0430"},
		{"0800", true, false, "0800", "0810"},
		{"0801", true, true, "0800", "0810"},
		{"0300", true, false, "0300", "0310"}, // readable, not handled: the engine answers 12
		{"0110", true, false, "0110", ""},     // a response: nothing answers it
		{"0430", true, false, "0430", ""},
		{"0111", true, true, "0110", ""},
		{"010", false, false, "010", ""},
		{"01A0", false, false, "01A0", ""},
		{"", false, false, "", ""},
	}
	for _, tc := range tests {
		t.Run("mti "+tc.mti, func(t *testing.T) {
			if got := iso.ValidMTI(tc.mti); got != tc.valid {
				t.Errorf("ValidMTI = %v", got)
			}
			if got := iso.IsRepeat(tc.mti); got != tc.repeat {
				t.Errorf("IsRepeat = %v", got)
			}
			if got := iso.BaseMTI(tc.mti); got != tc.base {
				t.Errorf("BaseMTI = %q, want %q", got, tc.base)
			}
			got, ok := iso.ResponseMTI(tc.mti)
			if got != tc.response || ok != (tc.response != "") {
				t.Errorf("ResponseMTI = %q, %v; want %q", got, ok, tc.response)
			}
			if tc.response != "" && !iso.IsResponse(got) {
				t.Errorf("IsResponse(%q) = false", got)
			}
		})
	}
}

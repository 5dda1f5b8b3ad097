package scenario

import (
	"testing"

	"github.com/cardhost/cardhost/host"
)

// TestReasonsAreTheHosts keeps Reasons, termsim's copy of the host's
// reason table, equal to it: the same slugs, and the same codes except
// where a scenario accepts any code ("", stand-in advices).
func TestReasonsAreTheHosts(t *testing.T) {
	hostReasons := host.Reasons()
	for _, r := range hostReasons {
		code, ok := Reasons[string(r)]
		switch {
		case !ok:
			t.Errorf("host reason %s is not in termsim's Reasons", r)
		case code != "" && code != r.Code():
			t.Errorf("reason %s: termsim says %s, the host %s", r, code, r.Code())
		}
	}
	if len(Reasons) != len(hostReasons) {
		t.Errorf("termsim has %d reasons, the host %d", len(Reasons), len(hostReasons))
	}
}

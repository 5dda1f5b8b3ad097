package admin

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestParseRetireAfter(t *testing.T) {
	for in, want := range map[string]time.Duration{"720h": 720 * time.Hour, "90d": 90 * 24 * time.Hour, "0d": 0} {
		if got, err := parseRetireAfter(in); err != nil || got != want {
			t.Errorf("%s: %v %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"-1d", "xd", "-5h", "soon"} {
		if _, err := parseRetireAfter(in); err == nil {
			t.Errorf("%s: accepted", in)
		}
	}
}

func TestValidAcquirerID(t *testing.T) {
	for id, want := range map[string]bool{"1": true, "00000000001": true, "": false, "123456789012": false, "12a": false} {
		if validAcquirerID(id) != want {
			t.Errorf("%q: %v, want %v", id, !want, want)
		}
	}
}

// TestSubcommand: usage without arguments is bad input (2), after -h it is
// help (0), and an unknown subcommand is refused before any flag is read.
func TestSubcommand(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no arguments", nil, 2, "usage"},
		{"help", []string{"-h"}, 0, "usage"},
		{"unknown", []string{"frob", "--x"}, 2, `cardhost things: unknown subcommand "frob"`},
		{"known", []string{"list", "--x"}, -1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			sub, rest, fs, code := subcommand("things", "usage\n", tc.args, &stderr, "list")
			if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("code %d, stderr %q; want %d and %q", code, stderr.String(), tc.code, tc.want)
			}
			if code < 0 && (sub != "list" || len(rest) != 1 || fs.Name() != "cardhost things list") {
				t.Fatalf("sub %q rest %v flag set %q", sub, rest, fs.Name())
			}
		})
	}
}
